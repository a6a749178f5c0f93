// Settings (your Outlook connection) and Admin (the organisation's switches and consent).

import { api, problemText } from "./api.js";
import { add, h, main, notice, put, showError } from "./dom.js";
import { connect, loadStatus, renderBanners } from "./session.js";
import { state } from "./state.js";
import { longDate } from "./time.js";

export async function settingsView() {
  const root = main();
  const status = state.status || {};
  const facts = [];
  if (status.account) {
    facts.push(h("dt", {}, "Microsoft account"), h("dd", {}, `${status.account.displayName} (${status.account.userPrincipalName})`));
    facts.push(h("dt", {}, "Connected on"), h("dd", {}, longDate(status.connectedAt)));
    facts.push(h("dt", {}, "Renew by"), h("dd", {}, longDate(status.reconnectBy)));
  }
  const lines = {
    not_connected: "Your Outlook calendar is not connected.",
    connected: status.expiringSoon
      ? "Connected. The connection must be renewed soon."
      : "Connected. Conversations you organise go to your Outlook calendar.",
    reconnect_required: `Reconnect required: ${status.message || ""}`,
    disabled: status.message || "Your organisation has not enabled Outlook calendar sync.",
  };
  const buttons = [];
  if (status.status === "not_connected") buttons.push(h("button", { type: "button", onclick: connect }, "Connect Outlook"));
  if (status.status === "reconnect_required" || (status.status === "connected" && status.expiringSoon)) {
    buttons.push(h("button", { type: "button", onclick: connect }, "Reconnect Outlook"));
  }
  if (status.status === "connected") buttons.push(h("button", { type: "button", class: "secondary", onclick: checkConnection }, "Check connection"));
  if (status.account) buttons.push(h("button", { type: "button", class: "secondary", onclick: disconnect }, "Disconnect Outlook"));
  put(root,
    h("h1", { tabindex: "-1" }, "Settings"),
    h("section", { "aria-labelledby": "calendar-title" },
      h("h2", { id: "calendar-title" }, "Outlook calendar"),
      h("p", { id: "calendar-status", "data-status": status.status || "unknown" }, lines[status.status] || "Status unknown."),
      facts.length ? h("dl", { class: "facts" }, facts) : null,
      h("div", { class: "actions" }, buttons)),
    h("p", { class: "hint" }, "Connecting sends you to Microsoft to sign in (the local emulator: your browser may warn about its certificate the first time)."),
  );
}

export async function checkConnection() {
  try {
    state.status = (await api("POST", "/me/calendar/check")).data;
    renderBanners();
    await settingsView();
    main().querySelector("h1").after(notice("good", "Outlook answered: the connection works."));
  } catch (error) {
    await loadStatus();
    await settingsView();
    showError(main(), error);
  }
}

export async function disconnect() {
  try {
    await api("DELETE", "/me/calendar");
    await loadStatus();
    await settingsView();
    main().querySelector("h1").after(notice("good", "Outlook disconnected. Your conversations are kept."));
  } catch (error) {
    showError(main(), error);
  }
}

export async function adminView() {
  const root = main();
  root.replaceChildren(h("h1", { tabindex: "-1" }, "Admin"));
  let settings;
  try {
    settings = await api("GET", "/admin/settings");
  } catch (error) {
    root.append(notice("info", error.code === "admin_only"
      ? "Only your organisation's admins can see this page." : problemText(error)));
    return;
  }
  const view = settings.data;
  let etag = settings.etag;
  const allow = h("input", { type: "checkbox", id: "allow-outlook", checked: view.allowOutlookCalendar });
  const sync = h("input", { type: "checkbox", id: "sync-conversations", checked: view.syncConversations });
  const tenant = h("input", { id: "tenant", value: view.tenantId || "", maxlength: "253", "aria-describedby": "tenant-help" });
  const result = h("div", {});
  const form = h("form", { class: "stack", onsubmit: async (event) => {
    event.preventDefault();
    try {
      const saved = await api("PUT", "/admin/settings", {
        body: { allowOutlookCalendar: allow.checked, syncConversations: sync.checked, tenantId: tenant.value.trim() || null },
        headers: etag ? { "If-Match": etag } : {},
      });
      etag = saved.etag;
      result.replaceChildren(notice("good", "Saved."));
      await loadStatus();
    } catch (error) {
      result.replaceChildren(notice("bad", error.code === "stale"
        ? "Another admin changed these meanwhile; reload the page to see their change." : problemText(error)));
    }
  } },
  h("fieldset", {},
    h("legend", {}, "Outlook calendar sync"),
    h("div", { class: "checks" },
      h("label", {}, allow, " Allow people to connect their Outlook calendars"),
      h("label", {}, sync, " Put conversations in Outlook calendars")),
    h("label", { for: "tenant" }, "Only this Microsoft 365 tenant (id or domain, optional)"),
    tenant,
    h("p", { class: "hint", id: "tenant-help" }, "Empty: any work account may connect.")),
  h("button", { type: "submit" }, "Save settings"));
  const consent = view.adminConsent;
  const consentLine = {
    not_requested: "Not requested: each person approves the app when they connect.",
    granted: `Granted${consent.at ? ` on ${longDate(consent.at)}` : ""}${consent.tenantId ? ` in Microsoft tenant ${consent.tenantId}` : ""}.`
      + (consent.tenantId && view.tenantId && consent.tenantId !== view.tenantId
        ? " That is not your organisation's tenant above: check who consented." : ""),
    declined: `Declined${consent.error ? ` (${consent.error})` : ""}.`,
  }[consent.status];
  add(root,
    form, result,
    h("section", { "aria-labelledby": "consent-title" },
      h("h2", { id: "consent-title" }, "Tenant-wide consent"),
      h("p", { id: "consent-status" }, consentLine),
      h("button", { type: "button", class: "secondary", onclick: async () => {
        try {
          const link = await api("GET", "/admin/consent", { query: { returnUrl: `${location.origin}/admin` } });
          location.assign(link.data.consentUrl);
        } catch (error) { showError(root, error); }
      } }, "Grant consent for the whole organisation")),
    view.updatedAt ? h("p", { class: "hint" }, `Last saved ${longDate(view.updatedAt)} by ${view.updatedBy}.`) : null,
  );
}

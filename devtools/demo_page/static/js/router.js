// One page, several views: the path says which; links with data-view stay in the page.

import { api, problemText } from "./api.js";
import { conversationsView, detailView } from "./conversations.js";
import { h, main, notice } from "./dom.js";
import { scheduleView } from "./schedule.js";
import { renderBanners } from "./session.js";
import { adminView, settingsView } from "./settings.js";
import { state } from "./state.js";

export const OUTCOMES = {
  connected: ["good", "Outlook is connected. Your conversations will appear in your calendar."],
  consent_declined: ["bad", "You declined the permissions, so Outlook is not connected."],
  admin_approval_required: ["bad", "Your organisation's admin must approve this app first (tenant-wide consent on the Admin page)."],
  account_already_linked: ["bad", "That Microsoft account is already connected by someone else here."],
  wrong_tenant: ["bad", "That Microsoft account is not in your organisation's Microsoft 365 tenant."],
  mailbox_not_supported: ["bad", "That mailbox is on an on-premises Exchange server, which is not supported."],
  sign_in_expired: ["bad", "The sign-in took too long. Try again."],
  disabled: ["bad", "Your organisation has not enabled Outlook calendar sync."],
  not_assigned: ["bad", "Your organisation allows only people it assigned to use Outlook calendar sync, and you are not one of them: ask your admin to assign you, then connect again."],
  sign_in_failed: ["bad", "Microsoft sign-in failed. Try again."],
  temporarily_unavailable: ["bad", "Microsoft is unavailable right now. Try again in a moment."],
};
export const CONSENT_OUTCOMES = {
  granted: ["good", "Tenant-wide consent granted: everyone in your organisation can connect without being asked."],
  declined: ["bad", "Tenant-wide consent was declined."],
  expired: ["bad", "The consent link expired. Start again."],
};

export const VIEWS = [
  [/^\/settings$/, settingsView],
  [/^\/admin$/, adminView],
  [/^\/schedule$/, scheduleView],
  [/^\/conversations$/, conversationsView],
  [/^\/conversations\/([^/]+)$/, (id) => detailView(decodeURIComponent(id))],
];

export async function render() {
  const path = location.pathname === "/" ? "/settings" : location.pathname;
  for (const link of document.querySelectorAll("nav a")) {
    const current = path === link.getAttribute("href") || path.startsWith(`${link.getAttribute("href")}/`);
    if (current) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  state.detailId = null;
  const match = VIEWS.map(([pattern, view]) => [path.match(pattern), view]).find(([m]) => m);
  const root = main();
  root.replaceChildren(h("h1", { tabindex: "-1" }, "Loading…"));
  if (!match) {
    root.replaceChildren(h("h1", {}, "Not found"));
    return;
  }
  const [found, view] = match;
  const completed = await completeSignIn(new URLSearchParams(location.search));
  await view(...found.slice(1));
  showOutcome(completed);
}

// Back from Microsoft with a one-time code: the app linked nothing yet. This page completes the
// sign-in with its own person's token; the app refuses anyone but the person who started it.
async function completeSignIn(query) {
  const connectCode = query.get("outlookCompletion");
  const consentCode = query.get("adminConsentCompletion");
  if (!connectCode && !consentCode) return null;
  history.replaceState({}, "", location.pathname); // used once: not left in the address bar
  try {
    if (connectCode) {
      const done = (await api("POST", "/me/calendar/complete", { body: { code: connectCode } })).data;
      state.status = done.calendar;
      renderBanners();
      const [kind, text] = OUTCOMES[done.outcome] || ["bad", done.outcome];
      const who = done.signedInAs;
      return [kind, who ? `${text} Microsoft account: ${who.displayName} (${who.userPrincipalName}).` : text];
    }
    const done = (await api("POST", "/admin/consent/complete", { body: { code: consentCode } })).data;
    const [kind, text] = CONSENT_OUTCOMES[done.outcome] || ["bad", done.outcome];
    const tenant = done.settings.adminConsent.tenantId;
    return [kind, done.outcome === "granted" && tenant ? `${text} Given in Microsoft tenant ${tenant}.` : text];
  } catch (error) {
    return ["bad", error.code === "sign_in_not_yours"
      ? "That sign-in was started by someone else, so nothing was connected. Connect from your own account."
      : problemText(error)];
  }
}

export function go(path) {
  history.pushState({}, "", path);
  render().then(() => { const title = main().querySelector("h1"); if (title) title.focus(); });
}

export function showOutcome(completed = null) {
  const query = new URLSearchParams(location.search);
  const outcome = query.get("outlook");
  const consent = query.get("adminConsent");
  const [kind, text] = completed || (outcome && OUTCOMES[outcome]) || (consent && CONSENT_OUTCOMES[consent]) || [];
  if (!text) return;
  main().querySelector("h1").after(notice(kind, text));
  history.replaceState({}, "", location.pathname);
}

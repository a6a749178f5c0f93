// The demo host app's frontend: plain JavaScript, no build step, nothing loaded from elsewhere.
// It calls only the function app's public API (see /api/openapi.json), as a real host app would;
// /demo/* is this page's own dev server (tokens for the demo people, and their Outlook).
"use strict";

const state = {
  config: null, // {apiBase, pollSeconds, people}
  person: null,
  token: null,
  zone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
  status: null, // GET /me/calendar
  weekStart: null, // YYYY-MM-DD, a Monday
  cursor: null,
  detailId: null,
  poller: null,
  notesAdded: {}, // conversation id -> [{kind, text}] added in this session (the API has no list)
  outlookSnapshot: null,
};

const TYPES = {
  check_in: "Check-in",
  wellbeing: "Wellbeing",
  performance_development: "Performance and development",
  mentoring_session: "Mentoring session",
};
const ZONES = ["Europe/London", "Europe/Paris", "America/New_York", "America/Los_Angeles",
  "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney", "UTC"];
const FIRST_HOUR = 7;
const LAST_HOUR = 20;
const OUTCOMES = {
  connected: ["good", "Outlook is connected. Your conversations will appear in your calendar."],
  consent_declined: ["bad", "You declined the permissions, so Outlook is not connected."],
  admin_approval_required: ["bad", "Your organisation's admin must approve this app first (tenant-wide consent on the Admin page)."],
  account_already_linked: ["bad", "That Microsoft account is already connected by someone else here."],
  wrong_tenant: ["bad", "That Microsoft account is not in your organisation's Microsoft 365 tenant."],
  mailbox_not_supported: ["bad", "That mailbox is on an on-premises Exchange server, which is not supported."],
  sign_in_expired: ["bad", "The sign-in took too long. Try again."],
  disabled: ["bad", "Your organisation has not enabled Outlook calendar sync."],
  sign_in_failed: ["bad", "Microsoft sign-in failed. Try again."],
  temporarily_unavailable: ["bad", "Microsoft is unavailable right now. Try again in a moment."],
};
const CONSENT_OUTCOMES = {
  granted: ["good", "Tenant-wide consent granted: everyone in your organisation can connect without being asked."],
  declined: ["bad", "Tenant-wide consent was declined."],
  expired: ["bad", "The consent link expired. Start again."],
};
const REASONS = {
  reconnect_due: "the periodic renewal date has passed",
  sign_in_expired: "the Microsoft sign-in expired",
  access_revoked: "Microsoft revoked the app's access",
  consent_required: "Microsoft needs the app approved again",
};

// --- small helpers ------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") node.style.cssText = value; // CSSOM: allowed by the page's CSP
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const $ = (selector) => document.querySelector(selector);
const present = (children) => children.flat().filter((c) => c !== null && c !== undefined && c !== false);
const put = (root, ...children) => root.replaceChildren(...present(children));
const add = (root, ...children) => root.append(...present(children));
const main = () => $("#main");
const sameOrg = (p) => p.orgId === state.person.orgId;
const personById = (id) => state.config.people.find((p) => p.userId === id);

class ApiError extends Error {
  constructor(status, problem) {
    const detail = problem && typeof problem === "object" ? problem.detail : String(problem || "");
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.code = problem && problem.code;
    this.problem = problem;
  }
}

async function api(method, path, { query, body, headers } = {}) {
  const url = new URL(state.config.apiBase + path);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const init = { method, headers: { Authorization: `Bearer ${state.token}`, ...(headers || {}) } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return { status: response.status, data, etag: response.headers.get("ETag") };
}

async function demo(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error((data && data.error) || `HTTP ${response.status}`);
  return data;
}

function notice(kind, text, { live = true } = {}) {
  return h("div", { class: `notice ${kind}`, role: live ? (kind === "bad" ? "alert" : "status") : null }, text);
}

function problemText(error) {
  return error.code ? `${error.message} (${error.code})` : error.message;
}

function showError(where, error) {
  where.prepend(notice("bad", problemText(error)));
}

// --- time: every time from the API is UTC; shown in the chosen zone ---------------------------

function partsOf(iso, zone) {
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  const parts = {};
  for (const part of format.formatToParts(new Date(iso))) parts[part.type] = part.value;
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${parts.hour}:${parts.minute}`,
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

function dayLabel(date, options = { weekday: "short", day: "numeric", month: "short" }) {
  const [y, m, d] = date.split("-").map(Number);
  return new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", ...options }).format(new Date(Date.UTC(y, m - 1, d)));
}

function when(startIso, endIso, zone = state.zone) {
  const start = partsOf(startIso, zone);
  const end = partsOf(endIso, zone);
  const day = dayLabel(start.date, { weekday: "short", day: "numeric", month: "short", year: "numeric" });
  const endDay = end.date === start.date ? "" : `${dayLabel(end.date)} `;
  return `${day}, ${start.time}–${endDay}${end.time}`;
}

function longDate(iso) {
  return new Intl.DateTimeFormat("en-GB", { timeZone: state.zone, day: "numeric", month: "long", year: "numeric" }).format(new Date(iso));
}

function addDays(date, days) {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

function mondayOf(date) {
  const [y, m, d] = date.split("-").map(Number);
  const weekday = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return addDays(date, -((weekday + 6) % 7));
}

function today() {
  return partsOf(new Date().toISOString(), state.zone).date;
}

function wallClockPlus(date, time, minutes) {
  const [y, m, d] = date.split("-").map(Number);
  const [hh, mm] = time.split(":").map(Number);
  const moved = new Date(Date.UTC(y, m - 1, d, hh, mm + minutes));
  return moved.toISOString().slice(0, 19);
}

function daysBetween(from, to) {
  const [a, b] = [from, to].map((s) => { const [y, m, d] = s.split("-").map(Number); return Date.UTC(y, m - 1, d); });
  return Math.round((b - a) / 86400000);
}

// --- who you are --------------------------------------------------------------------------------

async function become(key) {
  const minted = await demo("POST", "/demo/token", { person: key });
  state.person = minted.person;
  state.token = minted.token;
  state.cursor = sessionStorage.getItem(`cursor:${key}`);
  sessionStorage.setItem("person", key);
  $("#feed").replaceChildren();
  const outlookOf = $("#outlook-of");
  if (state.person.outlook) outlookOf.value = state.person.email;
  await Promise.all([loadStatus(), readFeed(true), loadOutlook()]);
}

async function loadStatus() {
  try {
    state.status = (await api("GET", "/me/calendar")).data;
  } catch (error) {
    state.status = null;
    $("#banners").replaceChildren(notice("bad", `The app could not be reached: ${problemText(error)}`));
    return;
  }
  renderBanners();
}

function renderBanners() {
  const status = state.status;
  const banners = [];
  if (status && status.status === "connected" && status.expiringSoon) {
    banners.push(h("div", { class: "banner warn", role: "status" },
      `Your Outlook connection must be renewed by ${longDate(status.reconnectBy)}. `,
      h("button", { type: "button", onclick: connect }, "Reconnect now")));
  }
  if (status && status.status === "reconnect_required") {
    banners.push(h("div", { class: "banner bad", role: "alert" },
      h("strong", {}, "Reconnect required: "),
      `${status.message} (${REASONS[status.reason] || status.reason}). `,
      h("button", { type: "button", onclick: connect }, "Reconnect Outlook")));
  }
  $("#banners").replaceChildren(...banners);
}

async function connect() {
  try {
    const started = await api("POST", "/me/calendar/connect", {
      body: { returnUrl: `${location.origin}/settings` },
    });
    location.assign(started.data.authorizationUrl);
  } catch (error) {
    showError(main(), error);
  }
}

// --- views --------------------------------------------------------------------------------------

const VIEWS = [
  [/^\/settings$/, settingsView],
  [/^\/admin$/, adminView],
  [/^\/schedule$/, scheduleView],
  [/^\/conversations$/, conversationsView],
  [/^\/conversations\/([^/]+)$/, (id) => detailView(decodeURIComponent(id))],
];

async function render() {
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
  await view(...found.slice(1));
  showOutcome();
}

function go(path) {
  history.pushState({}, "", path);
  render().then(() => { const title = main().querySelector("h1"); if (title) title.focus(); });
}

function showOutcome() {
  const query = new URLSearchParams(location.search);
  const outcome = query.get("outlook");
  const consent = query.get("adminConsent");
  const [kind, text] = (outcome && OUTCOMES[outcome]) || (consent && CONSENT_OUTCOMES[consent]) || [];
  if (!text) return;
  main().querySelector("h1").after(notice(kind, text));
  history.replaceState({}, "", location.pathname);
}

async function settingsView() {
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

async function checkConnection() {
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

async function disconnect() {
  try {
    await api("DELETE", "/me/calendar");
    await loadStatus();
    await settingsView();
    main().querySelector("h1").after(notice("good", "Outlook disconnected. Your conversations are kept."));
  } catch (error) {
    showError(main(), error);
  }
}

async function adminView() {
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
    granted: `Granted${consent.at ? ` on ${longDate(consent.at)}` : ""}${consent.tenantId ? ` for tenant ${consent.tenantId}` : ""}.`,
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

// --- scheduling ---------------------------------------------------------------------------------

function attendeeChoices() {
  return state.config.people.filter((p) => sameOrg(p) && p.key !== state.person.key);
}

async function scheduleView() {
  const root = main();
  state.weekStart = state.weekStart || mondayOf(today());
  const chosen = new Set(JSON.parse(sessionStorage.getItem("attendees") || "[]"));
  const checks = attendeeChoices().map((p) => h("label", {},
    h("input", { type: "checkbox", name: "attendee", value: p.key, checked: chosen.has(p.key),
      onchange: () => { saveChoice(); loadGrid(); } }),
    ` ${p.name}`, p.jobTitle ? h("span", { class: "hint" }, ` — ${p.jobTitle}`) : null));
  const other = h("input", { id: "other-attendees", placeholder: "name@example.com", size: "28" });
  put(root,
    h("h1", { tabindex: "-1" }, "Schedule a conversation"),
    h("fieldset", { class: "checks" }, h("legend", {}, "Attendees"), checks,
      h("label", { for: "other-attendees" }, "Others (email addresses, comma-separated)"),
      h("div", { class: "row" }, other, h("button", { type: "button", class: "secondary", onclick: loadGrid }, "Show"))),
    h("div", { class: "week-nav" },
      h("button", { type: "button", class: "secondary", onclick: () => moveWeek(-7) }, "Previous week"),
      h("button", { type: "button", class: "secondary", onclick: () => { state.weekStart = mondayOf(today()); loadGrid(); } }, "This week"),
      h("button", { type: "button", class: "secondary", onclick: () => moveWeek(7) }, "Next week"),
      h("h2", { id: "week-title", "aria-live": "polite" }, "")),
    h("ul", { class: "legend" },
      h("li", {}, h("span", { class: "swatch own" }), "Your events (with titles)"),
      h("li", {}, h("span", { class: "swatch busy" }), "Attendees' busy time (no titles)")),
    h("div", { id: "availability-problem" }),
    h("div", { class: "grid-scroll", tabindex: "0", role: "region", "aria-labelledby": "week-title" },
      h("div", { class: "grid", id: "grid" })),
    h("ul", { id: "notices", "aria-label": "Attendees who cannot be shown" }),
    createForm(),
  );
  await loadGrid();
}

function saveChoice() {
  const keys = [...document.querySelectorAll("input[name=attendee]:checked")].map((i) => i.value);
  sessionStorage.setItem("attendees", JSON.stringify(keys));
}

function chosenPeople() {
  const keys = new Set([...document.querySelectorAll("input[name=attendee]:checked")].map((i) => i.value));
  return attendeeChoices().filter((p) => keys.has(p.key));
}

function otherEmails() {
  const field = $("#other-attendees");
  return (field ? field.value : "").split(",").map((s) => s.trim()).filter((s) => s.includes("@"));
}

function moveWeek(days) {
  state.weekStart = addDays(state.weekStart, days);
  loadGrid();
}

async function loadGrid() {
  const grid = $("#grid");
  if (!grid) return;
  const start = state.weekStart;
  const end = addDays(start, 7);
  $("#week-title").textContent = `Week of ${dayLabel(start, { weekday: "long", day: "numeric", month: "long", year: "numeric" })}`;
  const people = chosenPeople();
  const named = [...people.map((p) => p.userId), ...otherEmails()];
  const problem = $("#availability-problem");
  problem.replaceChildren();
  let answer = { events: [], attendees: [] };
  try {
    answer = (await api("GET", "/availability", {
      query: { start: `${start}T00:00:00`, end: `${end}T00:00:00`, timeZone: state.zone, attendees: named.join(",") },
    })).data;
  } catch (error) {
    const text = ["not_connected", "reconnect_required"].includes(error.code)
      ? [`${error.message} `, h("a", { href: "/settings", "data-view": true }, "Go to Settings")]
      : problemText(error);
    problem.append(notice("warn", text));
  }
  drawGrid(grid, start, answer, people);
  const notices = $("#notices");
  notices.replaceChildren(...answer.attendees.filter((a) => a.status !== "ok").map((a) => {
    const person = personById(a.attendee);
    const name = person ? person.name : a.attendee;
    return h("li", { class: "notice warn", dataset: { attendee: a.attendee, status: a.status } },
      h("strong", {}, `${name}: `), (a.message || a.status).replace(a.attendee, name));
  }));
}

function drawGrid(grid, start, answer, people) {
  const hours = LAST_HOUR - FIRST_HOUR;
  grid.style.setProperty("--hours", hours);
  const days = [...Array(7).keys()].map((i) => addDays(start, i));
  const head = [h("div", { class: "day-head", "aria-hidden": "true" }, ""), ...days.map((d) => h("div", { class: "day-head" }, dayLabel(d)))];
  const hourLabels = h("div", { class: "hours", "aria-hidden": "true" },
    [...Array(hours).keys()].map((i) => h("span", { style: `top: calc(var(--hour) * ${i})` }, `${String(FIRST_HOUR + i).padStart(2, "0")}:00`)));
  const columns = days.map((d) => h("div", { class: "day", role: "group", "aria-label": dayLabel(d, { weekday: "long", day: "numeric", month: "long" }) }));
  const place = (item, kind, label) => {
    for (const [dayIndex, from, to] of spans(item.start, item.end, start)) {
      const top = Math.max(from, FIRST_HOUR * 60) - FIRST_HOUR * 60;
      const bottom = Math.min(to, LAST_HOUR * 60) - FIRST_HOUR * 60;
      if (dayIndex < 0 || dayIndex > 6 || bottom <= 0 || top >= hours * 60) continue;
      const range = `${fmtMinutes(from)}–${fmtMinutes(to)}`;
      columns[dayIndex].append(h("div", {
        class: `block ${kind}`,
        style: `top: calc(var(--hour) * ${top / 60}); height: calc(var(--hour) * ${Math.max(bottom - top, 15) / 60})`,
        title: `${label}, ${range}`,
      }, h("span", {}, label), h("span", { class: "when" }, range)));
    }
  };
  for (const event of answer.events) place(event, "own", event.title || "(no title)");
  for (const attendee of answer.attendees) {
    const person = personById(attendee.attendee);
    const name = person ? person.name : attendee.attendee;
    for (const busy of attendee.busy) place(busy, "busy", `${name} busy`);
  }
  grid.replaceChildren(...head, hourLabels, ...columns);
  grid.dataset.loaded = `${start}|${people.map((p) => p.key).join(",")}`;
}

function spans(startIso, endIso, weekStart) {
  // [day index, minutes from, minutes to] for each day the item covers, in the chosen zone.
  const start = partsOf(startIso, state.zone);
  const end = partsOf(endIso, state.zone);
  const out = [];
  for (let date = start.date; daysBetween(date, end.date) >= 0; date = addDays(date, 1)) {
    const from = date === start.date ? start.minutes : 0;
    const to = date === end.date ? end.minutes : 24 * 60;
    if (to > from) out.push([daysBetween(weekStart, date), from, to]);
    if (out.length > 14) break;
  }
  return out;
}

function fmtMinutes(minutes) {
  return `${String(Math.floor(minutes / 60) % 24).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

function createForm() {
  const zoneSelect = h("select", { id: "new-zone" }, ZONES.concat(ZONES.includes(state.zone) ? [] : [state.zone])
    .map((z) => h("option", { value: z, selected: z === state.zone }, z)));
  const locationText = h("input", { id: "location-text", maxlength: "255", "aria-describedby": "location-help" });
  const result = h("div", {});
  let idempotencyKey = crypto.randomUUID();
  const form = h("form", { class: "stack", id: "create-form", onsubmit: async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const date = data.get("date");
    const time = data.get("time");
    const minutes = Number(data.get("duration"));
    const kind = data.get("location");
    const repeats = data.get("repeats");
    const body = {
      type: data.get("type"),
      title: data.get("title"),
      attendees: [...chosenPeople().map((p) => ({ email: p.email, name: p.name, userId: p.userId })),
        ...otherEmails().map((email) => ({ email }))],
      start: `${date}T${time}:00`,
      end: wallClockPlus(date, time, minutes),
      timeZone: data.get("zone"),
      location: kind === "text" ? { kind, text: data.get("locationText") } : { kind },
    };
    if (repeats !== "none") body.recurrence = recurrence(repeats, date, Number(data.get("count")));
    try {
      const created = await api("POST", "/conversations", { body, headers: { "Idempotency-Key": idempotencyKey } });
      idempotencyKey = crypto.randomUUID();
      sessionStorage.setItem("just-created", created.data.id);
      go(`/conversations/${encodeURIComponent(created.data.id)}`);
    } catch (error) {
      result.replaceChildren(notice("bad", problemText(error)));
    }
  } },
  h("label", { for: "new-type" }, "Type"),
  h("select", { id: "new-type", name: "type" }, Object.entries(TYPES).map(([v, label]) => h("option", { value: v }, label))),
  h("label", { for: "new-title" }, "Title"),
  h("input", { id: "new-title", name: "title", required: true, maxlength: "255", value: "Monthly check-in" }),
  h("label", { for: "conversation-date" }, "Date"),
  h("input", { id: "conversation-date", name: "date", type: "date", required: true, value: addDays(state.weekStart, 1) }),
  h("label", { for: "conversation-time" }, "Start time"),
  h("input", { id: "conversation-time", name: "time", type: "time", required: true, value: "09:00" }),
  h("label", { for: "conversation-duration" }, "Duration"),
  h("select", { id: "conversation-duration", name: "duration" },
    [15, 30, 45, 60, 90].map((m) => h("option", { value: m, selected: m === 30 }, `${m} minutes`))),
  h("label", { for: "new-zone" }, "Time zone of the meeting"),
  Object.assign(zoneSelect, { name: "zone" }),
  h("fieldset", {},
    h("legend", {}, "Location"),
    h("div", { class: "checks" },
      ["none", "text", "teams"].map((k) => h("label", {},
        h("input", { type: "radio", name: "location", value: k, checked: k === "teams" }),
        ` ${{ none: "None", text: "A place", teams: "Microsoft Teams meeting" }[k]}`))),
    h("label", { for: "location-text" }, "Place"),
    Object.assign(locationText, { name: "locationText" }),
    h("p", { class: "hint", id: "location-help" }, "Only for “A place”, e.g. Room 4.")),
  h("label", { for: "repeats" }, "Repeats"),
  h("select", { id: "repeats", name: "repeats" },
    [["none", "Does not repeat"], ["daily", "Every day"], ["weekly", "Every week on this day"], ["monthly", "Every month on this date"]]
      .map(([v, label]) => h("option", { value: v }, label))),
  h("label", { for: "count" }, "Number of times"),
  h("input", { id: "count", name: "count", type: "number", min: "1", max: "999", value: "4" }),
  h("p", { class: "hint" }, "The attendees are the ones ticked above."),
  h("button", { type: "submit" }, "Create conversation"),
  result);
  return h("section", { "aria-labelledby": "create-title" }, h("h2", { id: "create-title" }, "New conversation"), form);
}

function recurrence(repeats, date, count) {
  const day = new Date(`${date}T00:00:00Z`).toLocaleDateString("en-GB", { weekday: "long", timeZone: "UTC" }).toLowerCase();
  const pattern = {
    daily: { type: "daily", interval: 1 },
    weekly: { type: "weekly", interval: 1, daysOfWeek: [day] },
    monthly: { type: "absoluteMonthly", interval: 1, dayOfMonth: Number(date.slice(8, 10)) },
  }[repeats];
  return { pattern, range: { type: "numbered", numberOfOccurrences: count } };
}

// --- conversations ------------------------------------------------------------------------------

async function conversationsView() {
  const root = main();
  root.replaceChildren(h("h1", { tabindex: "-1" }, "Conversations"));
  const from = addDays(mondayOf(today()), -7);
  const to = addDays(from, 120);
  let list;
  try {
    list = (await api("GET", "/conversations", { query: { start: `${from}T00:00:00`, end: `${to}T00:00:00`, timeZone: state.zone } })).data.value;
  } catch (error) {
    showError(root, error);
    return;
  }
  root.append(h("p", { class: "hint" }, `From ${dayLabel(from)} to ${dayLabel(to)}, soonest first.`));
  if (!list.length) {
    root.append(h("p", {}, "No conversations yet. ", h("a", { href: "/schedule", "data-view": true }, "Schedule one")));
    return;
  }
  root.append(h("table", {},
    h("thead", {}, h("tr", {}, ["Conversation", "Type", "Next", "Status", "Outlook"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, list.map((c) => h("tr", {},
      h("td", {}, h("a", { href: `/conversations/${encodeURIComponent(c.id)}`, "data-view": true }, c.title),
        c.occurrences.length > 1 ? h("span", { class: "hint" }, ` (${c.occurrences.length} in this window)`) : null),
      h("td", {}, TYPES[c.type] || c.type),
      h("td", {}, when(c.occurrences[0].start, c.occurrences[0].end)),
      h("td", {}, c.status),
      h("td", {}, c.sync.state))))));
}

async function detailView(id) {
  const root = main();
  state.detailId = id;
  let read;
  try {
    read = await api("GET", `/conversations/${encodeURIComponent(id)}`);
  } catch (error) {
    root.replaceChildren(h("h1", { tabindex: "-1" }, "Conversation"), notice("bad", problemText(error)));
    return;
  }
  const c = read.data;
  const etag = read.etag;
  const organiser = c.organiserId === state.person.userId;
  const organiserPerson = personById(c.organiserId);
  const teams = c.outlook && c.outlook.teamsJoinUrl;
  const facts = [
    ["Type", TYPES[c.type] || c.type],
    ["When", when(c.start, c.end)],
    ["Meeting time zone", c.timeZone],
    ["Location", c.location.kind === "teams" ? (teams ? h("a", { href: teams, rel: "noopener" }, "Join in Teams") : "Microsoft Teams (link on its way from Outlook)")
      : c.location.kind === "text" ? c.location.text : "None"],
    ["Repeats", c.recurrence ? describeRecurrence(c.recurrence) : "No"],
    ["Organiser", organiserPerson ? organiserPerson.name : c.organiserId],
    ["Status", c.status],
    ["Outlook", h("span", { id: "sync-state", "data-state": c.sync.state }, c.sync.state)],
  ];
  if (c.sync.error) facts.push(["Outlook said", c.sync.error]);
  if (c.outlook && c.outlook.webLink) facts.push(["In Outlook", h("a", { href: c.outlook.webLink, rel: "noopener" }, "Open in Outlook")]);
  facts.push(["Notes and actions", `${c.notesCount} notes, ${c.actionsCount} actions`]);
  const justCreated = sessionStorage.getItem("just-created") === id;
  sessionStorage.removeItem("just-created");
  put(root,
    h("h1", { tabindex: "-1" }, c.title),
    justCreated ? notice("good", `Created. Outlook: ${c.sync.state}.`) : null,
    h("dl", { class: "facts" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("h2", {}, "Attendees"),
    c.attendees.length ? h("table", { id: "attendees" },
      h("thead", {}, h("tr", {}, ["Name", "Email", "Role", "Reply"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, c.attendees.map((a) => h("tr", {},
        h("td", {}, a.name || (personById(a.userId) || {}).name || "—"), h("td", {}, a.email),
        h("td", {}, a.role), h("td", { "data-email": a.email }, a.response)))))
      : h("p", {}, "No attendees."),
    recordForms(c),
    organiser && c.status !== "cancelled" ? moveForm(c, etag) : null,
    organiser && c.status !== "cancelled" ? cancelSection(c) : null,
  );
}

function describeRecurrence(r) {
  const count = r.range.type === "numbered" ? `, ${r.range.numberOfOccurrences} times` : "";
  const days = r.pattern.daysOfWeek ? ` on ${r.pattern.daysOfWeek.join(", ")}` : "";
  return `${r.pattern.type}${days}${count}`;
}

function recordForms(c) {
  const added = state.notesAdded[c.id] || [];
  const list = h("ul", { id: "records" }, added.map((r) => h("li", {}, `${r.kind === "note" ? "Note" : "Action"}: ${r.text}`)));
  const form = (kind, label) => {
    const field = h("textarea", { id: `${kind}-text`, rows: "2", maxlength: "4000", required: true });
    const result = h("div", {});
    return h("form", { class: "stack", onsubmit: async (event) => {
      event.preventDefault();
      try {
        await api("POST", `/conversations/${encodeURIComponent(c.id)}/${kind}s`, { body: { text: field.value } });
        (state.notesAdded[c.id] = state.notesAdded[c.id] || []).push({ kind, text: field.value });
        await detailView(c.id);
        main().querySelector("h1").after(notice("good", `${label} added.`));
      } catch (error) {
        result.replaceChildren(notice("bad", problemText(error)));
      }
    } }, h("label", { for: `${kind}-text` }, label), field, h("button", { type: "submit" }, `Add ${kind}`), result);
  };
  return h("section", { "aria-labelledby": "records-title" },
    h("h2", { id: "records-title" }, "Notes and actions"),
    h("p", { class: "hint" }, "Notes and actions keep a conversation when it is cancelled."),
    list, c.status === "cancelled" ? null : [form("note", "Note"), form("action", "Action")]);
}

function moveForm(c, etag) {
  const start = partsOf(c.start, c.timeZone);
  const minutes = Math.round((new Date(c.end) - new Date(c.start)) / 60000);
  const date = h("input", { id: "move-date", type: "date", value: start.date, required: true });
  const time = h("input", { id: "move-time", type: "time", value: start.time, required: true });
  const result = h("div", {});
  return h("section", { "aria-labelledby": "move-title" },
    h("h2", { id: "move-title" }, "Move it"),
    h("form", { class: "stack", onsubmit: async (event) => {
      event.preventDefault();
      try {
        await api("PATCH", `/conversations/${encodeURIComponent(c.id)}`, {
          body: { start: `${date.value}T${time.value}:00`, end: wallClockPlus(date.value, time.value, minutes), timeZone: c.timeZone },
          headers: { "If-Match": etag },
        });
        await detailView(c.id);
        main().querySelector("h1").after(notice("good", "Moved. Outlook follows."));
      } catch (error) {
        result.replaceChildren(notice("bad", error.code === "stale"
          ? "It changed meanwhile (perhaps in Outlook); the page now shows the latest." : problemText(error)));
        if (error.code === "stale") await detailView(c.id);
      }
    } },
    h("p", { class: "hint" }, `In the meeting's time zone, ${c.timeZone}.`),
    h("label", { for: "move-date" }, "New date"), date,
    h("label", { for: "move-time" }, "New start time"), time,
    h("button", { type: "submit" }, "Move conversation"), result));
}

function cancelSection(c) {
  const result = h("div", {});
  const confirm = h("button", { type: "button", class: "danger", hidden: true, onclick: async () => {
    try {
      const answer = await api("DELETE", `/conversations/${encodeURIComponent(c.id)}`);
      if (answer.status === 204) {
        history.pushState({}, "", "/conversations");
        await render();
        main().querySelector("h1").after(notice("good", `“${c.title}” was cancelled and removed (it had no notes or actions).`));
      } else {
        await detailView(c.id);
        main().querySelector("h1").after(notice("good", "Cancelled. It is kept, marked cancelled, because it has notes or actions."));
      }
    } catch (error) {
      result.replaceChildren(notice("bad", problemText(error)));
    }
  } }, "Yes, cancel it");
  const ask = h("button", { type: "button", class: "secondary", onclick: () => { confirm.hidden = false; confirm.focus(); } }, "Cancel conversation");
  return h("section", { "aria-labelledby": "cancel-title" },
    h("h2", { id: "cancel-title" }, "Cancel it"),
    h("p", { class: "hint" }, "Attendees get Outlook's cancellation."),
    h("div", { class: "actions" }, ask, confirm), result);
}

// --- the changes feed ---------------------------------------------------------------------------

function describeChange(change) {
  const title = change.title ? `“${change.title}”` : "A conversation";
  switch (change.kind) {
    case "conversation_moved": return `${title} moved in Outlook to ${when(change.start, change.end)}`;
    case "conversation_relocated": return `${title} now at ${change.location.kind === "teams" ? "Microsoft Teams" : change.location.text || "no location"}`;
    case "conversation_cancelled": return `${title} was deleted in Outlook`;
    case "rsvp": return `${change.email} ${change.response === "declined" ? "declined" : `answered ${change.response} to`} ${title}`;
    case "guest_added": return `${change.name || change.email} was added to ${title} in Outlook`;
    case "connection_expiring_soon": return `Your Outlook connection must be renewed by ${longDate(change.reconnectBy)}`;
    case "reconnect_required": return `Your Outlook connection must be reconnected (${REASONS[change.reason] || change.reason})`;
    default: return change.kind;
  }
}

async function readFeed(quiet = false) {
  if (!state.token) return;
  const feed = $("#feed");
  let touched = false;
  try {
    for (let page = 0; page < 20; page++) {
      const answer = (await api("GET", "/me/changes", { query: { since: state.cursor } })).data;
      for (const change of answer.value) {
        feed.prepend(h("li", { dataset: { kind: change.kind, conversation: change.conversationId || "" } },
          h("time", { datetime: change.at }, partsOf(change.at, state.zone).time), " ", describeChange(change)));
        if (change.conversationId && change.conversationId === state.detailId) touched = true;
        if (change.kind === "connection_expiring_soon" || change.kind === "reconnect_required") await loadStatus();
      }
      state.cursor = answer.cursor;
      if (state.cursor) sessionStorage.setItem(`cursor:${state.person.key}`, state.cursor);
      if (answer.value.length < 200) break;
    }
  } catch (error) {
    if (!quiet) $("#feed-hint").textContent = `The feed could not be read: ${problemText(error)}`;
    return;
  }
  while (feed.children.length > 30) feed.lastChild.remove();
  if (touched && !quiet) await detailView(state.detailId);
}

// --- Outlook (emulated), through this page's dev server --------------------------------------

async function loadOutlook() {
  const mail = $("#outlook-of").value;
  const list = $("#outlook-events");
  const status = $("#outlook-status");
  if (!mail) return;
  let events;
  try {
    events = (await demo("GET", `/demo/outlook/${encodeURIComponent(mail)}/events`)).value;
  } catch (error) {
    status.textContent = `Outlook could not be read: ${error.message}`;
    return;
  }
  const shown = events.filter((e) => !e.isCancelled && e.type !== "occurrence")
    .sort((a, b) => a.start.dateTime.localeCompare(b.start.dateTime));
  const snapshot = JSON.stringify([mail, state.zone, shown]);
  if (snapshot === state.outlookSnapshot) return; // unchanged: keep the list (and focus) as is
  state.outlookSnapshot = snapshot;
  const empty = "Nothing in this calendar yet.";
  if (!shown.length) status.textContent = empty;
  else if (status.textContent === empty) status.textContent = "";
  list.replaceChildren(...shown.map((event) => outlookItem(mail, event)));
}

function graphUtc(value) {
  return `${value.dateTime.slice(0, 19)}Z`;
}

function outlookItem(mail, event) {
  const start = graphUtc(event.start);
  const end = graphUtc(event.end);
  const subject = event.subject || "(no title)";
  const act = async (what, method, path, body) => {
    try {
      await demo(method, `/demo/outlook/${encodeURIComponent(mail)}/events/${encodeURIComponent(event.id)}${path}`, body);
      $("#outlook-status").textContent = `${what}: done in Outlook. The app follows when Graph tells it.`;
    } catch (error) {
      $("#outlook-status").textContent = `${what} failed: ${error.message}`;
    }
    await loadOutlook();
  };
  const shift = (minutes) => ({
    start: new Date(new Date(start).getTime() + minutes * 60000).toISOString().slice(0, 19),
    end: new Date(new Date(end).getTime() + minutes * 60000).toISOString().slice(0, 19),
    timeZone: "UTC",
  });
  const place = h("input", { id: `place-${event.id}`, "aria-label": `New location of ${subject}`, size: "10", placeholder: "Room 2" });
  const buttons = event.isOrganizer
    ? [
      h("button", { type: "button", "aria-label": `Move ${subject} 1 hour later`, onclick: () => act("Moved", "PATCH", "", shift(60)) }, "1 hour later"),
      h("button", { type: "button", "aria-label": `Move ${subject} to the next day`, onclick: () => act("Moved", "PATCH", "", shift(24 * 60)) }, "Next day"),
      h("button", { type: "button", "aria-label": `Rename ${subject} in Outlook`,
        onclick: () => act("Renamed (the app keeps its own title)", "PATCH", "", { subject: `${subject} (renamed in Outlook)` }) }, "Rename"),
      h("span", { class: "row" }, place, h("button", { type: "button", "aria-label": `Set the location of ${subject}`,
        onclick: () => act("Location set", "PATCH", "", { location: place.value || "Room 2" }) }, "Set location")),
    ]
    : ["accepted", "tentativelyAccepted", "declined"].map((response) => h("button", {
      type: "button", "aria-label": `${{ accepted: "Accept", tentativelyAccepted: "Tentatively accept", declined: "Decline" }[response]} ${subject}`,
      onclick: () => act("Answered", "POST", "/respond", { response }),
    }, { accepted: "Accept", tentativelyAccepted: "Tentative", declined: "Decline" }[response]));
  buttons.push(h("button", { type: "button", class: "danger", "aria-label": `Delete ${subject} in Outlook`, onclick: () => act("Deleted", "DELETE", "") }, "Delete"));
  const reply = event.isOrganizer ? "organiser" : `reply: ${(event.responseStatus || {}).response || "none"}`;
  return h("li", { dataset: { subject } },
    h("strong", {}, subject),
    h("span", { class: "meta" }, `${when(start, end)} · ${reply}${event.location && event.location.displayName ? ` · ${event.location.displayName}` : ""}`),
    h("div", { class: "actions" }, buttons));
}

async function newOutlookEvent(event) {
  event.preventDefault();
  const mail = $("#outlook-of").value;
  const date = $("#new-date").value;
  const time = $("#new-time").value;
  const minutes = Number($("#new-duration").value);
  try {
    await demo("POST", `/demo/outlook/${encodeURIComponent(mail)}/events`, {
      subject: $("#new-subject").value, start: `${date}T${time}:00`, end: wallClockPlus(date, time, minutes), timeZone: state.zone,
    });
    $("#outlook-status").textContent = "Added to Outlook.";
  } catch (error) {
    $("#outlook-status").textContent = `Could not add it: ${error.message}`;
  }
  await loadOutlook();
  if (location.pathname === "/schedule") await loadGrid();
}

// --- the dev clock ------------------------------------------------------------------------------

async function showClock() {
  try {
    const clock = await demo("GET", "/demo/clock");
    const days = Math.round(clock.offset_seconds / 86400);
    $("#clock-now").textContent = `Now: ${longDate(clock.now)}${days ? ` (real time + ${days} days)` : " (real time)"}`;
  } catch (error) {
    $("#clock-now").textContent = `The clock could not be read: ${error.message}`;
  }
}

async function moveClock(body) {
  try {
    await demo("POST", "/demo/clock", body);
  } catch (error) {
    $("#clock-now").textContent = `The clock did not move: ${error.message}`;
    return;
  }
  await showClock();
  await loadStatus();
  await render();
}

// --- start --------------------------------------------------------------------------------------

async function start() {
  state.config = await demo("GET", "/demo/config");
  const who = $("#who");
  for (const org of [...new Set(state.config.people.map((p) => p.orgId))]) {
    who.append(h("optgroup", { label: org }, state.config.people.filter((p) => p.orgId === org).map((p) =>
      h("option", { value: p.key }, `${p.name}${p.admin ? " (admin)" : ""}`))));
  }
  const zone = $("#zone");
  for (const z of ZONES.includes(state.zone) ? ZONES : [state.zone, ...ZONES]) zone.append(h("option", { value: z, selected: z === state.zone }, z));
  for (const p of state.config.people.filter((x) => x.outlook)) $("#outlook-of").append(h("option", { value: p.email }, p.name));
  const key = sessionStorage.getItem("person") || state.config.people[0].key;
  who.value = key;
  $("#new-date").value = today();

  who.addEventListener("change", async () => { await become(who.value); await render(); });
  zone.addEventListener("change", async () => { state.zone = zone.value; state.weekStart = null; await render(); });
  $("#outlook-of").addEventListener("change", loadOutlook);
  $("#outlook-refresh").addEventListener("click", loadOutlook);
  $("#outlook-new").addEventListener("submit", newOutlookEvent);
  $("#clock-form").addEventListener("submit", (event) => { event.preventDefault(); moveClock({ move: $("#clock-move").value.trim() }); });
  $("#clock-reset").addEventListener("click", () => moveClock({ offset_seconds: 0 }));
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-view]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    go(link.getAttribute("href"));
  });
  window.addEventListener("popstate", render);

  await become(key);
  await Promise.all([render(), showClock()]);
  state.poller = setInterval(() => {
    readFeed();
    if (!$("#outlook-events").contains(document.activeElement)) loadOutlook();
  }, state.config.pollSeconds * 1000);
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  main().replaceChildren(h("h1", {}, "The demo could not start"), notice("bad", error.message));
});

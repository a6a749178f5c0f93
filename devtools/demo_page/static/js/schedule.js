// Scheduling: a week of availability for the chosen attendees, and a new conversation.

import { api, problemText } from "./api.js";
import { $, h, main, notice, put } from "./dom.js";
import { go } from "./router.js";
import { personById, sameOrg, state, TYPES, ZONES } from "./state.js";
import { addDays, dayLabel, daysBetween, fmtMinutes, mondayOf, partsOf, today, wallClockPlus } from "./time.js";

const FIRST_HOUR = 7;
const LAST_HOUR = 20;

export function attendeeChoices() {
  return state.config.people.filter((p) => sameOrg(p) && p.key !== state.person.key);
}

export async function scheduleView() {
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

export function saveChoice() {
  const keys = [...document.querySelectorAll("input[name=attendee]:checked")].map((i) => i.value);
  sessionStorage.setItem("attendees", JSON.stringify(keys));
}

export function chosenPeople() {
  const keys = new Set([...document.querySelectorAll("input[name=attendee]:checked")].map((i) => i.value));
  return attendeeChoices().filter((p) => keys.has(p.key));
}

export function otherEmails() {
  const field = $("#other-attendees");
  return (field ? field.value : "").split(",").map((s) => s.trim()).filter((s) => s.includes("@"));
}

export function moveWeek(days) {
  state.weekStart = addDays(state.weekStart, days);
  loadGrid();
}

export async function loadGrid() {
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

export function drawGrid(grid, start, answer, people) {
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

export function spans(startIso, endIso, weekStart) {
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

export function createForm() {
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

export function recurrence(repeats, date, count) {
  const day = new Date(`${date}T00:00:00Z`).toLocaleDateString("en-GB", { weekday: "long", timeZone: "UTC" }).toLowerCase();
  const pattern = {
    daily: { type: "daily", interval: 1 },
    weekly: { type: "weekly", interval: 1, daysOfWeek: [day] },
    monthly: { type: "absoluteMonthly", interval: 1, dayOfMonth: Number(date.slice(8, 10)) },
  }[repeats];
  return { pattern, range: { type: "numbered", numberOfOccurrences: count } };
}

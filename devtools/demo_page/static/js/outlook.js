// Outlook (emulated): any demo person's calendar, through this page's dev server.

import { demo } from "./api.js";
import { $, h } from "./dom.js";
import { loadGrid } from "./schedule.js";
import { state } from "./state.js";
import { wallClockPlus, when } from "./time.js";

export async function loadOutlook() {
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

export function graphUtc(value) {
  return `${value.dateTime.slice(0, 19)}Z`;
}

export function outlookItem(mail, event) {
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
    : [...["accepted", "tentativelyAccepted", "declined"].map((response) => h("button", {
      type: "button", "aria-label": `${{ accepted: "Accept", tentativelyAccepted: "Tentatively accept", declined: "Decline" }[response]} ${subject}`,
      onclick: () => act("Answered", "POST", "/respond", { response }),
    }, { accepted: "Accept", tentativelyAccepted: "Tentative", declined: "Decline" }[response])),
    h("button", { type: "button", "aria-label": `Propose ${subject} 1 hour later`,
      onclick: () => act("Proposed a new time", "POST", "/respond", { response: "tentativelyAccepted", proposedNewTime: shift(60) }) },
    "Propose 1 hour later")];
  buttons.push(h("button", { type: "button", class: "danger", "aria-label": `Delete ${subject} in Outlook`, onclick: () => act("Deleted", "DELETE", "") }, "Delete"));
  const reply = event.isOrganizer ? "organiser" : `reply: ${(event.responseStatus || {}).response || "none"}`;
  return h("li", { dataset: { subject } },
    h("strong", {}, subject),
    h("span", { class: "meta" }, `${when(start, end)} · ${reply}${event.location && event.location.displayName ? ` · ${event.location.displayName}` : ""}`),
    h("div", { class: "actions" }, buttons));
}

export async function newOutlookEvent(event) {
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

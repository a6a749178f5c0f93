// Conversations: the list, and one conversation with its notes, actions, move and cancel.

import { api, problemText } from "./api.js";
import { h, main, notice, put, showError } from "./dom.js";
import { render } from "./router.js";
import { personById, state, TYPES } from "./state.js";
import { addDays, dayLabel, longDate, mondayOf, partsOf, today, wallClockPlus, when } from "./time.js";

export async function conversationsView() {
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

export async function detailView(id) {
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
    c.proposals.length ? proposalsSection(c, organiser) : null,
    recordForms(c),
    organiser && c.status !== "cancelled" ? moveForm(c, etag) : null,
    organiser && c.status !== "cancelled" ? cancelSection(c) : null,
  );
}

export function proposalsSection(c, organiser) {
  const result = h("div", {});
  const answer = (proposal, verb, done) => async () => {
    try {
      await api("POST", `/conversations/${encodeURIComponent(c.id)}/proposals/${encodeURIComponent(proposal.id)}/${verb}`);
      await detailView(c.id);
      main().querySelector("h1").after(notice("good", done));
    } catch (error) {
      result.replaceChildren(notice("bad", error.code === "stale"
        ? "It changed meanwhile (perhaps in Outlook); the page now shows the latest." : problemText(error)));
      if (error.code === "stale") await detailView(c.id);
    }
  };
  return h("section", { "aria-labelledby": "proposals-title" },
    h("h2", { id: "proposals-title" }, "Proposed new times"),
    h("ul", { id: "proposals" }, c.proposals.map((p) => {
      const who = p.name || (personById(p.userId) || {}).name || p.email;
      return h("li", { dataset: { proposal: p.id } },
        h("strong", {}, who), ` proposes ${when(p.start, p.end)}`,
        h("span", { class: "meta" }, ` · ${p.response === "declined" ? "declined" : "tentative"} · proposed ${longDate(p.proposedAt)} at ${partsOf(p.proposedAt, state.zone).time}`),
        organiser ? h("div", { class: "actions" },
          h("button", { type: "button", "aria-label": `Accept ${who}'s proposed time`,
            onclick: answer(p, "accept", "Moved to the proposed time. Outlook follows.") }, "Accept"),
          h("button", { type: "button", class: "secondary", "aria-label": `Dismiss ${who}'s proposed time`,
            onclick: answer(p, "dismiss", "Proposal dismissed; nothing moved.") }, "Dismiss")) : null);
    })),
    result);
}

export function describeRecurrence(r) {
  const count = r.range.type === "numbered" ? `, ${r.range.numberOfOccurrences} times` : "";
  const days = r.pattern.daysOfWeek ? ` on ${r.pattern.daysOfWeek.join(", ")}` : "";
  return `${r.pattern.type}${days}${count}`;
}

export function recordForms(c) {
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

export function moveForm(c, etag) {
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

export function cancelSection(c) {
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

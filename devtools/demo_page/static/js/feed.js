// The changes feed: GET /api/me/changes polled with the cursor of the previous answer.

import { api, problemText } from "./api.js";
import { detailView } from "./conversations.js";
import { $, h } from "./dom.js";
import { loadStatus } from "./session.js";
import { REASONS, state } from "./state.js";
import { longDate, partsOf, when } from "./time.js";

export function describeChange(change) {
  const title = change.title ? `“${change.title}”` : "A conversation";
  switch (change.kind) {
    case "conversation_moved": return `${title} moved in Outlook to ${when(change.start, change.end)}`;
    case "conversation_relocated": return `${title} now at ${change.location.kind === "teams" ? "Microsoft Teams" : change.location.text || "no location"}`;
    case "conversation_cancelled": return `${title} was deleted in Outlook`;
    case "conversation_recurrence_changed": return `${title}: the series was changed in Outlook`;
    case "occurrence_moved": return `One occurrence of ${title} moved in Outlook to ${when(change.start, change.end)}`;
    case "occurrence_relocated": return `One occurrence of ${title} now at ${change.location.kind === "teams" ? "Microsoft Teams" : change.location.text || "no location"}`;
    case "occurrence_cancelled": return `One occurrence of ${title} was cancelled in Outlook`;
    case "rsvp": return `${change.email} ${change.response === "declined" ? "declined" : `answered ${change.response} to`} ${title}`;
    case "guest_added": return `${change.name || change.email} was added to ${title} in Outlook`;
    case "connection_expiring_soon": return `Your Outlook connection must be renewed by ${longDate(change.reconnectBy)}`;
    case "reconnect_required": return `Your Outlook connection must be reconnected (${REASONS[change.reason] || change.reason})`;
    default: return change.kind;
  }
}

export async function readFeed(quiet = false) {
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

// Who you are: the demo person's token, and their Outlook connection's banners.

import { api, demo, problemText } from "./api.js";
import { $, h, main, notice, showError } from "./dom.js";
import { readFeed } from "./feed.js";
import { loadOutlook } from "./outlook.js";
import { REASONS, state } from "./state.js";
import { longDate } from "./time.js";

export async function become(key) {
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

export async function loadStatus() {
  try {
    state.status = (await api("GET", "/me/calendar")).data;
  } catch (error) {
    state.status = null;
    $("#banners").replaceChildren(notice("bad", `The app could not be reached: ${problemText(error)}`));
    return;
  }
  renderBanners();
}

export function renderBanners() {
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

export async function connect() {
  try {
    const started = await api("POST", "/me/calendar/connect", {
      body: { returnUrl: `${location.origin}/settings` },
    });
    location.assign(started.data.authorizationUrl);
  } catch (error) {
    showError(main(), error);
  }
}

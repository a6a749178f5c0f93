// The demo host app's frontend: plain JavaScript modules, no build step, nothing loaded from
// elsewhere. It calls only the function app's public API (see /api/openapi.json), as a real host
// app would; /demo/* is this page's own dev server (the demo people's tokens, their Outlook).

import { demo } from "./api.js";
import { moveClock, showClock } from "./clock.js";
import { $, h, main, notice } from "./dom.js";
import { readFeed } from "./feed.js";
import { loadOutlook, newOutlookEvent } from "./outlook.js";
import { go, render } from "./router.js";
import { become } from "./session.js";
import { state, ZONES } from "./state.js";
import { today } from "./time.js";

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

// The dev clock: moves the app's and the emulator's clock together.

import { demo } from "./api.js";
import { $ } from "./dom.js";
import { render } from "./router.js";
import { loadStatus } from "./session.js";
import { longDate } from "./time.js";

export async function showClock() {
  try {
    const clock = await demo("GET", "/demo/clock");
    const days = Math.round(clock.offset_seconds / 86400);
    $("#clock-now").textContent = `Now: ${longDate(clock.now)}${days ? ` (real time + ${days} days)` : " (real time)"}`;
  } catch (error) {
    $("#clock-now").textContent = `The clock could not be read: ${error.message}`;
  }
}

export async function moveClock(body) {
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

// Times: every time from the API is UTC; the page shows them in the chosen zone.

import { state } from "./state.js";

export function partsOf(iso, zone) {
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

export function dayLabel(date, options = { weekday: "short", day: "numeric", month: "short" }) {
  const [y, m, d] = date.split("-").map(Number);
  return new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", ...options }).format(new Date(Date.UTC(y, m - 1, d)));
}

export function when(startIso, endIso, zone = state.zone) {
  const start = partsOf(startIso, zone);
  const end = partsOf(endIso, zone);
  const day = dayLabel(start.date, { weekday: "short", day: "numeric", month: "short", year: "numeric" });
  const endDay = end.date === start.date ? "" : `${dayLabel(end.date)} `;
  return `${day}, ${start.time}–${endDay}${end.time}`;
}

export function longDate(iso) {
  return new Intl.DateTimeFormat("en-GB", { timeZone: state.zone, day: "numeric", month: "long", year: "numeric" }).format(new Date(iso));
}

export function addDays(date, days) {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

export function mondayOf(date) {
  const [y, m, d] = date.split("-").map(Number);
  const weekday = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return addDays(date, -((weekday + 6) % 7));
}

export function today() {
  return partsOf(new Date().toISOString(), state.zone).date;
}

export function wallClockPlus(date, time, minutes) {
  const [y, m, d] = date.split("-").map(Number);
  const [hh, mm] = time.split(":").map(Number);
  const moved = new Date(Date.UTC(y, m - 1, d, hh, mm + minutes));
  return moved.toISOString().slice(0, 19);
}

export function daysBetween(from, to) {
  const [a, b] = [from, to].map((s) => { const [y, m, d] = s.split("-").map(Number); return Date.UTC(y, m - 1, d); });
  return Math.round((b - a) / 86400000);
}


export function fmtMinutes(minutes) {
  return `${String(Math.floor(minutes / 60) % 24).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

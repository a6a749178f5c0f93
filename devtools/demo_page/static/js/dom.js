// Building the page: elements from data (never HTML strings), notices, error messages.

import { problemText } from "./api.js";

export function h(tag, attrs, ...children) {
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

export const $ = (selector) => document.querySelector(selector);
export const present = (children) => children.flat().filter((c) => c !== null && c !== undefined && c !== false);
export const put = (root, ...children) => root.replaceChildren(...present(children));
export const add = (root, ...children) => root.append(...present(children));
export const main = () => $("#main");

export function notice(kind, text, { live = true } = {}) {
  return h("div", { class: `notice ${kind}`, role: live ? (kind === "bad" ? "alert" : "status") : null }, text);
}

export function showError(where, error) {
  where.prepend(notice("bad", problemText(error)));
}

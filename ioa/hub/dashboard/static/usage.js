// Model use as agents report it on their messages (tokens, model time, coordination vs work,
// local vs cloud, cost where the hub has a price): formatting shared by the accounting list,
// the agent card and the goal view.
import { el } from "./vlist.js";

export function num(n) {
  if (n === null || n === undefined) return "—";
  return Number(n).toLocaleString("en-US");
}

export function seconds(s) {
  if (!s) return "0 s";
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
}

export function cost(c) {
  if (c === null || c === undefined) return "—";
  return c.toFixed(c < 1 ? 4 : 2);
}

// "60 : 40": the shares, in percent, of two token counts (coordination : work, local : cloud).
export function share(a, b) {
  const total = (a || 0) + (b || 0);
  if (!total) return "—";
  const pct = Math.round((100 * a) / total);
  return `${pct} : ${100 - pct}`;
}

// Cells of one summary row (as /v1/dashboard/agents and /goals give it), in the order of the
// accounting columns; `u` may be null (no report yet).
export function summaryCells(u, withCost) {
  const cells = u
    ? [num(u.prompt), num(u.evaluated), num(u.generated), seconds(u.seconds),
      share(u.coordination, u.work), share(u.local, u.cloud)]
    : ["—", "—", "—", "—", "—", "—"];
  if (withCost) cells.push(u ? cost(u.cost) : "—");
  return cells;
}

export const SUMMARY_HEADS = ["prompt tok", "evaluated", "generated", "model time", "coord : work %", "local : cloud %"];

// The full account (a ledger's view): one row per part × side, subtotals where they add
// something, and the total; each row's calls, tokens and model time, and cost when priced.
// `compact` (the agent's card, a narrow panel) drops the calls and shortens the labels.
export function usageTable(view, withCost, { compact = false } = {}) {
  if (!view) return el("p", { class: "hint usage-none" }, "no model use reported");
  const short = (label) => (compact ? label.replace("coordination", "coord") : label);
  const heads = compact ? ["", "prompt", "eval.", "gen.", "time"] : ["", "calls", "prompt", "evaluated", "generated", "model time"];
  const row = (label, s, cls) => el("tr", { class: cls, "data-row": label },
    el("th", {}, short(label)), compact ? null : el("td", {}, num(s.calls)), el("td", { class: "u-prompt" }, num(s.prompt)),
    el("td", { class: "u-evaluated" }, num(s.evaluated)), el("td", { class: "u-generated" }, num(s.generated)),
    el("td", {}, seconds(s.seconds)));
  const rows = view.lines.map((l) => row(`${l.part} · ${l.where}`, l, "line"));
  // a subtotal only where it adds something: a part run on both sides, a side used by both parts
  const count = (key, value) => view.lines.filter((l) => l[key] === value).length;
  const parts = new Set(view.lines.map((l) => l.part)), sides = new Set(view.lines.map((l) => l.where));
  for (const [part, s] of Object.entries(view.parts)) if (parts.size > 1 && count("part", part) > 1) rows.push(row(part, s, "part"));
  for (const [side, s] of Object.entries(view.sides)) if (sides.size > 1 && count("where", side) > 1) rows.push(row(side, s, "side"));
  rows.push(row("total", view.total, "total"));
  return el("div", { class: `usage${compact ? " compact" : ""}` },
    el("table", { class: "usage-table" }, el("thead", {}, el("tr", {}, heads.map((h) => el("th", {}, h)))), el("tbody", {}, rows)),
    withCost ? el("p", { class: "usage-cost" }, `cost ${cost(view.cost)}`) : null);
}

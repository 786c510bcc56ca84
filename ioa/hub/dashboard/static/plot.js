// A grouped bar chart drawn as SVG from a results table: one group of bars per value of the
// `x` column, one bar per value of the `series` column (or one bar), the height the mean of the
// `y` column over the rows that share them. No library: rects, lines and text.

const NS = "http://www.w3.org/2000/svg";
const COLOURS = ["#2563eb", "#15803d", "#b45309", "#7c3aed", "#b91c1c", "#0e7490", "#4d7c0f", "#be185d"];
const W = 680, H = 300, LEFT = 56, RIGHT = 140, TOP = 16, BOTTOM = 48;

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// Columns whose every non-empty cell is a number, and those holding text.
export function columnKinds(table) {
  const numeric = [], text = [];
  table.columns.forEach((name, i) => {
    const cells = table.rows.map((r) => r[i]).filter((v) => v !== null && v !== "" && v !== undefined);
    if (!cells.length) return;
    if (cells.every((v) => typeof v === "number")) numeric.push(name);
    else if (cells.every((v) => typeof v === "string")) text.push(name);
  });
  return { numeric, text };
}

function distinct(table, column) {
  const i = table.columns.indexOf(column);
  return i < 0 ? [] : [...new Set(table.rows.map((r) => String(r[i])))];
}

// A sensible first chart: success (else the first number) by the first text column, split by
// the next text column that has more than one value.
export function defaultAxes(table) {
  const { numeric, text } = columnKinds(table);
  const y = numeric.includes("success") ? "success" : numeric[0];
  const x = text.find((c) => distinct(table, c).length > 1) || text[0];
  const series = text.find((c) => c !== x && distinct(table, c).length > 1) || "";
  return { x, series, y };
}

function niceMax(value) {
  if (value <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

export function barChart(table, { x, series, y }) {
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "plot", role: "img", "aria-label": `${y} by ${x}` });
  const xi = table.columns.indexOf(x), si = series ? table.columns.indexOf(series) : -1, yi = table.columns.indexOf(y);
  if (xi < 0 || yi < 0) {
    root.append(svg("text", { x: 20, y: 30 }, "no column to plot"));
    return root;
  }
  const xs = distinct(table, x), ss = si >= 0 ? distinct(table, series) : [""];
  const sums = new Map();
  for (const row of table.rows) {
    const v = row[yi];
    if (typeof v !== "number") continue;
    const key = `${row[xi]}\u0000${si >= 0 ? row[si] : ""}`;
    const [total, n] = sums.get(key) || [0, 0];
    sums.set(key, [total + v, n + 1]);
  }
  const mean = (k) => { const s = sums.get(k); return s ? s[0] / s[1] : null; };
  const values = [...sums.keys()].map(mean);
  const top = niceMax(Math.max(0, ...values));
  const plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
  const yOf = (v) => TOP + plotH - (Math.max(0, v) / top) * plotH;
  for (let t = 0; t <= 4; t++) {
    const v = (top * t) / 4, ty = yOf(v);
    root.append(svg("line", { x1: LEFT, x2: LEFT + plotW, y1: ty, y2: ty, class: "grid" }));
    root.append(svg("text", { x: LEFT - 6, y: ty + 4, "text-anchor": "end", class: "tick" }, Number(v.toPrecision(3))));
  }
  const groupW = plotW / Math.max(1, xs.length), barW = Math.max(2, (groupW * 0.8) / ss.length);
  xs.forEach((xv, gi) => {
    const gx = LEFT + gi * groupW + groupW * 0.1;
    ss.forEach((sv, k) => {
      const v = mean(`${xv}\u0000${sv}`);
      if (v === null) return;
      const height = Math.max(1, TOP + plotH - yOf(v)); // a zero still shows as a line
      const bar = svg("rect", {
        x: gx + k * barW, y: TOP + plotH - height, width: Math.max(1, barW - 2), height,
        fill: COLOURS[k % COLOURS.length], class: "bar", "data-x": xv, "data-series": sv, "data-value": v,
      });
      bar.append(svg("title", {}, `${x} ${xv}${sv ? `, ${series} ${sv}` : ""}: ${y} ${Number(v.toPrecision(4))}`));
      root.append(bar);
    });
    root.append(svg("text", { x: gx + (groupW * 0.8) / 2, y: TOP + plotH + 16, "text-anchor": "middle", class: "tick" }, xv.slice(0, 18)));
  });
  root.append(svg("line", { x1: LEFT, x2: LEFT + plotW, y1: TOP + plotH, y2: TOP + plotH, class: "axis" }));
  root.append(svg("text", { x: LEFT + plotW / 2, y: H - 8, "text-anchor": "middle", class: "label" }, x));
  root.append(svg("text", { x: 14, y: TOP + plotH / 2, transform: `rotate(-90 14 ${TOP + plotH / 2})`, "text-anchor": "middle", class: "label" }, `${y} (mean)`));
  if (si >= 0) {
    ss.forEach((sv, k) => {
      const ly = TOP + 10 + k * 18;
      root.append(svg("rect", { x: W - RIGHT + 14, y: ly - 9, width: 10, height: 10, fill: COLOURS[k % COLOURS.length] }));
      root.append(svg("text", { x: W - RIGHT + 30, y: ly, class: "legend-text" }, sv.slice(0, 18)));
    });
  }
  return root;
}

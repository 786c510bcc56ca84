// Runs: the result folders of benchmarks and experiments (ioa bench roco / company, ioa lab,
// company runs) under the hub's runs folders, read only: a run's summary and notes, its tables,
// a bar chart drawn here from a table (columns chosen by the person), the plots the run saved,
// and each episode's transcript.
import { VirtualList, el } from "./vlist.js";
import { barChart, columnKinds, defaultAxes } from "./plot.js";
import { messageText } from "./model.js";

const SHOWN_ROWS = 300;
const SHOWN_LINES = 5000;

const query = (root, path) => `root=${root}&path=${encodeURIComponent(path)}`;

export class RunsView {
  constructor({ api }) {
    this.api = api;
    this.openPath = null;
    this.list = new VirtualList(document.getElementById("run-list"), 28, (run) => this.row(run));
  }

  async show() {
    let listing;
    try {
      listing = await this.api.get("/v1/dashboard/runs");
    } catch (error) {
      document.getElementById("runs-roots").textContent = `${error.code}: ${error.message}`;
      return;
    }
    document.getElementById("runs-roots").textContent = "runs folders: " + listing.roots
      .map((r) => `${r.path}${r.exists ? "" : " (none yet)"}`).join(", ") +
      (listing.truncated ? " · the search stopped early: name a narrower folder" : "");
    this.list.setItems(listing.runs);
  }

  row(run) {
    const when = run.written ? new Date(run.written * 1000).toLocaleString() : "";
    return el("div", {
      class: `row-item run${run.path === this.openPath ? " selected" : ""}`,
      "data-run-path": run.path, title: run.path, onclick: () => this.open(run),
    }, run.path, el("span", { class: "pill" }, run.kind), el("span", { class: "pill" }, when));
  }

  async open(run) {
    this.openPath = run.path;
    this.list.refresh();
    const box = document.getElementById("run-detail");
    let detail;
    try {
      detail = await this.api.get(`/v1/dashboard/runs/detail?${query(run.root, run.path)}`);
    } catch (error) {
      box.replaceChildren(el("p", { class: "error" }, `${error.code}: ${error.message}`));
      return;
    }
    this.root = run.root;
    const summary = Object.entries(detail.summary);
    box.replaceChildren(
      el("h3", {}, detail.path, el("span", { class: "pill" }, detail.kind)),
      summary.length ? el("dl", { class: "run-summary" }, summary.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))])) : null,
      detail.notes.length ? el("ul", { class: "run-notes" }, detail.notes.map((n) => el("li", {}, n))) : null,
      detail.problems.map((p) => el("p", { class: "error" }, p)),
      this.tables(detail),
      detail.plots.length ? el("h4", {}, "Plots saved by the run") : null,
      el("div", { class: "run-pngs" }, detail.plots.map((p) => this.png(p))),
      el("h4", {}, `Transcripts (${detail.transcripts.length})`),
      el("div", { class: "run-transcripts" }, detail.transcripts.map((t) =>
        el("a", { href: "#", class: "transcript-link", "data-name": t.name, onclick: (e) => { e.preventDefault(); this.transcript(t.path, t.name); } }, t.name))),
      el("div", { id: "run-transcript", class: "run-transcript" }),
    );
  }

  // The tables, one shown at a time, with a chart of the one shown.
  tables(detail) {
    if (!detail.tables.length) return el("p", { class: "hint" }, "no table in this run");
    const holder = el("div", { class: "run-table-holder" });
    const pick = el("select", { id: "run-table-pick", "aria-label": "table", onchange: () => draw(detail.tables[pick.selectedIndex]) },
      detail.tables.map((t) => el("option", {}, `${t.name} (${t.total} rows)`)));
    const draw = (table) => holder.replaceChildren(this.chart(table), this.table(table));
    draw(detail.tables[0]);
    return el("div", {}, el("h4", {}, "Tables ", pick), holder);
  }

  chart(table) {
    const { numeric, text } = columnKinds(table);
    if (!numeric.length || !text.length) return el("p", { class: "hint" }, "nothing to chart in this table");
    const axes = defaultAxes(table);
    const frame = el("div", { class: "run-plot" });
    const select = (name, options, value, blank) => el("select", {
      class: `plot-${name}`, "aria-label": `chart ${name}`,
      onchange: (e) => { axes[name] = e.target.value; frame.replaceChildren(barChart(table, axes)); },
    }, blank ? el("option", { value: "" }, "(none)") : null,
      options.map((o) => el("option", { value: o, selected: o === value }, o)));
    frame.replaceChildren(barChart(table, axes));
    return el("div", { class: "run-chart" },
      el("div", { class: "row" }, "chart ", select("y", numeric, axes.y), " by ", select("x", text, axes.x),
        " split by ", select("series", text, axes.series, true)),
      frame);
  }

  table(table) {
    const rows = table.rows.slice(0, SHOWN_ROWS);
    const links = table.transcripts || [];
    return el("div", { class: "run-table-wrap" },
      el("table", { class: "run-table", "data-table": table.name },
        el("thead", {}, el("tr", {}, el("th", {}, ""), table.columns.map((c) => el("th", {}, c)))),
        el("tbody", {}, rows.map((row, i) => el("tr", {},
          el("td", {}, links[i] ? el("a", { href: "#", class: "row-transcript", title: "transcript", onclick: (e) => { e.preventDefault(); this.transcript(links[i], links[i].split("/").pop().replace(/\.(txt|jsonl|json)$/, "")); } }, "▸") : ""),
          row.map((v) => el("td", {}, typeof v === "number" ? Number(v.toPrecision(6)) : v === null ? "" : String(v))))))),
      table.total > rows.length ? el("p", { class: "hint" }, `first ${rows.length} of ${table.total} rows`) : null);
  }

  // A saved plot: read with the person's token, shown from a data URL (the page's policy
  // allows no other image source).
  png(plot) {
    const img = el("img", { alt: plot.name, class: "run-png", "data-name": plot.name });
    this.api.raw(`/v1/dashboard/runs/file?${query(this.root, plot.path)}`)
      .then((response) => response.blob())
      .then((blob) => {
        const reader = new FileReader();
        reader.onload = () => { img.src = reader.result; };
        reader.readAsDataURL(blob);
      })
      .catch((error) => img.replaceWith(el("p", { class: "error" }, `${plot.name}: ${error.code || ""} ${error.message}`)));
    return img;
  }

  async transcript(path, name) {
    const box = document.getElementById("run-transcript");
    let text;
    try {
      text = await (await this.api.raw(`/v1/dashboard/runs/file?${query(this.root, path)}`)).text();
    } catch (error) {
      box.replaceChildren(el("p", { class: "error" }, `${error.code}: ${error.message}`));
      return;
    }
    box.dataset.name = name;
    const body = path.endsWith(".jsonl")
      ? el("div", { class: "transcript-lines" }, text.split("\n").filter(Boolean).slice(0, SHOWN_LINES).map(jsonlLine))
      : el("pre", { class: "transcript-text" }, path.endsWith(".json") ? pretty(text) : text);
    box.replaceChildren(el("h4", {}, `Transcript: ${name}`), body);
    box.scrollIntoView({ block: "nearest" });
  }
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 1);
  } catch {
    return text;
  }
}

// One line of a company run's transcript: a stored message, or a record of the run (phase,
// sandbox check) shown as its kind and its fields.
function jsonlLine(line) {
  let item;
  try {
    item = JSON.parse(line);
  } catch {
    return el("div", { class: "tline" }, line);
  }
  if (item && item.payload) {
    return el("div", { class: "tline message" }, `#${item.seq ?? ""} `, el("b", {}, item.payload.type), ` ${item.sender}: ${messageText(item)}`);
  }
  const { kind, ...rest } = item || {};
  return el("div", { class: "tline" }, el("b", {}, kind || "record"), " ", JSON.stringify(rest).slice(0, 400));
}

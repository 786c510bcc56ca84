// Accounting per agent and the live event log: both virtualised lists.
import { VirtualList, el } from "./vlist.js";
import { SUMMARY_HEADS, summaryCells } from "./usage.js";

// One row per agent: what the hub counts (messages, refusals) and what its model used, as the
// agent reports it on its messages (tokens, model time, coordination : work, local : cloud).
export class AccountingView {
  constructor({ app, model }) {
    this.app = app;
    this.model = model;
    this.list = new VirtualList(document.getElementById("acc-list"), 28, (a) => this.row(a));
    model.onChange((change) => {
      if ((change.agents || change.counts.size) && !document.getElementById("view-accounting").hidden) this.show();
    });
  }

  wants() { return ["counts"]; }

  row(a) {
    const withCost = Boolean(this.model.prices);
    return el("div", {
      class: "row-item acc-row", "data-agent-id": a.id,
      onclick: () => { this.app.show("network"); this.app.views.network.card(a.id); },
    }, el("span", {}, a.name), el("span", {}, a.kind_label), el("span", {}, a.online ? "yes" : "no"),
      el("span", {}, a.model || "—"), el("span", { class: "acc-messages" }, a.messages || 0), el("span", {}, a.refusals || 0),
      summaryCells(a.usage, withCost).map((text, i) => el("span", { class: `acc-u${i}` }, text)));
  }

  show() {
    const heads = ["agent", "kind", "online", "model", "messages", "refusals", ...SUMMARY_HEADS];
    const prices = this.model.prices;
    if (prices) heads.push("cost");
    const priced = prices ? Object.entries(prices).filter(([, p]) => p).map(([w, p]) => `${w} ${p.prompt} / ${p.generated}`) : [];
    document.getElementById("acc-prices").textContent = priced.length
      ? `; cost at the hub's prices per 1,000 prompt / generated tokens: ${priced.join(", ")}` : "";
    document.getElementById("acc-head").replaceChildren(...heads.map((h) => el("span", {}, h)));
    const tokens = (a) => (a.usage ? a.usage.tokens : 0);
    const agents = [...this.model.agents.values()].sort((a, b) => (tokens(b) - tokens(a)) || ((b.messages || 0) - (a.messages || 0)));
    this.list.setItems(agents);
  }
}

const KEEP = 5000;

export class EventsView {
  constructor({ model }) {
    this.model = model;
    this.events = [];
    this.list = new VirtualList(document.getElementById("event-list"), 28, (e) => this.row(e));
    model.onChange((change) => {
      for (const e of change.events) this.events.push(...this.entries(e));
      if (this.events.length > KEEP) this.events.splice(0, this.events.length - KEEP);
      if (!document.getElementById("view-events").hidden) this.show();
    });
  }

  // A tick becomes a few lines: agents and conversations that appeared, each refusal, and how
  // many messages were stored meanwhile; a whole message (of the open conversation) one line.
  entries(e) {
    if (e.kind === "message") return [e];
    if (e.kind !== "tick") return [];
    const out = [];
    for (const agent of e.agents) out.push({ kind: "agent", agent });
    for (const group of e.groups) out.push({ kind: "group", group });
    for (const r of e.refusals) out.push({ kind: "refusal", ...r });
    if (e.refusals_more) out.push({ kind: "refusals_more", n: e.refusals_more });
    if (e.messages) out.push({ kind: "stored", n: e.messages, groups: e.conversations });
    return out;
  }

  row(e) {
    const name = (id) => this.model.name(id);
    const time = (ts) => ts ? new Date(ts * 1000).toLocaleTimeString() : "";
    switch (e.kind) {
      case "message":
        return el("div", { class: "row-item" }, `${time(e.ts)} message #${e.seq} ${e.type} from ${name(e.sender)} in ${this.model.groups.get(e.group)?.name || e.group}`);
      case "refusal":
        return el("div", { class: "row-item refusal", "data-code": e.code }, `${time(e.ts)} refused `, el("span", { class: "pill refused" }, e.code), ` ${e.agent ? name(e.agent) : ""} ${e.group ? "in " + (this.model.groups.get(e.group)?.name || e.group) : ""}`);
      case "agent":
        return el("div", { class: "row-item" }, `agent ${e.agent.name} ${e.agent.online ? "online" : "offline"}`);
      case "group":
        return el("div", { class: "row-item" }, `new conversation ${e.group.name || e.group.id}`);
      case "stored":
        return el("div", { class: "row-item stored" }, `${e.n} message${e.n === 1 ? "" : "s"} stored in ${e.groups} conversation${e.groups === 1 ? "" : "s"}`);
      case "refusals_more":
        return el("div", { class: "row-item refusal" }, `and ${e.n} more refusals`);
      default:
        return el("div", { class: "row-item" }, e.kind);
    }
  }

  show() {
    document.getElementById("refusal-counts").replaceChildren("refusals since the hub started: ",
      ...Object.entries(this.model.rejections).map(([code, n]) => el("span", { "data-code": code }, `${code} × ${n}`)));
    this.list.setItems(this.events, { follow: true });
  }
}

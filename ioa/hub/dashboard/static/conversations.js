// Conversations: every group (newest first), and the open one live: each message's type, sender
// and addressees, the phase and whose turn it is, tasks, and the hub's refusals with their codes.
// Only the open conversation's messages come whole (the page tells the hub which one it follows).
import { VirtualList, el } from "./vlist.js";
import { messageText } from "./model.js";
import { SeatPanel } from "./seat.js";

const PAGE = 200;
const HEAD_SOON_MS = 150;
const HEAD_EVERY_MS = 1000;
const LIST_EVERY_MS = 1000;

export class ConversationsView {
  constructor({ app, model, api }) {
    this.app = app;
    this.model = model;
    this.api = api;
    this.openId = null;
    this.messages = [];
    this.filter = "";
    this.seat = new SeatPanel({ app, model, api });
    this.groupList = new VirtualList(document.getElementById("group-list"), 28, (g) => this.groupRow(g));
    this.transcript = new VirtualList(document.getElementById("transcript"), 44, (m) => this.messageRow(m));
    document.getElementById("group-filter").addEventListener("input", (e) => {
      this.filter = e.target.value.toLowerCase();
      this.refreshGroups();
    });
    model.onChange((change) => this.changed(change));
  }

  show() { this.refreshGroups(); }
  wants() { return ["moved"]; }
  loaded() {
    this.refreshGroups();
    if (this.openId) this.open(this.openId, false);
  }

  hidden() { return document.getElementById("view-conversations").hidden; }

  changed(change) {
    // a hidden list is drawn again when shown; heads and phases redraw the rows in view at most
    // once a second (a person reads no faster), a new conversation at once
    if (change.added) this.listStale = true;
    if (change.groups.size || change.added) this.refreshListSoon(change.added);
    if (!this.openId) return;
    const mine = change.messages.filter((m) => m.group === this.openId);
    if (mine.length) {
      const last = this.messages.length ? this.messages[this.messages.length - 1].seq : 0;
      for (const m of mine) if (m.seq > last) this.messages.push(m.envelope);
      this.transcript.setItems(this.messages, { follow: true });
      this.refreshHead();
    } else if (change.groups.has(this.openId)) {
      this.refreshHead();
    }
  }

  refreshListSoon(now) {
    if (this.hidden()) return;
    if (now) {
      clearTimeout(this.listTimer);
      this.listTimer = null;
    }
    if (this.listTimer) return;
    const redraw = () => {
      this.listTimer = null;
      this.listAt = Date.now();
      if (this.hidden()) return;
      if (this.listStale) this.refreshGroups();
      else this.groupList.refresh();
    };
    const wait = now ? 0 : Math.max(0, (this.listAt || 0) + LIST_EVERY_MS - Date.now());
    this.listTimer = setTimeout(redraw, wait);
  }

  refreshGroups() {
    this.listStale = false;
    let groups = [...this.model.groups.values()];
    if (this.filter) {
      groups = groups.filter((g) => `${g.name} ${g.id} ${g.goal || ""} ${g.protocol}`.toLowerCase().includes(this.filter));
    }
    groups.sort((a, b) => b.created_at - a.created_at);
    this.groupList.setItems(groups);
  }

  groupRow(group) {
    const refused = Object.values(group.refusals || {}).reduce((a, b) => a + b, 0);
    return el("div", {
      class: `row-item group${group.id === this.openId ? " selected" : ""}`,
      "data-group-id": group.id,
      onclick: () => this.open(group.id),
    }, group.parent ? "↳ " : "", group.name || group.id,
      el("span", { class: "pill" }, group.phase || group.protocol),
      el("span", { class: "pill" }, `${group.head} msgs`),
      refused ? el("span", { class: "pill refused" }, `${refused} refused`) : null);
  }

  messageRow(envelope) {
    const to = envelope.to.length ? envelope.to.map((id) => this.model.name(id)).join(", ") : "everyone";
    return el("div", { class: "row-item message", "data-seq": envelope.seq, "data-type": envelope.payload.type },
      el("span", { class: "seq" }, `#${envelope.seq} `),
      el("span", { class: `msg-type ${envelope.payload.type}` }, envelope.payload.type),
      ` ${this.model.name(envelope.sender)} → ${to}`,
      el("span", { class: "msg-text" }, messageText(envelope)));
  }

  async open(groupId, switchTab = true) {
    if (switchTab) this.app.show("conversations");
    if (this.openId !== groupId) this.messages = [];
    this.openId = groupId;
    this.groupList.refresh();
    await this.app.followGroup(groupId); // first: nothing said from here on is missed
    if (this.openId !== groupId) return;
    const group = this.model.groups.get(groupId);
    const head = group ? group.head : 0;
    const after = Math.max(0, head - PAGE);
    const page = await this.api.get(`/v1/dashboard/groups/${encodeURIComponent(groupId)}/messages?after=${after}&limit=${PAGE}`);
    if (this.openId !== groupId) return;
    // live messages that arrived while the page loaded are kept, without duplicates
    const bySeq = new Map(page.messages.map((m) => [m.seq, m]));
    for (const m of this.messages) if (m.group === groupId && m.seq > after) bySeq.set(m.seq, m);
    this.messages = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    this.firstLoaded = after + 1;
    this.transcript.setItems(this.messages);
    this.transcript.scrollToIndex(this.messages.length);
    this.refreshHead();
  }

  async earlier() {
    const groupId = this.openId;
    const after = Math.max(0, this.firstLoaded - 1 - PAGE);
    const page = await this.api.get(`/v1/dashboard/groups/${encodeURIComponent(groupId)}/messages?after=${after}&limit=${this.firstLoaded - 1 - after}`);
    if (this.openId !== groupId) return;
    this.messages = [...page.messages, ...this.messages];
    this.firstLoaded = after + 1;
    this.transcript.setItems(this.messages);
    this.transcript.scrollToIndex(page.messages.length);
    this.refreshHead();
  }

  // The head (state, tasks, refusals, the person's moves) is fetched again at most once a
  // second while the conversation is busy: a person reads no faster, and each fetch costs the hub.
  refreshHead() {
    if (this.headTimer) return;
    const wait = Math.max(HEAD_SOON_MS, (this.headAt || 0) + HEAD_EVERY_MS - Date.now());
    this.headTimer = setTimeout(async () => {
      this.headTimer = null;
      this.headAt = Date.now();
      const groupId = this.openId;
      let detail;
      try {
        detail = await this.api.get(`/v1/dashboard/groups/${encodeURIComponent(groupId)}`);
      } catch (error) {
        document.getElementById("conv-head").replaceChildren(el("p", { class: "error" }, `${error.code}: ${error.message}`));
        return;
      }
      if (groupId !== this.openId) return;
      this.renderHead(detail);
      this.seat.refresh(detail);
    }, wait);
  }

  renderHead(group) {
    const state = group.state;
    const name = (id) => this.model.name(id);
    const refusals = Object.entries(group.refusals);
    const parent = group.parent && group.parent.group;
    document.getElementById("conv-head").replaceChildren(el("div", {},
      el("h2", {}, group.name || group.id),
      el("div", {},
        el("span", { class: "pill" }, group.protocol), " ",
        state ? el("span", { class: "phase", "data-phase": state.phase }, `phase: ${state.phase}`) : "plain chat",
        state && state.speaker ? el("span", { class: "turn" }, ` · turn: ${name(state.speaker)}`) : null,
        state ? ` · turns ${state.turns}/${state.max_turns}` : null,
        ` · ${group.head} messages · members: ${group.members.map(name).join(", ")}`),
      group.goal ? el("div", {}, `goal: ${group.goal}`) : null,
      parent ? el("div", {}, "sub-team of ",
        el("a", { href: "#", onclick: (e) => { e.preventDefault(); this.open(parent); } }, this.model.groups.get(parent)?.name || parent),
        group.parent.task_id ? ` (task ${group.parent.task_id})` : "") : null,
      el("div", { class: "refusals" }, `refusals: ${refusals.length ? "" : "none"}`,
        refusals.map(([code, n]) => el("span", { class: "code", "data-code": code }, `${code} × ${n}`))),
      state && state.conclusion ? el("div", { class: "conclusion" }, `conclusion: ${state.conclusion}`) : null,
      this.firstLoaded > 1 ? el("button", { onclick: () => this.earlier() }, `load earlier (${this.firstLoaded - 1} more)`) : null,
    ));
    const tasks = state ? state.tasks : [];
    document.getElementById("conv-tasks").replaceChildren(tasks.length ? el("table", { class: "tasks" },
      el("thead", {}, el("tr", {}, ["task", "mode", "assigner", "assignees", "status", "result"].map((h) => el("th", {}, h)))),
      el("tbody", {}, tasks.map((t) => {
        const subs = [...this.model.groups.values()].filter((g) => g.parent && g.parent.group === group.id && g.parent.task_id === t.id);
        return el("tr", {}, el("td", {}, t.title || t.id), el("td", {}, t.mode), el("td", {}, name(t.assigner)),
          el("td", {}, t.assignees.map(name).join(", ")), el("td", {}, t.status),
          el("td", {}, (t.result || "").slice(0, 200), subs.map((s) => el("a", { href: "#", onclick: (e) => { e.preventDefault(); this.open(s.id); } }, ` sub-team ${s.name}`))));
      }))) : "");
  }
}

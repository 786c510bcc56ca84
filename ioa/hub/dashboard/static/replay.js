// Replay: step through a stored conversation message by message (or play it at a chosen speed);
// at message N the page shows that message, the conversation's state right after it (computed
// by the hub with the same state machine it enforces), and who had talked to whom by then.
import { el } from "./vlist.js";
import { messageText } from "./model.js";

const SVG = "http://www.w3.org/2000/svg";
const WINDOW = 500;

export class ReplayView {
  constructor({ app, model, api }) {
    this.app = app;
    this.model = model;
    this.api = api;
    this.groupId = null;
    this.seq = 0;
    this.head = 0;
    this.window = []; // messages [windowStart+1 .. ] up to the head, loaded on demand
    this.timer = null;
    const $ = (id) => document.getElementById(id);
    this.select = $("replay-group");
    this.select.addEventListener("change", () => this.choose(this.select.value));
    $("replay-first").addEventListener("click", () => this.go(Math.min(1, this.head)));
    $("replay-prev").addEventListener("click", () => this.go(this.seq - 1));
    $("replay-next").addEventListener("click", () => this.go(this.seq + 1));
    $("replay-seq").addEventListener("change", (e) => this.go(Number(e.target.value)));
    $("replay-slider").addEventListener("input", (e) => this.go(Number(e.target.value)));
    $("replay-play").addEventListener("click", () => this.toggle());
  }

  show() {
    const groups = [...this.model.groups.values()].filter((g) => g.head > 0)
      .sort((a, b) => b.created_at - a.created_at).slice(0, 500);
    const chosen = this.groupId || this.app.views.conversations.openId || (groups[0] && groups[0].id);
    this.select.replaceChildren(...groups.map((g) => el("option", { value: g.id, selected: g.id === chosen }, `${g.name || g.id} (${g.head})`)));
    if (chosen && chosen !== this.groupId) this.choose(chosen);
  }

  async choose(groupId) {
    this.stop();
    this.groupId = groupId;
    this.window = [];
    this.windowStart = 0;
    const group = this.model.groups.get(groupId);
    this.head = group ? group.head : 0;
    document.getElementById("replay-slider").max = this.head;
    document.getElementById("replay-seq").max = this.head;
    document.getElementById("replay-of").textContent = `of ${this.head}`;
    await this.go(Math.min(1, this.head));
  }

  async go(seq) {
    if (!this.groupId) return;
    seq = Math.max(0, Math.min(this.head, Math.floor(seq) || 0));
    this.seq = seq;
    document.getElementById("replay-seq").value = seq;
    document.getElementById("replay-slider").value = seq;
    const groupId = this.groupId;
    const [at] = await Promise.all([
      this.api.get(`/v1/dashboard/groups/${encodeURIComponent(groupId)}/replay?seq=${seq}`),
      this.ensureWindow(seq),
    ]);
    if (groupId !== this.groupId || seq !== this.seq) return;
    this.render(at);
  }

  // The messages that led to N, for the network as it was: the last WINDOW before N.
  async ensureWindow(seq) {
    const start = Math.max(0, seq - WINDOW);
    const loadedTo = this.windowStart + this.window.length;
    if (start >= this.windowStart && seq <= loadedTo) return;
    const page = await this.api.get(`/v1/dashboard/groups/${encodeURIComponent(this.groupId)}/messages?after=${start}&limit=${Math.min(1000, Math.max(1, seq - start + WINDOW))}`);
    this.windowStart = start;
    this.window = page.messages;
  }

  render(at) {
    const name = (id) => this.model.name(id);
    const m = at.message;
    const box = document.getElementById("replay-message");
    box.dataset.seq = String(at.seq);
    box.replaceChildren(m
      ? el("div", {}, el("strong", {}, `#${m.seq} ${m.payload.type}`), ` from ${name(m.sender)} to ${m.to.length ? m.to.map(name).join(", ") : "everyone"}`,
        el("div", { class: "replay-text" }, messageText(m)))
      : el("div", {}, "before the first message"));
    const s = at.state;
    document.getElementById("replay-state").replaceChildren(s
      ? el("div", { class: "replay-state", "data-phase": s.phase },
        el("h3", {}, `State after message ${at.seq}`),
        el("p", {}, `phase: ${s.phase}`, s.speaker ? ` · turn: ${name(s.speaker)}` : "", ` · turns ${s.turns}/${s.max_turns}`,
          s.waiting_on.length ? ` · waiting on ${s.waiting_on.join(", ")}` : ""),
        s.tasks.length ? el("table", { class: "tasks" },
          el("thead", {}, el("tr", {}, ["task", "assignees", "status", "result"].map((h) => el("th", {}, h)))),
          el("tbody", {}, s.tasks.map((t) => el("tr", {}, el("td", {}, t.title || t.id),
            el("td", {}, t.assignees.map(name).join(", ")), el("td", {}, t.status), el("td", {}, (t.result || "").slice(0, 200)))))) : null,
        s.conclusion ? el("p", {}, `conclusion: ${s.conclusion}`) : null)
      : el("p", {}, `plain chat: ${at.seq} messages so far`));
    this.drawNet(m);
  }

  drawNet(current) {
    const svg = document.getElementById("replay-net");
    const group = this.model.groups.get(this.groupId);
    const members = group ? group.members : [];
    const pos = new Map();
    members.forEach((id, i) => {
      const a = (i / Math.max(1, members.length)) * Math.PI * 2 - Math.PI / 2;
      pos.set(id, { x: 150 + 110 * Math.cos(a), y: 150 + 110 * Math.sin(a) });
    });
    const counts = new Map();
    for (const m of this.window) {
      if (m.seq > this.seq) break;
      for (const to of m.to.length ? m.to : members.filter((x) => x !== m.sender)) {
        const key = `${m.sender}\u0000${to}`;
        counts.set(key, (counts.get(key) || 0) + 1);
      }
    }
    const nodes = [];
    for (const [key, n] of counts) {
      const [f, t] = key.split("\u0000");
      const a = pos.get(f), b = pos.get(t);
      if (!a || !b) continue;
      const hot = current && current.sender === f && (current.to.length ? current.to.includes(t) : true);
      const line = document.createElementNS(SVG, "line");
      for (const [k, v] of Object.entries({ x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: hot ? "#f59e0b" : "#93b4f5", "stroke-width": hot ? 3 : Math.min(4, 0.5 + n / 3) })) line.setAttribute(k, v);
      nodes.push(line);
    }
    for (const [id, p] of pos) {
      const c = document.createElementNS(SVG, "circle");
      for (const [k, v] of Object.entries({ cx: p.x, cy: p.y, r: 7, fill: current && current.sender === id ? "#f59e0b" : "#15803d" })) c.setAttribute(k, v);
      const t = document.createElementNS(SVG, "text");
      for (const [k, v] of Object.entries({ x: p.x + 9, y: p.y + 4, "font-size": 11 })) t.setAttribute(k, v);
      t.textContent = this.model.name(id).slice(0, 18);
      nodes.push(c, t);
    }
    svg.replaceChildren(...nodes);
  }

  toggle() {
    if (this.timer) { this.stop(); return; }
    const speed = Number(document.getElementById("replay-speed").value);
    document.getElementById("replay-play").textContent = "Pause";
    this.timer = setInterval(() => {
      if (this.seq >= this.head) this.stop(); else this.go(this.seq + 1);
    }, 1000 / speed);
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    document.getElementById("replay-play").textContent = "Play";
  }
}

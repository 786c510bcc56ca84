// The network: agents as dots (kind by shape, online by colour), teams as dashed clusters,
// edges by who talks to whom. Drawn on a canvas (1,000 nodes are one draw call each), redrawn
// only when something changed; the list beside it is the same data for people and tests.
import { VirtualList, el } from "./vlist.js";
import { usageTable } from "./usage.js";

const EDGE_REDRAW_MS = 1000;
const KIND_SHAPE = { llm: "circle", tool: "square", scripted: "diamond", human: "triangle", remote: "ring" };

export class NetworkView {
  constructor({ app, model, api }) {
    this.app = app;
    this.model = model;
    this.api = api;
    this.canvas = document.getElementById("net");
    this.positions = new Map();
    this.clusters = [];
    this.selected = null;
    this.filter = "";
    this.list = new VirtualList(document.getElementById("agent-list"), 28, (agent) => this.row(agent));
    document.getElementById("agent-filter").addEventListener("input", (e) => {
      this.filter = e.target.value.toLowerCase();
      this.refreshList();
    });
    this.canvas.addEventListener("click", (e) => this.click(e));
    model.onChange((change) => {
      if (change.agents || change.added) {
        this.layoutStale = true;
        this.layersStale = true;
        if (!this.hidden()) this.redraw();
        if (change.agents && !this.hidden()) this.refreshList(); // else when shown
      } else if (change.edges && !this.edgeTimer) {
        // busier edges only thicken lines: once a second is enough, and costs a page far less
        this.edgeTimer = setTimeout(() => {
          this.edgeTimer = null;
          if (!document.getElementById("view-network").hidden) this.redraw();
        }, EDGE_REDRAW_MS);
      }
      if (this.selected && change.counts.has(this.selected)) this.card(this.selected);
    });
    new ResizeObserver(() => { this.layoutStale = true; this.redraw(); }).observe(this.canvas);
  }

  show() { this.layoutStale = true; this.redraw(); this.refreshList(); }
  // an open card shows the agent's counts: they come only while it is open
  wants() { return this.selected ? ["counts", "edges"] : ["edges"]; }
  hidden() { return document.getElementById("view-network").hidden; }
  loaded() { this.layoutStale = true; this.redraw(); this.refreshList(); }

  refreshList() {
    let agents = [...this.model.agents.values()];
    if (this.filter) {
      agents = agents.filter((a) => `${a.name} ${a.id} ${a.kind_label} ${a.model || ""}`.toLowerCase().includes(this.filter));
    }
    agents.sort((a, b) => (b.online - a.online) || a.name.localeCompare(b.name));
    this.list.setItems(agents);
    const online = agents.filter((a) => a.online).length;
    document.getElementById("net-counts").textContent =
      ` · ${this.model.agents.size} agents, ${online} online, ${this.model.groups.size} teams`;
  }

  row(agent) {
    return el("div", {
      class: `row-item agent${agent.id === this.selected ? " selected" : ""}`,
      "data-agent-id": agent.id,
      "data-online": agent.online ? "true" : "false",
      onclick: () => this.card(agent.id),
    }, agent.name,
      el("span", { class: `pill${agent.online ? " online" : ""}` }, agent.online ? "online" : "offline"),
      el("span", { class: "pill" }, agent.kind_label),
      agent.model ? el("span", { class: "pill" }, agent.model) : null);
  }

  // Clusters on a grid, one per team (the newest 400 with members; the rest are drawn by their
  // members alone); each agent sits in its first team's cluster, loners in the last cell.
  layout() {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, rect.width * dpr);
    this.canvas.height = Math.max(1, rect.height * dpr);
    this.scale = dpr;
    const groups = [...this.model.groups.values()].filter((g) => g.members.length)
      .sort((a, b) => b.created_at - a.created_at).slice(0, 400);
    const home = new Map();
    for (const group of groups) for (const m of group.members) if (!home.has(m)) home.set(m, group.id);
    const buckets = new Map(groups.map((g) => [g.id, []]));
    const loners = [];
    for (const agent of this.model.agents.values()) {
      const g = home.get(agent.id);
      if (g) buckets.get(g).push(agent.id); else loners.push(agent.id);
    }
    const cells = [...groups.filter((g) => buckets.get(g.id).length).map((g) => ({ group: g, ids: buckets.get(g.id) }))];
    if (loners.length) cells.push({ group: null, ids: loners });
    const w = rect.width, h = rect.height;
    const cols = Math.max(1, Math.ceil(Math.sqrt(cells.length * w / Math.max(h, 1))));
    const rows = Math.max(1, Math.ceil(cells.length / cols));
    const cw = w / cols, ch = h / rows;
    this.positions.clear();
    this.clusters = [];
    cells.forEach((cell, i) => {
      const cx = (i % cols + 0.5) * cw, cy = (Math.floor(i / cols) + 0.5) * ch;
      const radius = Math.min(cw, ch) * 0.36;
      const n = cell.ids.length;
      cell.ids.sort();
      cell.ids.forEach((id, k) => {
        // a sunflower spiral fills the cell evenly however many members
        const r = n === 1 ? 0 : radius * Math.sqrt((k + 0.5) / n);
        const a = k * 2.39996;
        this.positions.set(id, { x: cx + r * Math.cos(a), y: cy + r * Math.sin(a) });
      });
      this.clusters.push({ group: cell.group, x: cx, y: cy, r: radius + 10 });
    });
    this.nodeSize = Math.max(2, Math.min(9, Math.sqrt((w * h) / Math.max(1, this.model.agents.size)) / 5));
    this.layoutStale = false;
    this.layersStale = true;
  }

  redraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      if (this.layoutStale) this.layout();
      this.draw();
    });
  }

  // Teams (under the edges) and agents (over them) change only with the layout, presence or the
  // selection: they are drawn once into two layers, so busier edges redraw lines and two blits.
  draw() {
    if (this.layersStale !== false || !this.under) this.drawLayers();
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.drawImage(this.under, 0, 0);
    ctx.setTransform(this.scale, 0, 0, this.scale, 0, 0);
    // edges: the busiest first, at most 3,000 drawn
    const edges = [...this.model.edges.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3000);
    const max = edges.length ? edges[0][1] : 1;
    for (const [key, n] of edges) {
      const [from, to] = key.split("\u0000");
      const a = this.positions.get(from);
      let b = this.positions.get(to);
      if (!b) {
        const cluster = this.clusters.find((c) => c.group && c.group.id === to);
        if (cluster) b = cluster;
      }
      if (!a || !b) continue;
      ctx.strokeStyle = `rgba(37,99,235,${0.15 + 0.6 * n / max})`;
      ctx.lineWidth = 0.5 + 2.5 * n / max;
      ctx.beginPath();
      ctx.moveTo(a.x, a.y);
      ctx.lineTo(b.x, b.y);
      ctx.stroke();
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.over, 0, 0);
    this.canvas.dataset.nodes = String(this.positions.size);
  }

  layer(name) {
    const layer = this[name] || (this[name] = document.createElement("canvas"));
    layer.width = this.canvas.width;
    layer.height = this.canvas.height;
    const ctx = layer.getContext("2d");
    ctx.setTransform(this.scale, 0, 0, this.scale, 0, 0);
    ctx.font = "11px system-ui";
    return ctx;
  }

  drawLayers() {
    this.layersStale = false;
    let ctx = this.layer("under");
    for (const c of this.clusters) {
      if (!c.group) continue;
      ctx.setLineDash([4, 3]);
      ctx.strokeStyle = c.group.parent ? "#a78bfa" : "#99a";
      ctx.beginPath();
      ctx.arc(c.x, c.y, c.r, 0, Math.PI * 2);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = "#667";
      if (this.clusters.length < 80) ctx.fillText(c.group.name.slice(0, 30), c.x - c.r, c.y - c.r - 3);
    }
    ctx = this.layer("over");
    ctx.lineWidth = 1;
    const s = this.nodeSize;
    for (const agent of this.model.agents.values()) {
      const p = this.positions.get(agent.id);
      if (!p) continue;
      ctx.fillStyle = agent.online ? "#15803d" : "#aab";
      ctx.strokeStyle = agent.id === this.selected ? "#f59e0b" : "#fff";
      this.shape(ctx, KIND_SHAPE[agent.kind] || "circle", p.x, p.y, s);
      if (this.model.agents.size <= 60) {
        ctx.fillStyle = "#334";
        ctx.fillText(agent.name.slice(0, 24), p.x + s + 2, p.y + 4);
      }
    }
  }

  shape(ctx, kind, x, y, s) {
    ctx.beginPath();
    if (kind === "square") ctx.rect(x - s, y - s, 2 * s, 2 * s);
    else if (kind === "diamond") { ctx.moveTo(x, y - s); ctx.lineTo(x + s, y); ctx.lineTo(x, y + s); ctx.lineTo(x - s, y); ctx.closePath(); }
    else if (kind === "triangle") { ctx.moveTo(x, y - s); ctx.lineTo(x + s, y + s); ctx.lineTo(x - s, y + s); ctx.closePath(); }
    else ctx.arc(x, y, s, 0, Math.PI * 2);
    ctx.fill();
    ctx.stroke();
    if (kind === "ring") { ctx.beginPath(); ctx.arc(x, y, s + 3, 0, Math.PI * 2); ctx.stroke(); }
  }

  click(event) {
    const rect = this.canvas.getBoundingClientRect();
    const x = event.clientX - rect.left, y = event.clientY - rect.top;
    let best = null, bestD = (this.nodeSize + 6) ** 2;
    for (const [id, p] of this.positions) {
      const d = (p.x - x) ** 2 + (p.y - y) ** 2;
      if (d < bestD) { best = id; bestD = d; }
    }
    if (best) this.card(best);
  }

  async card(id) {
    if (this.selected !== id) {
      this.selected = id;
      this.layersStale = true;
      this.app.steer();
    }
    this.redraw();
    this.list.refresh();
    const box = document.getElementById("card");
    let agent;
    try {
      agent = await this.api.get(`/v1/dashboard/agents/${encodeURIComponent(id)}`);
    } catch (error) {
      box.replaceChildren(el("p", { class: "error" }, `${error.code}: ${error.message}`));
      return;
    }
    const acc = agent.accounting;
    const byType = acc ? Object.entries(acc.by_type).map(([t, n]) => `${t} ${n}`).join(", ") : "";
    const refusals = acc ? Object.entries(acc.refusals).map(([c, n]) => `${c} ${n}`).join(", ") : "";
    box.replaceChildren(
      el("h3", {}, agent.name),
      el("h4", {}, "Model use (as the agent reports it)"),
      usageTable(agent.usage, Boolean(this.model.prices), { compact: true }),
      el("dl", {},
        el("dt", {}, "id"), el("dd", {}, agent.id),
        el("dt", {}, "kind"), el("dd", {}, agent.kind_label),
        el("dt", {}, "online"), el("dd", {}, agent.online ? "yes" : "no"),
        el("dt", {}, "model"), el("dd", {}, agent.model || "—"),
        el("dt", {}, "device"), el("dd", {}, agent.device || "—"),
        el("dt", {}, "skills"), el("dd", {}, agent.card.skills.map((s) => s.name).join(", ") || "—"),
        el("dt", {}, "messages"), el("dd", { class: "acc-messages" }, acc ? `${acc.messages} (${byType})` : "0"),
        el("dt", {}, "bytes"), el("dd", {}, acc ? acc.bytes : 0),
        el("dt", {}, "received"), el("dd", {}, acc ? acc.received : 0),
        el("dt", {}, "refusals"), el("dd", {}, refusals || "none")),
      el("p", {}, agent.card.description),
      el("h4", {}, `Conversations (${agent.groups.length})`),
      el("ul", {}, agent.groups.slice(0, 50).map((g) => el("li", {},
        el("a", { href: "#", class: "open-group", onclick: (e) => { e.preventDefault(); this.app.views.conversations.open(g.id); } },
          `${g.name || g.id} · ${g.phase || g.protocol}`)))),
    );
  }
}

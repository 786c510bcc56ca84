// Goals: post one from the page (the hub finds a lead, or the roster given), follow it to its
// conclusion. The goal is posted through the hub's own `POST /v1/goals` with the person's token.
// Each goal shows what its teams' models used; a goal opened shows it by part, side and agent.
import { el } from "./vlist.js";
import { cost, num, seconds, share, usageTable } from "./usage.js";

export class GoalsView {
  constructor({ app, model, api }) {
    this.app = app;
    this.model = model;
    this.api = api;
    document.getElementById("goal-form").addEventListener("submit", (e) => { e.preventDefault(); this.post(); });
    model.onChange((change) => {
      if (document.getElementById("view-goals").hidden) return;
      const relevant = [...change.groups].some((id) => this.model.groups.get(id)?.goal_id);
      if (relevant) this.refresh();
      else if (change.goals.size) {
        this.draw();
        if (this.openId && change.goals.has(this.openId)) this.detail(this.openId);
      }
    });
  }

  show() { this.refresh(); }
  wants() { return ["goals", "moved"]; }

  resolve(text) {
    const wanted = text.split(",").map((s) => s.trim()).filter(Boolean);
    return wanted.map((w) => {
      if (this.model.agents.has(w)) return w;
      const found = [...this.model.agents.values()].find((a) => a.name === w);
      if (!found) throw new Error(`no agent named ${w}`);
      return found.id;
    });
  }

  async post() {
    const error = document.getElementById("goal-error");
    error.textContent = "";
    const body = {
      goal: document.getElementById("goal-text").value.trim(),
      max_turns: Number(document.getElementById("goal-turns").value) || 24,
    };
    try {
      if (document.querySelector("input[name=team]:checked").value === "roster") {
        body.roster = this.resolve(document.getElementById("goal-roster").value);
      }
      await this.api.post("/v1/goals", body);
    } catch (e) {
      error.textContent = e.code ? `${e.code}: ${e.message}` : e.message;
      return;
    }
    document.getElementById("goal-text").value = "";
    this.refresh();
  }

  async refresh() {
    if (this.busy) return;
    this.busy = true;
    try {
      const page = await this.api.get("/v1/dashboard/goals?limit=100");
      for (const g of page.goals) if (g.usage) this.model.goalUsage.set(g.id, g.usage);
      this.goals = page.goals;
      this.draw();
      if (this.openId) await this.detail(this.openId);
    } finally {
      this.busy = false;
    }
  }

  // The table from what was loaded, with each goal's model use as the last tick left it.
  draw() {
    const withCost = Boolean(this.model.prices);
    document.querySelector("#view-goals .cost-col").hidden = !withCost;
    const tbody = document.querySelector("#goal-table tbody");
    tbody.replaceChildren(...(this.goals || []).map((g) => {
      const u = this.model.goalUsage.get(g.id) || null;
      return el("tr", { "data-goal-id": g.id, "data-status": g.status, class: g.id === this.openId ? "selected" : null },
        el("td", {}, el("a", { href: "#", class: "goal-open", onclick: (e) => { e.preventDefault(); this.detail(g.id); } }, g.goal)),
        el("td", { class: "goal-status" }, g.status),
        el("td", {}, el("a", { href: "#", class: "goal-group", onclick: (e) => { e.preventDefault(); this.app.views.conversations.open(g.group); } }, this.model.groups.get(g.group)?.name || g.group)),
        el("td", {}, g.conclusion || ""),
        el("td", { class: "goal-tokens" }, u ? num(u.tokens) : "—"),
        el("td", {}, u ? seconds(u.seconds) : "—"),
        el("td", {}, u ? share(u.coordination, u.work) : "—"),
        withCost ? el("td", { class: "goal-cost" }, u ? cost(u.cost) : "—") : null);
    }));
  }

  // One goal: what its teams' models used (by part and side), who used it, and its groups.
  async detail(goalId) {
    this.openId = goalId;
    const box = document.getElementById("goal-detail");
    let goal;
    try {
      goal = await this.api.get(`/v1/dashboard/goals/${encodeURIComponent(goalId)}`);
    } catch (error) {
      box.replaceChildren(el("p", { class: "error" }, `${error.code}: ${error.message}`));
      return;
    }
    for (const row of document.querySelectorAll("#goal-table tbody tr")) {
      row.classList.toggle("selected", row.dataset.goalId === goalId);
    }
    const withCost = Boolean(goal.prices);
    const heads = ["agent", "tokens", "prompt", "generated", "model time", "coord : work %", "local : cloud %"];
    if (withCost) heads.push("cost");
    box.replaceChildren(
      el("h3", {}, goal.goal),
      el("p", {}, `${goal.status}${goal.history_counted ? "" : " · still counting history"}`),
      el("h4", {}, "Model use"),
      usageTable(goal.usage, withCost),
      el("h4", {}, "By agent"),
      el("table", { class: "usage-table goal-agents" },
        el("thead", {}, el("tr", {}, heads.map((h) => el("th", {}, h)))),
        el("tbody", {}, goal.agents.map((a) => el("tr", { "data-agent-id": a.id },
          el("td", {}, a.name), el("td", {}, num(a.tokens)), el("td", {}, num(a.prompt)), el("td", {}, num(a.generated)), el("td", {}, seconds(a.seconds)),
          el("td", {}, share(a.coordination, a.work)), el("td", {}, share(a.local, a.cloud)),
          withCost ? el("td", {}, cost(a.cost)) : null)))),
      el("h4", {}, `Teams (${goal.groups.length})`),
      el("ul", {}, goal.groups.map((g) => el("li", {},
        el("a", { href: "#", onclick: (e) => { e.preventDefault(); this.app.views.conversations.open(g.id); } },
          `${g.parent ? "↳ " : ""}${g.name || g.id} · ${g.phase || g.protocol} · ${g.head} msgs`)))));
  }
}

// Goals: post one from the page (the hub finds a lead, or the roster given), follow it to its
// conclusion. The goal is posted through the hub's own `POST /v1/goals` with the person's token.
import { el } from "./vlist.js";

export class GoalsView {
  constructor({ app, model, api }) {
    this.app = app;
    this.model = model;
    this.api = api;
    document.getElementById("goal-form").addEventListener("submit", (e) => { e.preventDefault(); this.post(); });
    model.onChange((change) => {
      const relevant = [...change.groups].some((id) => this.model.groups.get(id)?.goal_id);
      if (relevant && !document.getElementById("view-goals").hidden) this.refresh();
    });
  }

  show() { this.refresh(); }

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
      const tbody = document.querySelector("#goal-table tbody");
      tbody.replaceChildren(...page.goals.map((g) => el("tr", { "data-goal-id": g.id, "data-status": g.status },
        el("td", {}, g.goal), el("td", { class: "goal-status" }, g.status),
        el("td", {}, el("a", { href: "#", class: "goal-group", onclick: (e) => { e.preventDefault(); this.app.views.conversations.open(g.group); } }, this.model.groups.get(g.group)?.name || g.group)),
        el("td", {}, g.conclusion || ""))));
    } finally {
      this.busy = false;
    }
  }
}

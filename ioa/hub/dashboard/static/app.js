// The dashboard's entry: sign in with a person's token, load a snapshot, follow the event stream
// (hub summaries every tick, and whole messages of the one conversation the page has open).
import { Api, ApiError } from "./api.js";
import { Model } from "./model.js";
import { NetworkView } from "./network.js";
import { ConversationsView } from "./conversations.js";
import { ReplayView } from "./replay.js";
import { GoalsView } from "./goals.js";
import { AccountingView, EventsView } from "./lists.js";
import { RunsView } from "./runs.js";

const TOKEN_KEY = "ioa-dashboard-token";
const $ = (id) => document.getElementById(id);

class App {
  constructor() {
    this.model = new Model();
    this.api = null;
    this.queue = [];
    this.flushTimer = null;
    this.abort = null;
    this.views = {};
    this.current = "network";
    this.streamReady = null; // resolves with the current stream's id once the hub named it
  }

  start() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.get("token")) {
      sessionStorage.setItem(TOKEN_KEY, fragment.get("token"));
      history.replaceState(null, "", location.pathname + location.search);
    }
    $("signin-form").addEventListener("submit", (e) => {
      e.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
      $("token").value = "";
      this.signIn();
    });
    $("signout").addEventListener("click", () => this.signOut(""));
    for (const button of document.querySelectorAll("#tabs button")) {
      button.addEventListener("click", () => this.show(button.dataset.view));
    }
    if (sessionStorage.getItem(TOKEN_KEY)) this.signIn();
  }

  async signIn() {
    this.api = new Api(sessionStorage.getItem(TOKEN_KEY));
    let me;
    try {
      me = await this.api.get("/v1/dashboard/me");
    } catch (error) {
      this.signOut(error instanceof ApiError ? `${error.code}: ${error.message}` : String(error));
      return;
    }
    $("signin").hidden = true;
    $("main").hidden = false;
    $("tabs").hidden = false;
    $("signout").hidden = false;
    this.me = me;
    $("who").textContent = `watching as ${me.name}`;
    const ctx = { app: this, model: this.model, api: this.api };
    this.views = {
      network: new NetworkView(ctx),
      conversations: new ConversationsView(ctx),
      replay: new ReplayView(ctx),
      goals: new GoalsView(ctx),
      accounting: new AccountingView(ctx),
      events: new EventsView(ctx),
      runs: new RunsView(ctx),
    };
    this.model.onChange((change) => {
      if (change.reload) this.reload();
    });
    this.follow();
    this.show(this.current);
  }

  signOut(why) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (this.abort) this.abort.abort();
    if (this.api) location.hash = "";
    this.api = null;
    this.model.reset();
    $("main").hidden = true;
    $("tabs").hidden = true;
    $("signout").hidden = true;
    $("signin").hidden = false;
    $("who").textContent = "";
    $("signin-error").textContent = why;
    this.status("not signed in", "");
    if (why === "" && Object.keys(this.views).length) location.reload();
  }

  status(text, cls) {
    $("status").textContent = text;
    $("status").className = `status ${cls}`;
  }

  show(name) {
    this.current = name;
    for (const button of document.querySelectorAll("#tabs button")) {
      button.classList.toggle("active", button.dataset.view === name);
    }
    for (const [key, view] of Object.entries(this.views)) {
      $(`view-${key}`).hidden = key !== name;
      if (key === name) view.show();
    }
  }

  // Which conversation this page has open: the hub then sends its messages whole to this page's
  // stream (the rest of the hub arrives as summaries). Resolves once the hub knows.
  async followGroup(groupId) {
    const stream = await this.streamReady;
    try {
      await this.api.post(`/v1/dashboard/events/${encodeURIComponent(stream)}/follow`, { group: groupId });
    } catch (error) {
      // the stream ended meanwhile: the next one loads again and re-opens the conversation
      if (!(error instanceof ApiError) || error.status !== 404) throw error;
    }
  }

  // Subscribe first, then load: an event that arrives during the load is applied after it.
  async follow() {
    for (;;) {
      this.abort = new AbortController();
      let loaded = false;
      const early = [];
      let named;
      this.streamReady = new Promise((resolve) => { named = resolve; });
      const streaming = this.api.stream((event) => {
        if (event.kind === "ready") named(event.stream);
        else if (!loaded) early.push(event);
        else this.enqueue(event);
      }, this.abort.signal);
      try {
        await Promise.race([this.load(), streaming.then(() => { throw new Error("stream ended"); })]);
        loaded = true;
        this.status("live", "live");
        for (const event of early) this.enqueue(event);
        await streaming;
      } catch (error) {
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
          this.signOut(`${error.code}: ${error.message}`);
          return;
        }
        if (!this.api) return;
      }
      this.status("reconnecting…", "down");
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (!this.api) return;
    }
  }

  async reload() {
    if (this.abort) this.abort.abort();
  }

  async load() {
    const model = this.model;
    model.reset();
    const overview = await this.api.get("/v1/dashboard/overview");
    model.rejections = overview.rejections;
    model.prices = overview.prices;
    for (let offset = 0; ; offset += 1000) {
      const page = await this.api.get(`/v1/dashboard/agents?limit=1000&offset=${offset}`);
      for (const agent of page.agents) model.agents.set(agent.id, agent);
      if (offset + 1000 >= page.total) break;
    }
    for (let offset = 0; offset < 20000; offset += 1000) {
      const page = await this.api.get(`/v1/dashboard/groups?limit=1000&offset=${offset}`);
      for (const group of page.groups) model.groups.set(group.id, group);
      if (offset + 1000 >= page.total) break;
    }
    const edges = await this.api.get("/v1/dashboard/edges?limit=5000");
    for (const edge of edges.edges) model.addEdge(edge.from, edge.to, edge.messages);
    model.apply([]);
    for (const view of Object.values(this.views)) view.loaded?.();
  }

  enqueue(event) {
    this.queue.push(event);
    if (this.flushTimer === null) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        const batch = this.queue;
        this.queue = [];
        this.model.apply(batch);
      }, 40);
    }
  }
}

new App().start();

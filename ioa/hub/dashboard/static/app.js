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
    this.following = null; // the conversation this page has open, whose messages come whole
    this.steered = null; // what the current stream was last told: {stream, group, want}
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
    this.steer();
  }

  // The tick's sections the view on screen shows (the hub sends only those, and what every view
  // needs: presence, new groups, refusals).
  wants() {
    const view = this.views[this.current];
    return view && view.wants ? [...view.wants()].sort() : [];
  }

  // Which conversation this page has open: the hub then sends its messages whole to this page's
  // stream (the rest of the hub arrives as summaries). Resolves once the hub knows.
  async followGroup(groupId) {
    this.following = groupId;
    await this.steer();
  }

  // Tell the hub what this page shows: the conversation it follows and the sections of a tick
  // its view needs. A section the stream did not carry until now is loaded afresh first (the
  // ticks from here on bring its changes).
  steer() {
    // one at a time, in order; a failed one does not stop the next
    this.steering = (this.steering || Promise.resolve()).catch(() => {}).then(() => this.steerNow());
    return this.steering;
  }

  async steerNow() {
    const stream = await this.streamReady;
    const want = this.wants();
    const last = this.steered && this.steered.stream === stream ? this.steered : { group: null, want: ["edges"] };
    if (last.group === this.following && last.want.join() === want.join()) return;
    this.steered = { stream, group: this.following, want };
    try {
      await this.api.post(`/v1/dashboard/events/${encodeURIComponent(stream)}/follow`, { group: this.following, want });
    } catch (error) {
      // the stream ended meanwhile: the next one loads again and steers again
      if (!(error instanceof ApiError) || error.status !== 404) {
        this.steered = last.stream ? last : null; // not told: the next steer tries again
        throw error;
      }
      return;
    }
    const added = want.filter((s) => !last.want.includes(s));
    if (added.length) await this.resync(added);
  }

  // Bring the model's copy of sections the stream did not carry up to date (the newer of the
  // snapshot's and the ticks' values wins: both only grow).
  async resync(sections) {
    const model = this.model;
    if (sections.includes("moved")) {
      for (const group of await this.pages("groups", 20000)) {
        const known = model.groups.get(group.id);
        model.groups.set(group.id, known ? { ...known, ...group, head: Math.max(known.head, group.head) } : group);
      }
    }
    if (sections.includes("counts")) {
      for (const agent of await this.pages("agents", Infinity)) {
        const known = model.agents.get(agent.id);
        if (known) Object.assign(known, { messages: Math.max(known.messages || 0, agent.messages), refusals: agent.refusals, usage: agent.usage });
      }
    }
    if (sections.includes("edges")) {
      for (const edge of (await this.api.get("/v1/dashboard/edges?limit=5000")).edges) {
        const key = `${edge.from}\u0000${edge.to}`;
        model.edges.set(key, Math.max(model.edges.get(key) || 0, edge.messages));
      }
    }
    model.apply([]);
    this.views[this.current]?.show();
  }

  // Every row of a paged list (`agents` or `groups`), up to `most`.
  async pages(kind, most) {
    const rows = [];
    for (let offset = 0; offset < most; offset += 1000) {
      const page = await this.api.get(`/v1/dashboard/${kind}?limit=1000&offset=${offset}`);
      rows.push(...page[kind]);
      if (offset + 1000 >= page.total) break;
    }
    return rows;
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
        this.steer();
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
    for (const agent of await this.pages("agents", Infinity)) model.agents.set(agent.id, agent);
    for (const group of await this.pages("groups", 20000)) model.groups.set(group.id, group);
    const edges = await this.api.get("/v1/dashboard/edges?limit=5000");
    for (const edge of edges.edges) model.addEdge(edge.from, edge.to, edge.messages);
    model.apply([]);
    for (const view of Object.values(this.views)) view.loaded?.();
  }

  // The hub writes once per tick; the reads of one write are applied together (one redraw).
  enqueue(event) {
    this.queue.push(event);
    if (this.flushTimer === null) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        const batch = this.queue;
        this.queue = [];
        this.model.apply(batch);
      }, 10);
    }
  }
}

new App().start();

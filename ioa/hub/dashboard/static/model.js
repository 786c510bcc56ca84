// What the page knows of the hub: agents, groups, who talks to whom. Filled from REST, then kept
// current by the event stream's ticks; events are applied in batches (one redraw per batch).

export class Model {
  constructor() {
    this.agents = new Map(); // id -> node {id, name, kind, kind_label, online, model, device}
    this.groups = new Map(); // id -> summary {id, name, protocol, members, head, phase, speaker, refusals...}
    this.edges = new Map(); // "from\u0000to" -> messages
    this.rejections = {}; // code -> count, hub-wide since start
    this.prices = null; // the hub's prices per 1,000 tokens ({local, cloud}), or null: no cost
    this.goalUsage = new Map(); // goal id -> usage summary, as ticks bring it
    this.listeners = new Set();
  }

  name(id) {
    if (id === "hub") return "hub";
    const agent = this.agents.get(id);
    return agent ? agent.name : id;
  }

  onChange(listener) { this.listeners.add(listener); }

  reset() {
    this.agents.clear();
    this.groups.clear();
    this.edges.clear();
    this.rejections = {};
    this.goalUsage.clear();
  }

  // Apply a batch of stream events; tell every listener what changed. A `tick` carries the
  // hub's summaries (absolute counts, so applying one after a snapshot never counts twice), of
  // edges, groups' heads, agents' counts and goals' use only the sections the view on screen
  // shows (`wants`); a `message` comes whole only for the conversation this page follows.
  apply(events) {
    const change = {
      agents: false, groups: new Set(), added: false, counts: new Set(), edges: false, goals: new Set(),
      messages: [], refusals: [], stored: 0, events, reload: false,
    };
    for (const event of events) {
      switch (event.kind) {
        case "tick":
          this.applyTick(event, change);
          break;
        case "message": {
          const group = this.groups.get(event.group);
          if (group) {
            group.head = Math.max(group.head, event.seq);
            group.phase = event.phase;
            group.speaker = event.speaker;
            change.groups.add(group.id);
          }
          change.messages.push(event);
          break;
        }
        case "overflow":
          change.reload = true;
          break;
        default:
          break;
      }
    }
    for (const listener of this.listeners) listener(change);
  }

  applyTick(tick, change) {
    for (const node of tick.agents) {
      this.agents.set(node.id, { ...this.agents.get(node.id), ...node });
      change.agents = true;
    }
    for (const id of tick.gone) {
      change.agents = this.agents.delete(id) || change.agents;
    }
    for (const summary of tick.groups) {
      this.groups.set(summary.id, { refusals: {}, ...this.groups.get(summary.id), ...summary });
      change.groups.add(summary.id);
      change.added = true;
    }
    for (const moved of tick.moved || []) {
      const group = this.groups.get(moved.id);
      if (!group) continue;
      group.head = Math.max(group.head, moved.head);
      group.phase = moved.phase;
      group.speaker = moved.speaker;
      group.refusals = moved.refusals;
      change.groups.add(moved.id);
    }
    for (const [id, counts] of Object.entries(tick.counts || {})) {
      const agent = this.agents.get(id);
      if (!agent) continue;
      agent.messages = counts.messages;
      agent.refusals = counts.refusals;
      if (counts.usage) agent.usage = counts.usage;
      change.counts.add(id);
    }
    for (const [id, usage] of Object.entries(tick.goals_usage || {})) {
      this.goalUsage.set(id, usage);
      change.goals.add(id);
    }
    const edges = tick.edges || [];
    for (const [from, to, n] of edges) this.edges.set(`${from}\u0000${to}`, n);
    change.edges = change.edges || edges.length > 0;
    if (tick.rejections) this.rejections = tick.rejections;
    change.refusals.push(...tick.refusals);
    change.stored += tick.messages;
  }

  addEdge(from, to, n) {
    const key = `${from}\u0000${to}`;
    this.edges.set(key, (this.edges.get(key) || 0) + n);
  }
}

export function messageText(envelope) {
  const p = envelope.payload || {};
  for (const key of ["text", "result", "description", "content", "reason", "progress", "title"]) {
    if (typeof p[key] === "string" && p[key]) return p[key];
  }
  if (p.plan) return JSON.stringify(p.plan);
  const rest = { ...p };
  delete rest.type;
  const text = JSON.stringify(rest);
  return text === "{}" ? "" : text;
}

// What the page knows of the hub: agents, groups, who talks to whom. Filled from REST, then kept
// current by the event stream; events are applied in batches (one redraw per batch).

export class Model {
  constructor() {
    this.agents = new Map(); // id -> node {id, name, kind, kind_label, online, model, device}
    this.groups = new Map(); // id -> summary {id, name, protocol, members, head, phase, speaker, refusals...}
    this.edges = new Map(); // "from\u0000to" -> messages
    this.rejections = {}; // code -> count, hub-wide since start
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
  }

  // Apply a batch of stream events; tell every listener what changed.
  apply(events) {
    const change = { agents: false, groups: new Set(), added: false, messages: [], refusals: [], events, reload: false };
    for (const event of events) {
      switch (event.kind) {
        case "agent":
          this.agents.set(event.agent.id, { ...this.agents.get(event.agent.id), ...event.agent });
          change.agents = true;
          break;
        case "agent_gone":
          this.agents.delete(event.id);
          change.agents = true;
          break;
        case "group":
          this.groups.set(event.group.id, { refusals: {}, ...event.group });
          change.groups.add(event.group.id);
          change.added = true;
          break;
        case "message": {
          const group = this.groups.get(event.group);
          if (group) {
            group.head = Math.max(group.head, event.seq);
            group.phase = event.phase;
            group.speaker = event.speaker;
            change.groups.add(group.id);
          }
          const targets = event.to.length ? event.to : [event.group];
          for (const to of targets) this.addEdge(event.sender, to, 1);
          change.messages.push(event);
          const sender = this.agents.get(event.sender);
          if (sender) sender.messages = (sender.messages || 0) + 1;
          break;
        }
        case "refusal": {
          this.rejections[event.code] = (this.rejections[event.code] || 0) + 1;
          const group = event.group && this.groups.get(event.group);
          if (group) {
            group.refusals[event.code] = (group.refusals[event.code] || 0) + 1;
            change.groups.add(group.id);
          }
          const agent = event.agent && this.agents.get(event.agent);
          if (agent) agent.refusals = (agent.refusals || 0) + 1;
          change.refusals.push(event);
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

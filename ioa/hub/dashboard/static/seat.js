// Stepping in: when the person watching is a member of the open conversation, the moves the
// protocol allows them now are buttons (one JSON Schema each, from the hub's legal moves); a
// button opens the move's fields, and Send hands the move to the hub, which checks it again.
import { el } from "./vlist.js";

const HINTS = {
  discussion: "say something and pass the turn on",
  pass: "pass the turn",
  conclude: "end the conversation (you then write its conclusion)",
  conclusion: "write the conclusion",
  sync_task_assign: "hand a task to members and wait for its result",
  async_task_assign: "hand a task out and go on talking",
  pause: "wait for tasks to finish",
  task_result: "report a task's result",
  task_progress: "report progress on a task",
  proposal: "propose a plan",
  objection: "object to a proposal, with the reason",
  acceptance: "accept a proposal",
  check_result: "say whether the plan passed its check",
  proceed: "go on to the next step",
  execute: "carry out the plan",
  call_for_proposals: "ask contractors to bid for a task",
  bid: "bid for the task",
  refuse: "decline to bid",
  award: "award the task to a bidder",
  ballot: "vote",
};

export class SeatPanel {
  constructor({ app, model, api }) {
    this.app = app;
    this.model = model;
    this.api = api;
    this.box = document.getElementById("seat");
    this.groupId = null;
    this.head = -1;
    this.editing = null; // the move whose fields are open: kept across refreshes at one head
  }

  // Show the person's moves in `group` (a summary with members), or nothing when not a member.
  async refresh(group) {
    const me = this.app.me && this.app.me.id;
    if (!group || !me || !group.members.includes(me) || group.protocol === "chat") {
      this.groupId = null;
      this.box.replaceChildren();
      return;
    }
    let seat;
    try {
      seat = await this.api.get(`/v1/dashboard/groups/${encodeURIComponent(group.id)}/moves`);
    } catch (error) {
      this.box.replaceChildren(el("p", { class: "error" }, `${error.code}: ${error.message}`));
      return;
    }
    if (seat.group === this.groupId && seat.head === this.head && this.editing) return;
    this.groupId = seat.group;
    this.head = seat.head;
    this.editing = null;
    this.render(seat);
  }

  render(seat) {
    if (!seat.moves.length) {
      this.box.replaceChildren(el("p", { class: "seat-wait" },
        `your seat: no move for you now${seat.speaker ? ` (turn: ${this.model.name(seat.speaker)})` : ""}`));
      return;
    }
    this.box.replaceChildren(
      el("div", { class: "seat-moves" }, "your move: ", seat.moves.map((m) => el("button", {
        "data-move": m.type, title: HINTS[m.type] || m.type.replace(/_/g, " "),
        onclick: () => this.open(seat, m),
      }, m.type.replace(/_/g, " ")))),
      el("div", { id: "seat-form" }),
      el("p", { id: "seat-error", class: "error", role: "alert" }));
  }

  open(seat, move) {
    this.editing = move.type;
    for (const b of this.box.querySelectorAll("button[data-move]")) b.classList.toggle("active", b.dataset.move === move.type);
    const fields = Object.entries(move.schema.properties).filter(([, s]) => s.const === undefined)
      .map(([name, schema]) => this.field(name, schema));
    const form = el("form", { class: "seat-fields", "data-move": move.type },
      el("p", { class: "hint" }, HINTS[move.type] || ""),
      fields.map((f) => f.node),
      el("button", { id: "seat-send", type: "submit" }, `Send ${move.type.replace(/_/g, " ")}`));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const values = { type: move.type };
      for (const f of fields) values[f.name] = f.read();
      this.send(seat.group, values);
    });
    document.getElementById("seat-form").replaceChildren(form);
  }

  // One input per schema field: enums as selects (ids shown by name), arrays of enums as
  // checkboxes, plain strings as text, objects as their own fields.
  field(name, schema) {
    const label = (...inner) => el("label", { class: "seat-field" }, `${name.replace(/_/g, " ")} `, ...inner);
    if (schema.enum) {
      const select = el("select", { name }, schema.enum.map((v, i) => el("option", { value: String(i) }, v === null ? "none" : this.model.name(v))));
      return { name, node: label(select), read: () => schema.enum[Number(select.value)] };
    }
    if (schema.type === "array" && schema.items && schema.items.enum) {
      const boxes = schema.items.enum.map((v, i) => el("input", { type: "checkbox", name, value: String(i), checked: i < (schema.minItems || 0) }));
      const node = label(...schema.items.enum.map((v, i) => el("span", {}, boxes[i], ` ${this.model.name(v)} `)));
      return { name, node, read: () => boxes.filter((b) => b.checked).map((b) => schema.items.enum[Number(b.value)]) };
    }
    if (schema.type === "array") {
      const area = el("textarea", { name, rows: 2, placeholder: "one per line" });
      return { name, node: label(area), read: () => area.value.split("\n").map((s) => s.trim()).filter(Boolean).slice(0, schema.maxItems || 4) };
    }
    if (schema.type === "boolean") {
      const box = el("input", { type: "checkbox", name });
      return { name, node: label(box), read: () => box.checked };
    }
    if (schema.type === "number") {
      const input = el("input", { type: "number", name, step: "any", value: "0" });
      return { name, node: label(input), read: () => Number(input.value) };
    }
    if (schema.type === "object" && schema.properties) {
      const inner = Object.entries(schema.properties).map(([n, s]) => this.field(n, s));
      return { name, node: el("fieldset", {}, el("legend", {}, name), inner.map((f) => f.node)),
        read: () => Object.fromEntries(inner.map((f) => [f.name, f.read()])) };
    }
    const long = (schema.maxLength || 0) > 200;
    const input = el(long ? "textarea" : "input", { name, maxlength: String(schema.maxLength || 1000), rows: long ? 3 : undefined });
    return { name, node: label(input), read: () => input.value };
  }

  async send(groupId, move) {
    const error = document.getElementById("seat-error");
    error.textContent = "";
    try {
      await this.api.post(`/v1/dashboard/groups/${encodeURIComponent(groupId)}/moves`, { move });
    } catch (e) {
      error.textContent = `${e.code}: ${e.message}`;
      return;
    }
    this.editing = null;
    document.getElementById("seat-form").replaceChildren(el("p", { class: "seat-sent" }, `sent: ${move.type}`));
  }
}

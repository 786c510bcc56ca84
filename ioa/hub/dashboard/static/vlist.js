// A virtualised list: only the rows in view exist in the DOM, so 100,000 rows cost what 40 do.

export class VirtualList {
  constructor(container, rowHeight, renderRow) {
    this.container = container;
    this.rowHeight = rowHeight;
    this.renderRow = renderRow; // (item, index) -> HTMLElement
    this.items = [];
    this.spacer = document.createElement("div");
    this.rows = document.createElement("div");
    this.rows.className = "rows";
    container.replaceChildren(this.spacer, this.rows);
    this.pending = false;
    this.drawn = new Map(); // index -> {item, node}: the rows in the DOM now
    // Whether the list keeps to its end as items arrive: decided by where the person scrolled,
    // not by the geometry at arrival (a header growing above must not stop the following).
    this.following = true;
    container.addEventListener("scroll", () => {
      this.following = this.atEnd();
      this.schedule();
    });
    new ResizeObserver(() => this.schedule()).observe(container);
  }

  // `items` may be the same array grown at its end (a transcript): the rows already drawn are
  // kept, so a new message costs one new row, not a redraw of every row in view.
  setItems(items, { follow = false } = {}) {
    if (items !== this.items) this.drawn.clear();
    this.items = items;
    this.spacer.style.height = `${items.length * this.rowHeight}px`;
    if (follow && this.following) this.container.scrollTop = this.container.scrollHeight;
    this.schedule();
  }

  atEnd() {
    const c = this.container;
    return c.scrollTop + c.clientHeight >= c.scrollHeight - this.rowHeight * 2;
  }

  scrollToIndex(index) {
    this.container.scrollTop = Math.max(0, index * this.rowHeight - this.container.clientHeight / 2);
    this.schedule();
  }

  // The rows' content changed (counts, phases): draw every row in view again.
  refresh() {
    this.drawn.clear();
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const height = this.container.clientHeight || 400;
    const first = Math.max(0, Math.floor(this.container.scrollTop / this.rowHeight) - 5);
    const last = Math.min(this.items.length, first + Math.ceil(height / this.rowHeight) + 10);
    const drawn = new Map();
    const nodes = [];
    for (let i = first; i < last; i++) {
      const item = this.items[i];
      const kept = this.drawn.get(i);
      let node;
      if (kept && kept.item === item) node = kept.node;
      else {
        node = this.renderRow(item, i);
        node.setAttribute("role", "listitem");
      }
      drawn.set(i, { item, node });
      nodes.push(node);
    }
    this.drawn = drawn;
    this.rows.style.transform = `translateY(${first * this.rowHeight}px)`;
    // move only what changed: rows that left the view go, new ones are inserted in place
    const wanted = new Set(nodes);
    for (const child of [...this.rows.children]) if (!wanted.has(child)) child.remove();
    let at = this.rows.firstChild;
    for (const node of nodes) {
      if (node === at) at = at.nextSibling;
      else this.rows.insertBefore(node, at);
    }
  }
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

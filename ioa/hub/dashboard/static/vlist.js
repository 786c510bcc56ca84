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
    // Whether the list keeps to its end as items arrive: decided by where the person scrolled,
    // not by the geometry at arrival (a header growing above must not stop the following).
    this.following = true;
    container.addEventListener("scroll", () => {
      this.following = this.atEnd();
      this.refresh();
    });
    new ResizeObserver(() => this.refresh()).observe(container);
  }

  setItems(items, { follow = false } = {}) {
    this.items = items;
    this.spacer.style.height = `${items.length * this.rowHeight}px`;
    if (follow && this.following) this.container.scrollTop = this.container.scrollHeight;
    this.refresh();
  }

  atEnd() {
    const c = this.container;
    return c.scrollTop + c.clientHeight >= c.scrollHeight - this.rowHeight * 2;
  }

  scrollToIndex(index) {
    this.container.scrollTop = Math.max(0, index * this.rowHeight - this.container.clientHeight / 2);
    this.refresh();
  }

  refresh() {
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
    const nodes = [];
    for (let i = first; i < last; i++) {
      const node = this.renderRow(this.items[i], i);
      node.setAttribute("role", "listitem");
      nodes.push(node);
    }
    this.rows.style.transform = `translateY(${first * this.rowHeight}px)`;
    this.rows.replaceChildren(...nodes);
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

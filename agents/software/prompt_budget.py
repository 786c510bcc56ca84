"""Keeping every prompt inside the context window: file-scoped code and summarised history.

ChatDev pastes the whole codebase and the whole dialogue into every prompt and crashes when a
4k-context model overflows. Here:

- a phase shows code by scope: the file(s) in focus in full, the others in full only while they
  fit, then (largest first) as outlines (signatures and first docstring lines, from the syntax
  tree), then by name;
  a focus file that alone is too large keeps its head and tail;
- history is one line per finished phase, newest last, and only the last few lines;
- the budget is the window minus the answer's token cap and a margin, converted to characters
  with a ratio (`Gauge`) that starts at a configured guess and drops to the lowest ratio the
  model's own token counts have shown, so a byte-level tokenizer is budgeted as such.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Gauge", "code_view", "fit_chat", "history_view", "outline", "shorten"]

NO_CODE = "(no code yet)"
NO_HISTORY = "(nothing yet)"
MIN_RATIO = 0.5
"""Characters per token never assumed below this (a byte tokenizer on multi-byte text)."""

FULL, OUTLINE, NAME = 0, 1, 2


@dataclass
class Gauge:
    """Characters per token, as low as the model has shown it to be."""

    chars_per_token: float

    def observe(self, chars: int, tokens: int) -> None:
        """Learn from one call: `chars` of message text became `tokens` prompt tokens."""
        if tokens > 0 and chars > 0:
            ratio = max(chars / tokens, MIN_RATIO)
            self.chars_per_token = min(self.chars_per_token, ratio)

    def chars(self, tokens: int) -> int:
        return max(0, math.floor(tokens * self.chars_per_token))

    def tokens(self, chars: int) -> int:
        return math.ceil(chars / self.chars_per_token)


def shorten(text: str, limit: int, *, marker: str = "characters cut") -> str:
    """`text` if it fits in `limit` characters, else its head and tail around a marker."""
    if len(text) <= limit:
        return text
    note = f"\n[... {len(text) - limit} {marker} ...]\n"
    room = max(0, limit - len(note))
    head = room * 2 // 3
    return text[:head] + note + text[len(text) - (room - head) :] if room else text[:limit]


def outline(path: str, source: str) -> str:
    """Signatures of a Python file's classes and functions, with their first docstring line."""
    if not path.endswith(".py"):
        return f"({len(source.splitlines())} lines)"
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return f"(does not parse: {exc.msg} at line {exc.lineno})"
    lines: list[str] = []

    def visit(nodes: list[ast.stmt], indent: str) -> None:
        for node in nodes:
            if isinstance(node, ast.ClassDef):
                lines.append(f"{indent}class {node.name}:{_doc(node)}")
                visit(node.body, indent + "    ")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
                args = ast.unparse(node.args)
                lines.append(f"{indent}{prefix} {node.name}({args}): ...{_doc(node)}")

    visit(tree.body, "")
    return "\n".join(lines) or "(no functions or classes)"


def _doc(node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    doc = ast.get_docstring(node)
    return f"  # {doc.splitlines()[0][:80]}" if doc else ""


def code_view(files: Mapping[str, str], focus: list[str], mode: str, budget: int) -> str:
    """The code a prompt shows, at most `budget` characters (see the module docstring)."""
    if mode == "none" or not files:
        return NO_CODE
    focused = [p for p in focus if p in files]
    order = focused + sorted(p for p in files if p not in focused)
    levels = {p: FULL if mode == "all" or p in focused else OUTLINE for p in order}

    def render() -> str:
        return "\n".join(_block(p, files[p], levels[p]) for p in order)

    text = render()
    while len(text) > budget:
        shrinkable = [p for p in order if p not in focused and levels[p] < NAME]
        if not shrinkable:
            break
        largest = max(shrinkable, key=lambda p: len(_block(p, files[p], levels[p])))
        levels[largest] += 1
        text = render()
    if len(text) <= budget:
        return text
    others = "\n".join(_block(p, files[p], levels[p]) for p in order if p not in focused)
    room = max(0, budget - len(others) - 1)
    per_file = room // max(1, len(focused))
    blocks = [_block(p, shorten(files[p], max(0, per_file - len(p) - 20)), FULL) for p in focused]
    return "\n".join([*blocks, others] if others else blocks)[:budget]


def _block(path: str, source: str, level: int) -> str:
    if level == FULL:
        return f"--- {path} ---\n{source.rstrip()}\n"
    if level == OUTLINE:
        return f"--- {path} (outline) ---\n{outline(path, source)}\n"
    return f"--- {path} (not shown) ---"


def history_view(lines: list[str], count: int, limit: int = 1200) -> str:
    """The last `count` history lines, newest last, at most `limit` characters."""
    shown = lines[-count:] if count else []
    if not shown:
        return NO_HISTORY
    text = "\n".join(f"- {line}" for line in shown)
    return text[-limit:]


def fit_chat(messages: list[dict[str, str]], budget: int) -> list[dict[str, str]]:
    """Drop the oldest middle messages (never the system prompt, the first instruction or the
    last message) until the contents fit `budget` characters, then cut the last one's middle."""
    kept = list(messages)

    def size() -> int:
        return sum(len(m["content"]) for m in kept)

    while size() > budget and len(kept) > 3:
        del kept[2]
    if size() > budget:
        last = kept[-1]
        room = max(0, budget - (size() - len(last["content"])))
        kept[-1] = {**last, "content": shorten(last["content"], room)}
    return kept

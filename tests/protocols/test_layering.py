"""Imports point one way: `examples, benchmarks → agents → environments`, `agents → ioa →
protocols`; `ioa.cli` and `ioa.commands` are the composition root and may import everything.

Checked statically: every `import` in every module, at any depth (the lazy ones inside a
function count too), parsed with `ast`, so a rule breaks here before anyone runs the code.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("protocols", "ioa", "agents", "environments", "examples", "benchmarks")
COMPOSITION_ROOT = ("ioa.cli", "ioa.commands")
HUB_SIDE = ("ioa.hub", "ioa.store")
"""The hub's own parts: `agents/` reaches a hub only through `ioa.client`."""

EXCEPTIONS: dict[tuple[str, str], str] = {}
"""(importing module, imported module) → why this one import may break the rules. None today."""


def allowed(importer: str, imported: str) -> bool:
    top, target = importer.split(".")[0], imported.split(".")[0]
    if _within(importer, COMPOSITION_ROOT) or top == target:
        return True
    if top == "protocols":
        return False  # pure: a test beside this one proves it loads no runtime either
    if top == "environments":
        return False  # standalone simulators; agents reach them through adapters
    if top == "ioa":
        return target == "protocols"
    if top == "agents":
        if _within(imported, HUB_SIDE + COMPOSITION_ROOT):
            return False
        return target in ("environments", "ioa", "protocols")
    return target not in ("examples", "benchmarks")  # the top: scripts a person runs


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> Iterator[str]:
    """The modules of ours that `path` imports, relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found = [base]
        else:
            continue
        yield from (m for m in found if m.split(".")[0] in OURS)


def sources() -> list[Path]:
    return sorted(p for top in OURS for p in (ROOT / top).rglob("*.py"))


def test_every_import_points_down_the_layers() -> None:
    broken = [
        f"{module_name(path)} imports {imported}"
        for path in sources()
        for imported in imports(path)
        if not allowed(module_name(path), imported)
        and (module_name(path), imported) not in EXCEPTIONS
    ]
    assert broken == []


def test_every_exception_is_still_needed() -> None:
    used = {(module_name(p), i) for p in sources() for i in imports(p)}
    assert set(EXCEPTIONS) <= used


@pytest.mark.parametrize(
    ("importer", "imported", "ok"),
    [
        ("agents.runtime", "ioa.client", True),
        ("agents.software.company", "ioa.hub", False),
        ("agents.robots.bench", "ioa.commands.local_hub", False),
        ("ioa.hub.app", "agents.runtime", False),
        ("ioa.commands.demo", "agents.robots", True),
        ("ioa.cli", "environments.rocobench", True),
        ("environments.workspace.sandbox", "ioa.errors", False),
        ("protocols.frames", "ioa.client", False),
        ("examples.protocol_playground", "ioa.hub", True),
        ("agents.crew", "examples.protocol_playground", False),
    ],
)
def test_the_rules(importer: str, imported: str, ok: bool) -> None:
    assert allowed(importer, imported) is ok

"""Result folders of benchmarks and experiments, read for the dashboard: listed, never written.

A run is a folder holding `results.json` (`ioa bench roco`, `ioa bench company`, `ioa lab`) or
`run.json` (one `ioa company` run), found at most `MAX_DEPTH` levels below one of the hub's
runs folders (`HubConfig.runs`). What a page may name is a folder's index and a relative path,
and every path is checked here before anything is opened:

- a path is relative, `/`-separated, without empty, `.` or `..` parts, NUL or backslash;
- it must still be inside its runs folder once every symlink is resolved (a link pointing out
  is refused like a `..`), and listing never follows a linked folder;
- a file is served only by a known extension (text, JSON, PNG) and up to `MAX_FILE` bytes
  (`file_too_large` past it, found from its size, before reading); a run's own JSON is parsed
  up to `MAX_JSON` bytes, else its table is left out with a note.

All of it is blocking file I/O: the routes run it in a worker thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ioa.hub.errors import FileTooLarge, Forbidden, InvalidRequest, NotFound

MAX_DEPTH = 4
"""Levels below a runs folder searched for runs (`runs/lab/<name>` is two)."""
MAX_VISITS = 5000
"""Folders looked into per listing: a runs folder holding a whole disk costs no more."""
MAX_PATH = 1000
MAX_FILE = 4 * 1024 * 1024
"""Bytes of one file a page may read (a transcript, a plot)."""
MAX_JSON = 16 * 1024 * 1024
"""Bytes of a run's `results.json` (or `run.json`, `metrics.json`) parsed for its tables."""
MAX_ROWS = 5000
MAX_TABLES = 12
MAX_TRANSCRIPTS = 5000
CELL_CHARS = 160
MARKERS = ("results.json", "run.json")
TRANSCRIPT_KINDS = ("txt", "jsonl", "json")
"""A transcript's forms, the one people read best first."""
TYPES = {
    ".txt": "text/plain",
    ".md": "text/plain",
    ".log": "text/plain",
    ".jsonl": "text/plain",
    ".yaml": "text/plain",
    ".yml": "text/plain",
    ".csv": "text/plain",
    ".json": "application/json",
    ".png": "image/png",
}
"""What may be served, as what: never HTML, SVG or anything a browser would run."""


def resolve(root: Path, rel: str) -> Path:
    """`rel` inside `root`, symlinks resolved; `InvalidRequest`, `Forbidden` or `NotFound`."""
    if len(rel) > MAX_PATH or "\x00" in rel or "\\" in rel:
        raise InvalidRequest("a run path is at most 1000 characters, without NUL or backslash")
    if rel.startswith("/"):
        raise InvalidRequest("a run path is relative to its runs folder, not absolute")
    parts = rel.split("/") if rel else []
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidRequest("a run path has no empty, '.' or '..' parts")
    base = root.resolve()
    target = base.joinpath(*parts).resolve()
    if not target.is_relative_to(base):
        raise Forbidden("that path leads outside the runs folder")
    if not target.exists():
        raise NotFound(f"no {rel!r} in the runs folder")
    return target


@dataclass(frozen=True, slots=True)
class RunEntry:
    root: int
    path: str
    kind: str
    written: float

    def view(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "path": self.path,
            "name": self.path.rsplit("/", 1)[-1],
            "kind": self.kind,
            "written": self.written,
        }


def kind_of(folder: Path, names: set[str]) -> str:
    """What wrote the run, from what the folder holds and where it is."""
    if "experiment.yaml" in names:
        return "lab"
    if "results.json" not in names:
        return "company"
    if folder.name.startswith("bench-company"):
        return "company bench"
    if folder.parent.name == "roco":
        return "roco"
    return "results"


def find_runs(roots: list[Path]) -> tuple[list[RunEntry], bool]:
    """Every run under `roots`, newest first, and whether the search stopped at `MAX_VISITS`."""
    found: list[RunEntry] = []
    visits = 0
    for index, root in enumerate(roots):
        base = root.resolve()
        queue: list[tuple[Path, int]] = [(base, 0)] if base.is_dir() else []
        while queue:
            folder, depth = queue.pop()
            visits += 1
            if visits > MAX_VISITS:
                found.sort(key=lambda r: -r.written)
                return found, True
            subfolders, names = _entries(folder)
            marker = next((m for m in MARKERS if m in names), None)
            if marker is not None and folder != base:
                written = _mtime(folder / marker)
                rel = folder.relative_to(base).as_posix()
                found.append(RunEntry(index, rel, kind_of(folder, names), written))
                continue  # a run's own sub-folders are its episodes, not runs
            if depth < MAX_DEPTH:
                queue.extend((sub, depth + 1) for sub in subfolders)
    found.sort(key=lambda r: -r.written)
    return found, False


def listing(roots: list[Path]) -> dict[str, Any]:
    """The runs folders (and whether each exists) and every run under them."""
    found, truncated = find_runs(roots)
    return {
        "roots": [
            {"root": i, "path": str(root), "exists": root.is_dir()} for i, root in enumerate(roots)
        ],
        "runs": [run.view() for run in found],
        "truncated": truncated,
    }


def _entries(folder: Path) -> tuple[list[Path], set[str]]:
    """(sub-folders, file names) of `folder`; linked folders and hidden names left out."""
    subfolders: list[Path] = []
    names: set[str] = set()
    try:
        with os.scandir(folder) as scan:
            for entry in scan:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(Path(entry.path))
                else:
                    names.add(entry.name)
    except OSError:
        pass
    return subfolders, names


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def read_file(root: Path, rel: str) -> tuple[bytes, str]:
    """A run's file and its content type, checked as the module docstring says."""
    path = resolve(root, rel)
    kind = TYPES.get(path.suffix.lower())
    if kind is None or not path.is_file():
        raise NotFound(f"{rel!r} is not a file the dashboard shows (text, JSON or PNG)")
    size = path.stat().st_size
    if size > MAX_FILE:
        raise FileTooLarge(f"{rel!r} is {size} bytes; the dashboard shows files up to {MAX_FILE}")
    with path.open("rb") as file:
        data = file.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:  # it grew since its size was read
        raise FileTooLarge(f"{rel!r} is over {MAX_FILE} bytes")
    return data, kind


def read_run(root: Path, rel: str) -> dict[str, Any]:
    """A run as the page shows it: summary, notes, tables, plots and transcripts."""
    folder = resolve(root, rel)
    if not folder.is_dir():
        raise NotFound(f"{rel!r} is not a run folder")
    subfolders, names = _entries(folder)
    problems: list[str] = []
    data = {name: _json(folder / name, problems) for name in ("results.json", "run.json")}
    results = data["results.json"]
    if "run.json" in names and results is None:
        metrics = _json(folder / "metrics.json", problems) if "metrics.json" in names else None
        results = {"result": data["run.json"]} | (metrics or {})
    results = results if isinstance(results, dict) else {}
    summary = results.get("result") or results.get("summary") or {}
    notes = results.get("notes")
    notes = [n[:500] for n in notes[:50] if isinstance(n, str)] if isinstance(notes, list) else []
    transcripts = _transcripts(folder, rel, subfolders, names)
    tables = list(_tables(results))[:MAX_TABLES]
    for table in tables:
        table["transcripts"] = _links(table, transcripts)
    return {
        "path": rel,
        "kind": kind_of(folder, names),
        "summary": _scalars(summary) if isinstance(summary, dict) else {},
        "notes": [n[:500] for n in notes[:50] if isinstance(n, str)]
        if isinstance(notes, list)
        else [],
        "tables": tables,
        "plots": [_file(folder, rel, n) for n in sorted(names) if n.lower().endswith(".png")],
        "transcripts": transcripts,
        "problems": problems,
    }


def _json(path: Path, problems: list[str]) -> Any:
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if size > MAX_JSON:
        problems.append(f"{path.name} is {size} bytes, over the {MAX_JSON} the dashboard reads")
        return None
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        problems.append(f"{path.name} cannot be read: {exc}"[:300])
        return None


def _file(folder: Path, rel: str, name: str) -> dict[str, Any]:
    return {"name": name, "path": f"{rel}/{name}", "size": _size(folder / name)}


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _transcripts(
    folder: Path, rel: str, subfolders: list[Path], names: set[str]
) -> list[dict[str, Any]]:
    """Each episode's transcript: `transcripts/<episode>.txt` (else `.jsonl`, `.json`), a
    company run's `transcript.jsonl`, and those of the company runs inside a bench."""
    found: list[dict[str, Any]] = []
    if "transcript.jsonl" in names:
        found.append(_file(folder, rel, "transcript.jsonl") | {"name": "transcript"})
    episodes = folder / "transcripts"
    if episodes.is_dir() and not episodes.is_symlink():
        _, files = _entries(episodes)
        best: dict[str, str] = {}
        for name in sorted(files):
            stem, _, ext = name.rpartition(".")
            if ext in TRANSCRIPT_KINDS and (stem not in best or _rank(name) < _rank(best[stem])):
                best[stem] = name
        for stem, name in sorted(best.items())[:MAX_TRANSCRIPTS]:
            found.append(_file(episodes, f"{rel}/transcripts", name) | {"name": stem})
    for sub in sorted(subfolders)[:MAX_TRANSCRIPTS]:
        if (sub / "transcript.jsonl").is_file() and not (sub / "transcript.jsonl").is_symlink():
            found.append(_file(sub, f"{rel}/{sub.name}", "transcript.jsonl") | {"name": sub.name})
    return found[:MAX_TRANSCRIPTS]


def _links(table: dict[str, Any], transcripts: list[dict[str, Any]]) -> list[str | None]:
    """For each row, the path of its episode's transcript, if one is named in the row: a cell
    equal to a transcript's name (a lab cell's `id`, a company bench's `run`), or RoCo's
    `{task}-{mode}-seed{seed}`."""
    paths = {t["name"]: t["path"] for t in transcripts}
    columns: list[str] = table["columns"]
    roco = [columns.index(c) for c in ("task", "mode", "seed") if c in columns]
    links: list[str | None] = []
    for row in table["rows"]:
        found = next((paths[v] for v in row if isinstance(v, str) and v in paths), None)
        if found is None and len(roco) == 3:
            task, mode, seed = (row[i] for i in roco)
            found = paths.get(f"{task}-{mode}-seed{seed}")
        links.append(found)
    return links


def _rank(name: str) -> int:
    return TRANSCRIPT_KINDS.index(name.rpartition(".")[2])


def _scalars(data: dict[str, Any]) -> dict[str, Any]:
    return {str(k): _cell(v) for k, v in list(data.items())[:100] if not isinstance(v, dict | list)}


def _tables(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every list of objects (a row each) and every object of objects (a row per key) in the
    run's JSON, down two levels, as tables; the summary object is shown apart."""
    for key, value in data.items():
        if key in ("result", "summary"):
            continue
        yield from _table_at(key, value)
        if isinstance(value, dict):
            for sub, inner in value.items():
                yield from _table_at(f"{key}.{sub}", inner)


def _table_at(name: str, value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value[:50]):
        yield _table(name, value)
    elif (
        isinstance(value, dict)
        and value
        and all(isinstance(v, dict) and _flat(v) for v in value.values())
    ):
        yield _table(name, [{"name": k} | v for k, v in value.items()])


def _flat(row: dict[str, Any]) -> bool:
    """Mostly scalars: a row, not a nesting level."""
    return sum(not isinstance(v, dict | list) for v in row.values()) * 2 >= len(row)


def _table(name: str, items: list[Any]) -> dict[str, Any]:
    rows = [_flatten(item) for item in items[:MAX_ROWS] if isinstance(item, dict)]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    names = list(columns)[:60]
    return {
        "name": name,
        "columns": names,
        "rows": [[row.get(c) for c in names] for row in rows],
        "total": len(items),
    }


def _flatten(item: dict[str, Any]) -> dict[str, Any]:
    """One row: nested objects' scalars as `outer.inner` columns, anything else as short text."""
    row: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                row[f"{key}.{sub}"] = _cell(inner)
        else:
            row[str(key)] = _cell(value)
    return row


def _cell(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN: the page gets it as text
    if value is None or isinstance(value, bool | int | float | str):
        return value[:CELL_CHARS] if isinstance(value, str) else value
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        return f"[{len(value)} items]"
    return json.dumps(value, ensure_ascii=False)[:CELL_CHARS]

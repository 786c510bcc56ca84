"""One folder per run: the deliverable, the record, and what a resume needs.

```
<runs-dir>/<run-id>/
  requirement.txt    the customer's requirement, as given
  company.yaml       the config the run uses (a resume reads this, not the current default)
  run.json           id, status, model, sessions (start/end of each process that worked on it)
  code/              the generated project (the sandbox's workspace)
  requirements.txt   from the environment-doc phase
  manual.md          from the manual phase
  transcript.jsonl   every phase conversation as the hub stored it, and every sandbox check
  metrics.json       time, tokens per role, phases done, loop cycles, final verdicts
  state/             hub.db (the hub's store), checkpoints.db (LangGraph), credentials.json
```
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.software.config import CompanyConfig, dump_config, load_config
from agents.software.errors import RunBroken, RunNotFound
from ioa.config import ioa_home

__all__ = ["RunFolder", "default_runs_dir", "new_run_id"]

_SLUG = re.compile(r"[^a-z0-9]+")


def default_runs_dir() -> Path:
    return ioa_home() / "runs"


def new_run_id(requirement: str, name: str | None = None) -> str:
    """`<slug>-<date>-<time>-<4 hex>`: readable, sortable, unique even within one second."""
    slug = _SLUG.sub("-", (name or requirement).lower()).strip("-")[:40].strip("-") or "run"
    return f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@dataclass(frozen=True)
class RunFolder:
    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def code(self) -> Path:
        return self.path / "code"

    @property
    def state_dir(self) -> Path:
        return self.path / "state"

    @property
    def hub_db(self) -> Path:
        return self.state_dir / "hub.db"

    @property
    def checkpoints(self) -> Path:
        return self.state_dir / "checkpoints.db"

    @property
    def credentials(self) -> Path:
        return self.state_dir / "credentials.json"

    @property
    def transcript(self) -> Path:
        return self.path / "transcript.jsonl"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.json"

    # creating and finding runs
    @classmethod
    def create(
        cls, runs_dir: Path, requirement: str, config: CompanyConfig, name: str | None = None
    ) -> RunFolder:
        folder = cls(Path(runs_dir) / new_run_id(requirement, name))
        folder.path.mkdir(parents=True)
        folder.code.mkdir()
        folder.state_dir.mkdir()
        (folder.path / "requirement.txt").write_text(requirement, encoding="utf-8")
        (folder.path / "company.yaml").write_text(dump_config(config), encoding="utf-8")
        folder.write_info({"id": folder.id, "status": "new", "sessions": []})
        return folder

    @classmethod
    def find(cls, run: str | Path, runs_dir: Path | None = None) -> RunFolder:
        """A run by path, or by id (or unique id prefix) under `runs_dir`."""
        if not str(run).strip():
            raise RunNotFound("no run named: give a run id or folder")
        given = Path(run).expanduser()
        if (given / "run.json").is_file():
            return cls(given.resolve())
        base = Path(runs_dir) if runs_dir is not None else default_runs_dir()
        if (base / str(run) / "run.json").is_file():
            return cls((base / str(run)).resolve())
        matches = sorted(base.glob(f"{run}*/run.json")) if base.is_dir() else []
        if len(matches) == 1:
            return cls(matches[0].parent.resolve())
        if len(matches) > 1:
            shown = ", ".join(m.parent.name for m in matches[:5])
            raise RunNotFound(f"{run!r} matches several runs: {shown}")
        raise RunNotFound(f"no run {str(run)!r} (looked for a folder with run.json in {base})")

    # reading
    def requirement(self) -> str:
        return self._read("requirement.txt")

    def config(self) -> CompanyConfig:
        if not (self.path / "company.yaml").is_file():
            raise RunBroken(f"{self.path} has no company.yaml")
        return load_config(self.path / "company.yaml")

    def info(self) -> dict[str, Any]:
        return dict(json.loads(self._read("run.json")))

    def metrics(self) -> dict[str, Any] | None:
        if not self.metrics_path.is_file():
            return None
        return dict(json.loads(self.metrics_path.read_text(encoding="utf-8")))

    def transcript_lines(self) -> Iterator[dict[str, Any]]:
        if not self.transcript.is_file():
            raise RunBroken(f"{self.path} has no transcript.jsonl yet")
        with self.transcript.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    raise RunBroken(f"transcript.jsonl line {number} is not JSON") from None

    def _read(self, name: str) -> str:
        try:
            return (self.path / name).read_text(encoding="utf-8")
        except OSError as exc:
            raise RunBroken(f"{self.path} lacks {name}: {exc.strerror}") from None

    # writing
    def write_info(self, info: dict[str, Any]) -> None:
        _write_atomic(self.path / "run.json", json.dumps(info, indent=1))

    def update_info(self, **changes: Any) -> dict[str, Any]:
        info = {**self.info(), **changes}
        self.write_info(info)
        return info

    def start_session(self, model: str) -> None:
        info = self.info()
        sessions = [*info.get("sessions", []), {"started": time.time(), "ended": None}]
        self.update_info(status="running", model=model, sessions=sessions)

    def end_session(self, status: str) -> None:
        info = self.info()
        sessions = list(info.get("sessions", []))
        if sessions:
            sessions[-1] = {**sessions[-1], "ended": time.time()}
        self.update_info(status=status, sessions=sessions)

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        _write_atomic(self.metrics_path, json.dumps(metrics, indent=1))

    def write_transcript(self, lines: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        _write_atomic(self.transcript, text)

    def write_doc(self, name: str, text: str) -> None:
        """A document of the run (`name` is checked by the config: a plain .txt/.md name)."""
        _write_atomic(self.path / Path(name).name, text)

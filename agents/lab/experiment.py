"""The experiment file: what `ioa lab` runs, validated before anything starts.

    name: roco-small
    tasks: [roco:sort, goals]               # roco[:TASK], goals[:NAME], company[:NAME]
    protocols: [central, dialog, ioa]
    topologies: [complete, chain, random[0.5, 1]]
    models: [smollm2]                       # a GGUF path, a catalog name, or none
    baselines: [oracle, random]
    seeds: 3                                # a count (0..n-1) or a list
    budgets: {max_turns: 8, max_steps: 4, attempts: 3, timeout: 900, team: 4}
    jobs: 2
    concurrent: 4                           # cells per worker at once, batched on its model

The grid is tasks × protocols × topologies × models × seeds, where each task set takes the
protocols and topologies that apply to it (see `agents.lab.tasksets`); the baselines run once per
task and seed (the oracle) or per task, protocol, topology and seed (the random legal-action
agent, whose moves depend on the protocol). A bad field is one line naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agents.lab.errors import BadExperiment
from agents.lab.topology import Topology, parse_topology

__all__ = ["BASELINES", "Budgets", "Experiment", "load_experiment", "parse_experiment"]

BASELINES = ("oracle", "random")
DECODINGS = ("score", "grammar", "judge", "judge-calibrated", "judge-shots", "score-shots")
"""`agents.robots.chooser.DECODINGS`: choose an option by its likelihood, sample it under a
grammar, or judge each option on its own (yes/no likelihood; robot tasks only); `-shots`: with
worked examples generated from dev seeds."""
NO_MODEL = "none"
Name = Annotated[str, Field(min_length=1, max_length=200)]


class Budgets(BaseModel):
    """How much each cell may spend."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_turns: int = Field(8, ge=1, le=200)
    """Turns per group conversation (IoA turns, dialog calls)."""
    hub_turns: int | None = Field(None, ge=1, le=200)
    """RoCo's ioa and dialectic modes: turns per group, checks included (None: the mode's own
    default)."""
    max_steps: int | None = Field(None, ge=1, le=100)
    """Environment steps per RoCo episode, below the task's own budget (None: the budget)."""
    attempts: int = Field(5, ge=1, le=20)
    """Plans tried per RoCo step."""
    timeout: float = Field(900.0, gt=0, le=86400)
    """Seconds one cell may take before it is recorded as failed."""
    team: int = Field(4, ge=2, le=12)
    """Members of a goal team (the topology's nodes), the tool agent included."""
    cycles: int | None = Field(None, ge=1, le=20)
    """Company: cap every loop at this many cycles."""


class Experiment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,60}$")
    tasks: list[Name] = Field(min_length=1, max_length=64)
    protocols: list[Name] = Field(default_factory=lambda: ["ioa"], max_length=16)
    topologies: list[Name] = Field(default_factory=lambda: ["complete"], min_length=1)
    models: list[Name] = Field(default_factory=lambda: [NO_MODEL], min_length=1, max_length=8)
    baselines: list[Name] = Field(default_factory=lambda: list(BASELINES), max_length=2)
    decodings: list[Name] = Field(default_factory=lambda: ["score"], min_length=1, max_length=6)
    """Where a mode picks among finite options (RoCo's ioa and dialectic): by likelihood
    (`score`) or by sampling under a grammar (`grammar`); both to compare them."""
    seeds: int | list[int] = 3
    budgets: Budgets = Field(default_factory=Budgets)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    threads: int = Field(1, ge=1, le=256)
    """llama.cpp threads per worker."""
    jobs: int | None = Field(None, ge=1, le=64)
    """Cells run at once (worker processes); None: from the CPU count."""
    concurrent: int = Field(1, ge=1, le=64)
    """Cells each worker runs at once through its one model, their decoding batched (`slots`)."""

    @field_validator("baselines")
    @classmethod
    def _known_baselines(cls, value: list[str]) -> list[str]:
        unknown = [b for b in value if b not in BASELINES]
        if unknown:
            raise ValueError(f"unknown baseline {unknown[0]!r}; choose from {list(BASELINES)}")
        return list(dict.fromkeys(value))

    @field_validator("decodings")
    @classmethod
    def _known_decodings(cls, value: list[str]) -> list[str]:
        unknown = [d for d in value if d not in DECODINGS]
        if unknown:
            raise ValueError(f"unknown decoding {unknown[0]!r}; choose from {list(DECODINGS)}")
        return list(dict.fromkeys(value))

    @field_validator("topologies")
    @classmethod
    def _known_topologies(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(parse_topology(v).label for v in value))

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, value: int | list[int]) -> int | list[int]:
        if isinstance(value, int) and not 1 <= value <= 1000:
            raise ValueError("a seed count must be within 1..1000")
        if isinstance(value, list) and (not value or len(set(value)) != len(value)):
            raise ValueError("seeds must be a non-empty list without repeats")
        return value

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)

    @property
    def topology_list(self) -> list[Topology]:
        return [parse_topology(t) for t in self.topologies]


def parse_experiment(data: object, source: str = "experiment") -> Experiment:
    """Validate parsed YAML; a `BadExperiment` naming the first bad field."""
    if not isinstance(data, dict):
        raise BadExperiment(f"{source}: an experiment is a mapping of fields (name, tasks, ...)")
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"]) or "experiment"
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown field"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise BadExperiment(f"{source}: {where}: {message}{more}") from None
    except BadExperiment as exc:
        raise BadExperiment(f"{source}: {exc.message}") from None


def load_experiment(path: Path) -> Experiment:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadExperiment(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise BadExperiment(f"{path.name}: not YAML{where}") from None
    return parse_experiment(data, path.name)

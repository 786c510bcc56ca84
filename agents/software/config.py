"""The company as data: roles, phases, the chain of phases and loops, prompts and budgets.

ChatDev keeps its chain in three JSON files of strings (`"True"`/`"False"` booleans, phase classes
looked up by name). Here one YAML file, `company.yaml` in this package, is validated by the models
below, so a mistake — an unknown role, a loop over a phase that does not exist, a prompt with a
placeholder nothing fills — is reported when the file is loaded, naming the place, not half-way
through a run. Users copy the file, edit it and pass it with `ioa company --config FILE`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agents.software.config_rules import config_problems
from agents.software.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG",
    "Answers",
    "ArtifactKind",
    "ArtifactSpec",
    "CompanyConfig",
    "ContextBudget",
    "Levers",
    "LoopStep",
    "NetworkStep",
    "PhaseSpec",
    "PhaseStep",
    "RoleSpec",
    "RunSettings",
    "Step",
    "dump_config",
    "load_config",
    "load_config_data",
]

DEFAULT_CONFIG = "company.yaml"

ArtifactKind = Literal["files", "verdict", "choice", "text", "packages", "document"]
"""What an assistant hands back: `files` (paths and contents), `verdict` (done or changes, with a
comment), `choice` (one of a fixed list), `text` (a note), `packages` (requirements.txt lines),
`document` (free Markdown, e.g. the manual)."""

Until = Literal["approved", "no_stubs", "tests_pass", "none"]
Topology = Literal["chain", "star", "tree", "layered", "random"]
ContextMode = Literal["none", "focus", "all"]
CodeFormat = Literal["json", "fences"]

_ID = r"^[a-z][a-z0-9_]{0,39}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleSpec(_Model):
    """One role of the company; each becomes an agent with a card on the hub."""

    name: str = Field(min_length=1, max_length=80)
    """Display name on the hub, e.g. "Chief Technology Officer"."""
    prompt: str = Field(min_length=1, max_length=4000)
    """System prompt; may use {company}, {task} and {name}."""
    tags: list[str] = Field(default_factory=list, max_length=16)
    """Skill tags on the role's agent card."""
    model: str | None = None
    """A GGUF file for this role only (default: the company's model)."""


class ArtifactSpec(_Model):
    """What the assistant of a phase produces and where it goes."""

    kind: ArtifactKind
    into: str | None = Field(default=None, max_length=60)
    """`choice`/`text`/`verdict`: the note it fills (a placeholder for later prompts);
    `packages`/`document`: the file of the run folder it becomes. Unused for `files`."""
    choices: list[str] = Field(default_factory=list, max_length=32)
    """`choice` only: the options; the grammar allows nothing else."""


class PhaseSpec(_Model):
    """One phases: the instructor opens with `prompt`, the assistant answers with an artifact."""

    instructor: str
    assistant: str
    prompt: str = Field(min_length=1, max_length=8000)
    artifact: ArtifactSpec
    turns: int = Field(default=1, ge=1, le=10)
    """Most instruction/answer exchanges; the hub caps the group at 2 * turns + 1 turns."""
    reflect: bool = False
    """With turns > 1: the instructor's model judges each answer and may ask for a revision."""
    context: ContextMode = "none"
    """Code shown as {codes}: none, the focus file(s) in full and outlines of the rest, or all
    files as far as the context window allows (focus first)."""
    file_prompt: str | None = Field(default=None, min_length=1, max_length=4000)
    """`files` only, with `levers.file_scoped`: the prompt for one file ({file} its name,
    {code} its current text, {scope} the signatures of the other files, {example} the run's
    arguments, and the phase prompt's placeholders)."""
    files: list[str] = Field(default_factory=list, max_length=8)
    """With `levers.file_scoped`: the files to write when no loop check names a focus
    (default: the entry file)."""


class PhaseStep(_Model):
    kind: Literal["phase"] = "phase"
    phase: str


class LoopStep(_Model):
    """A composed phase: its phases run in order, cycle after cycle, until `until` holds."""

    kind: Literal["loop"] = "loop"
    name: str = Field(pattern=_ID)
    until: Until
    """`approved`: a verdict says done; `no_stubs`: no unfinished function is left (by syntax
    tree); `tests_pass`: the program runs and its tests pass in the sandbox; `none`: all cycles."""
    cycles: int = Field(default=3, ge=0, le=20)
    phases: list[str] = Field(min_length=1, max_length=8)


class NetworkStep(_Model):
    """MacNet: programmer nodes and reviewer edges on a DAG; artifacts flow along the edges."""

    kind: Literal["network"] = "network"
    name: str = Field(pattern=_ID)
    topology: Topology = "chain"
    nodes: int = Field(default=3, ge=1, le=32)
    seed: int = 0
    critic: str
    """Phase run on each edge u→v first: node u's programmer asks the edge's reviewer for a
    verdict on u's code."""
    actor: str
    """Phase run next unless the verdict is done: the reviewer has v's programmer revise."""


Step = Annotated[PhaseStep | LoopStep | NetworkStep, Field(discriminator="kind")]


class ContextBudget(_Model):
    """How prompts are kept inside the model's context window."""

    n_ctx: int = Field(default=4096, ge=256)
    """Used when the engine does not say its own window (a scripted engine)."""
    chars_per_token: float = Field(default=3.0, gt=0.2, le=8.0)
    """First estimate; lowered as soon as the model's own token counts show fewer."""
    margin_tokens: int = Field(default=96, ge=0)
    history_lines: int = Field(default=6, ge=0, le=50)
    answer_chars: int = Field(default=1500, ge=100)
    """Longest previous answer quoted back in a revision round."""


class Answers(_Model):
    """Token caps per answer; grammar-constrained answers are also length-bounded."""

    files: int = Field(default=1024, ge=8)
    verdict: int = Field(default=160, ge=8)
    choice: int = Field(default=96, ge=8)
    text: int = Field(default=200, ge=8)
    packages: int = Field(default=96, ge=8)
    document: int = Field(default=400, ge=8)
    decision: int = Field(default=128, ge=8)
    """The instructor's accept-or-revise judgement."""
    max_files: int = Field(default=6, ge=1, le=32)
    content_chars: int = Field(default=500, ge=16, le=512)
    """Longest `content` string per file entry (the engine caps grammar strings at 512
    characters); a longer file continues in further entries with the same path."""
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    code_format: CodeFormat = "json"
    """How files are asked for: `json` (grammar-constrained, the fenced reading as fallback) or
    `fences` (free Markdown code blocks, read the tolerant way; tiny models write code there
    but prose inside JSON strings)."""


class Levers(_Model):
    """What helps a small model write code that runs; each is off by default (ChatDev's way)
    and the shipped config turns on those the company benchmark measured to help."""

    file_scoped: bool = False
    """Files phases write one file per call, as a code block, with a prompt holding only that
    file's scope (`file_prompt`), not the whole program in one JSON answer."""
    syntax_retries: int = Field(default=0, ge=0, le=5)
    """With `file_scoped`: each Python file is compiled before it is accepted; on a syntax
    error the model gets the line and message and writes the file again, at most this many
    times. A file that still does not compile never replaces an earlier version that does."""
    candidates: int = Field(default=1, ge=1, le=8)
    """With `file_scoped`: versions of the entry file written, at most, in one round; the first
    that the sandbox runs is kept (each extra version is a full model call, counted)."""
    keep_running: bool = False
    """With `file_scoped`: a new entry file replaces one that runs only if it runs too."""
    file_tokens: int = Field(default=400, ge=8)
    """Token cap of one file-scoped answer."""
    candidate_temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    """Sampling temperature of the second and later candidates (the first uses `answers`'s)."""
    max_files: int = Field(default=2, ge=1, le=8)
    """Files written, at most, by one file-scoped phase."""


class RunSettings(_Model):
    """How the generated program is run and judged."""

    entry: str = "main.py"
    args: list[str] = Field(default_factory=list, max_length=32)
    """Arguments for the program's sandboxed run (the bench gives each requirement its own)."""
    timeout_s: float = Field(default=5.0, gt=0, le=600)
    attempts_per_file: int = Field(default=2, ge=1, le=10)
    """Code-completion attempts per unfinished file before the loop gives up on it."""


class CompanyConfig(_Model):
    """The whole company; see `company.yaml` for the shipped one with comments."""

    company: str = Field(min_length=1, max_length=4000)
    """Background every role's system prompt starts from ({company})."""
    roles: dict[str, RoleSpec]
    phases: dict[str, PhaseSpec]
    chain: list[Step] = Field(min_length=1)
    formats: dict[ArtifactKind, str]
    """Per artifact kind, the answer instruction appended to the phase prompt."""
    review_answer: str
    """The instructor's prompt to judge an answer ({instruction}, {answer})."""
    revise: str
    """The instructor's message asking for a revision ({comment})."""
    retry: str
    """The instructor's message when an answer held no usable artifact ({problem})."""
    fences: str = (
        "Write each file as a Markdown code block: its file name alone on a line, then the "
        "block with the complete code. No other text."
    )
    """The answer instruction for files when `answers.code_format` is `fences`."""
    context: ContextBudget = ContextBudget()
    answers: Answers = Answers()
    run: RunSettings = RunSettings()
    levers: Levers = Levers()
    scoped_format: str = (
        "Answer with the complete file {file} in one ```python code block, and nothing else."
    )
    """The answer instruction of a file-scoped prompt."""
    purposes: dict[Literal["entry", "tests", "module"], str] = {
        "entry": (
            "{file} is the program: it reads its input from the command line, sys.argv[1:] "
            "(for example: {example}), and prints the result."
        ),
        "tests": "{file} holds pytest tests of the functions of {entry}.",
        "module": "{file} is a module that {entry} imports.",
    }
    """What a file is for, shown as {purpose} in a file-scoped prompt: the entry file, a test
    file (`test_*.py`) or another module ({file}, {entry}, {example})."""
    syntax_retry: str = (
        "{file} does not compile: line {line}: {message}\n{text}\nWrite the whole file again, "
        "fixed, in one ```python code block."
    )
    """What the model is told when its file does not compile ({file}, {line}, {message},
    {text}: the offending line)."""

    @model_validator(mode="after")
    def _consistent(self) -> CompanyConfig:
        problems = config_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def notes(self) -> set[str]:
        """Names filled by phases (`into` of choice, text and verdict artifacts)."""
        return {
            p.artifact.into
            for p in self.phases.values()
            if p.artifact.into and p.artifact.kind in ("choice", "text", "verdict")
        }

    def step_names(self) -> list[str]:
        return [s.phase if isinstance(s, PhaseStep) else s.name for s in self.chain]

    def with_overrides(
        self,
        *,
        topology: Topology | None = None,
        cycles: int | None = None,
        code_format: CodeFormat | None = None,
        levers: dict[str, Any] | None = None,
        **run: Any,
    ) -> CompanyConfig:
        """A copy with every loop capped at `cycles`, the review loop(s) replaced by a MacNet
        network of `topology`, files asked for in `code_format`, and/or run settings changed."""
        data = self.model_dump()
        if levers:
            data["levers"] = {**data["levers"], **levers}
        if code_format is not None:
            data["answers"]["code_format"] = code_format
        if cycles is not None:
            for step in data["chain"]:
                if step["kind"] == "loop":
                    step["cycles"] = min(step["cycles"], cycles)
        if topology is not None:
            data["chain"] = [_as_network(step, topology) for step in data["chain"]]
        data["run"] = {**data["run"], **{k: v for k, v in run.items() if v is not None}}
        return load_config_data(data, "overrides")


def _as_network(step: dict[str, Any], topology: Topology) -> dict[str, Any]:
    if step["kind"] == "network":
        return {**step, "topology": topology}
    if step["kind"] != "loop" or step["until"] != "approved" or len(step["phases"]) != 2:
        return step
    critic, actor = step["phases"]
    return {
        "kind": "network",
        "name": step["name"],
        "topology": topology,
        "nodes": max(2, min(4, step["cycles"] + 1)),
        "critic": critic,
        "actor": actor,
    }


def load_config_data(data: Any, source: str) -> CompanyConfig:
    """Validate already-parsed data; `ConfigError` names the first problems and their places."""
    try:
        return CompanyConfig.model_validate(data)
    except ValidationError as exc:
        shown = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error["loc"]) or "(top)"
            shown.append(f"{where}: {error['msg']}")
        raise ConfigError(f"{source}: " + "; ".join(shown)) from None


def load_config(path: str | Path | None = None) -> CompanyConfig:
    """The config at `path` (YAML or JSON), or the shipped `company.yaml`."""
    if path is None:
        text = files("agents.software").joinpath(DEFAULT_CONFIG).read_text(encoding="utf-8")
        source = DEFAULT_CONFIG
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the company config {source}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    return load_config_data(data, source)


def dump_config(config: CompanyConfig) -> str:
    """YAML that `load_config` reads back to an equal config (the run folder's snapshot)."""
    return str(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True))

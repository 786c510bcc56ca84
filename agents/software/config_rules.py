"""The consistency rules of a company config, checked when it loads.

Pydantic checks each field; these rules check the parts against each other: every role a phase
names exists, every phase a step names exists, a loop that waits for approval has a verdict to
wait for, a network's two phases fit together, and every `{placeholder}` of every prompt is one
that something fills. Each problem is a sentence that names its place in the file.
"""

from __future__ import annotations

import re
import string
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agents.software.config import ArtifactSpec, CompanyConfig

__all__ = [
    "COMPUTED_FIELDS",
    "FORMAT_FIELDS",
    "RESERVED_DOCS",
    "RESERVED_STEPS",
    "ROLE_FIELDS",
    "config_problems",
    "placeholders",
]

COMPUTED_FIELDS = frozenset({"task", "codes", "file", "files", "history", "entry", "test_reports"})
"""Placeholders the runner fills itself; every other placeholder must be some phase's `into`."""
ROLE_FIELDS = frozenset({"company", "task", "name"})
FORMAT_FIELDS = frozenset({"choices", "max_files", "content_chars"})
REVIEW_FIELDS = frozenset({"instruction", "answer"})
REVISE_FIELDS = frozenset({"comment"})
RETRY_FIELDS = frozenset({"problem"})
FILE_FIELDS = frozenset({"code", "scope", "example", "purpose"})
PURPOSE_FIELDS = frozenset({"file", "entry", "example"})
"""Placeholders of a file-scoped prompt, besides those of the phase prompt."""
SYNTAX_FIELDS = frozenset({"file", "line", "message", "text"})

_ID = r"^[a-z][a-z0-9_]{0,39}$"
_DOC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,60}\.(?:txt|md)$")
RESERVED_DOCS = frozenset({"requirement.txt"})
"""Run-folder files a document may not overwrite."""
RESERVED_STEPS = frozenset({"finish"})
"""The chain's last node."""


def placeholders(template: str) -> set[str]:
    """The `{names}` a template uses; raises `ValueError` on unbalanced braces."""
    names = set()
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None:
            if not name.isidentifier():
                raise ValueError(f"placeholder {{{name}}} is not a plain name")
            names.add(name)
    return names


def _check_template(where: str, template: str, allowed: set[str] | frozenset[str]) -> list[str]:
    try:
        used = placeholders(template)
    except ValueError as exc:
        return [f"{where}: {exc} (write a literal brace as {{{{ or }}}})"]
    unknown = sorted(used - allowed)
    return [f"{where}: unknown placeholder(s) {unknown}"] if unknown else []


def config_problems(config: CompanyConfig) -> list[str]:
    """Every rule the config breaks, as sentences; empty when it is consistent."""
    out: list[str] = []
    for kind, keys in (("role", config.roles), ("phase", config.phases)):
        bad = sorted(k for k in keys if not re.match(_ID, k) or k in RESERVED_STEPS)
        if bad:
            out.append(f"{kind} name(s) {bad}: use lower_case letters, digits and _ (not 'finish')")
    out += _check_template("company", config.company, {"task"})
    for key, role in config.roles.items():
        out += _check_template(f"roles.{key}.prompt", role.prompt, ROLE_FIELDS)
    fields = COMPUTED_FIELDS | config.notes()
    for key, phase in config.phases.items():
        for seat in (phase.instructor, phase.assistant):
            if seat not in config.roles:
                out.append(f"phases.{key}: unknown role {seat!r}")
        if phase.instructor == phase.assistant:
            out.append(f"phases.{key}: the instructor and the assistant must be different roles")
        out += _check_template(f"phases.{key}.prompt", phase.prompt, fields)
        if phase.file_prompt is not None:
            where = f"phases.{key}.file_prompt"
            out += _check_template(where, phase.file_prompt, fields | FILE_FIELDS)
            if phase.artifact.kind != "files":
                out.append(f"{where}: only a files phase writes files one by one")
        out += _artifact_problems(key, phase.artifact)
    for kind, text in config.formats.items():
        out += _check_template(f"formats.{kind}", text, FORMAT_FIELDS)
    out += _check_template("review_answer", config.review_answer, REVIEW_FIELDS)
    out += _check_template("revise", config.revise, REVISE_FIELDS)
    out += _check_template("retry", config.retry, RETRY_FIELDS)
    out += _check_template("fences", config.fences, FORMAT_FIELDS)
    out += _check_template("scoped_format", config.scoped_format, {"file"})
    for kind, text in config.purposes.items():
        out += _check_template(f"purposes.{kind}", text, PURPOSE_FIELDS)
    out += _check_template("syntax_retry", config.syntax_retry, SYNTAX_FIELDS)
    used_kinds = {p.artifact.kind for p in config.phases.values()}
    missing = sorted(used_kinds - set(config.formats))
    if missing:
        out.append(f"formats: no answer instruction for artifact kind(s) {missing}")
    out += _chain_problems(config)
    return out


def _artifact_problems(key: str, artifact: ArtifactSpec) -> list[str]:
    where = f"phases.{key}.artifact"
    if artifact.kind == "choice" and not artifact.choices:
        return [f"{where}: a choice needs choices"]
    if artifact.kind in ("choice", "text", "packages", "document") and not artifact.into:
        return [f"{where}: a {artifact.kind} artifact needs `into`"]
    if artifact.kind in ("packages", "document"):
        name = artifact.into or ""
        if not _DOC_NAME.match(name) or name in RESERVED_DOCS:
            return [f"{where}.into: {name!r} must be a .txt or .md file name of the run folder"]
    elif artifact.into and not artifact.into.isidentifier():
        return [f"{where}.into: {artifact.into!r} is not a plain name"]
    return []


def _chain_problems(config: CompanyConfig) -> list[str]:
    out: list[str] = []
    names = config.step_names()
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        out.append(f"chain: step name(s) used twice: {duplicates}")
    if RESERVED_STEPS & set(names):
        out.append("chain: 'finish' is the name of the chain's last step")
    for index, step in enumerate(config.chain):
        where = f"chain[{index}]"
        if step.kind == "phase":
            used = [step.phase]
        elif step.kind == "loop":
            used = step.phases
        else:
            used = [step.critic, step.actor]
        unknown = [p for p in used if p not in config.phases]
        if unknown:
            out.append(f"{where}: unknown phase(s) {unknown}")
            continue
        kinds = [config.phases[p].artifact.kind for p in used]
        if step.kind == "loop" and step.until == "approved" and "verdict" not in kinds:
            out.append(f"{where}: an `approved` loop needs a phase with a verdict artifact")
        if step.kind == "network":
            critic, actor = config.phases[step.critic], config.phases[step.actor]
            if kinds != ["verdict", "files"]:
                out.append(f"{where}: a network's critic gives a verdict and its actor files")
            elif (actor.instructor, actor.assistant) != (critic.assistant, critic.instructor):
                out.append(
                    f"{where}: the actor phase must swap the critic phase's roles "
                    "(the edge's reviewer instructs the next node's programmer)"
                )
    return out

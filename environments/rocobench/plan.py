"""The EXECUTE plan contract: grammar, parsed form and a strict parser.

A plan is `EXECUTE` followed by exactly one `NAME <robot> ACTION <action> [PATH [(x,y,z),...]]`
line per robot. Text before EXECUTE and lines after it that hold neither NAME nor ACTION are
ignored (a dialog reply may reason first); everything else must be exact, and every mistake raises
a `PlanError` subclass that says what is wrong and for whom.

Parsing checks the *form* only (words, names, arity, path shape). Whether an action is allowed in
the current state (full gripper, foreign target bin, ...) is a task rule, checked by the
environment after parsing, as RoCo's `get_task_feedback` does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from environments.rocobench.errors import (
    BadArguments,
    BadPath,
    DuplicateRobot,
    MalformedLine,
    MissingExecute,
    MissingPath,
    MissingRobot,
    UnexpectedPath,
    UnknownAction,
    UnknownObject,
    UnknownRobot,
    WrongWaypointCount,
)
from environments.rocobench.geometry import Vec3

PATH_WAYPOINTS = 4
"""RoCo's path mode: 'each PATH must contain exactly four coordinates'."""

_WORD = re.compile(r"\b(EXECUTE|NAME|ACTION|PATH)\b")
_SLOT = re.compile(r"^<([a-z0-9_]+)>$")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_GROUP = re.compile(r"\(([^()]*)\)")


@dataclass(frozen=True)
class ActionForm:
    """One shape an action can take, e.g. `PICK <object> PLACE <target>`.

    `offered=False` marks a form the parser accepts only so that a task rule can reject it with
    RoCo's explanation (a lone PICK in Sort, WAIT in Pack); action schemas never offer it.
    """

    name: str
    pattern: str
    vocab: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    offered: bool = True

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(self.pattern.split())

    @property
    def verb(self) -> str:
        return self.tokens[0]

    @property
    def slots(self) -> tuple[str, ...]:
        return tuple(m.group(1) for t in self.tokens if (m := _SLOT.match(t)))

    def render(self, args: Mapping[str, str]) -> str:
        out = []
        for token in self.tokens:
            m = _SLOT.match(token)
            out.append(args[m.group(1)] if m else token)
        return " ".join(out)


@dataclass(frozen=True)
class Grammar:
    """A task's action forms, and whether every action carries a PATH."""

    task: str
    forms: tuple[ActionForm, ...]
    path_mode: bool = False

    def form(self, name: str) -> ActionForm:
        for f in self.forms:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def verbs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.verb for f in self.forms))

    def describe(self) -> str:
        return ", ".join(f.pattern for f in self.forms if f.offered)


@dataclass(frozen=True)
class Action:
    """One robot's parsed action."""

    robot: str
    form: str
    text: str
    """The action words as they render, e.g. `PICK blue_square PLACE panel3`."""
    args: tuple[tuple[str, str], ...] = ()
    path: tuple[Vec3, ...] | None = None

    def arg(self, slot: str) -> str | None:
        return dict(self.args).get(slot)

    @property
    def object(self) -> str | None:
        return self.arg("object")

    @property
    def target(self) -> str | None:
        return self.arg("target")

    def line(self) -> str:
        line = f"NAME {self.robot} ACTION {self.text}"
        if self.path is not None:
            line += " PATH " + format_path(self.path)
        return line


@dataclass(frozen=True)
class Plan:
    """One action per robot, in the task's robot order."""

    actions: tuple[Action, ...]

    def __getitem__(self, robot: str) -> Action:
        for a in self.actions:
            if a.robot == robot:
                return a
        raise KeyError(robot)

    @property
    def robots(self) -> tuple[str, ...]:
        return tuple(a.robot for a in self.actions)

    def lines(self) -> str:
        return "\n".join(a.line() for a in self.actions)

    def text(self) -> str:
        return "EXECUTE\n" + self.lines()


def format_number(v: float) -> str:
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_path(path: Iterable[Vec3]) -> str:
    return "[" + ", ".join("(" + ", ".join(format_number(c) for c in p) + ")" for p in path) + "]"


def make_action(
    grammar: Grammar,
    robot: str,
    form_name: str,
    args: Mapping[str, str] | None = None,
    path: Sequence[Vec3] | None = None,
) -> Action:
    """Build an action from its parts (oracles and JSON actions use this; it does not validate)."""
    form = grammar.form(form_name)
    args = dict(args or {})
    return Action(
        robot=robot,
        form=form.name,
        text=form.render(args),
        args=tuple((s, args[s]) for s in form.slots),
        path=None if path is None else tuple(path),
    )


def parse_plan(text: str, robots: Sequence[str], grammar: Grammar | None = None) -> Plan:
    """Parse `text` into a `Plan` for exactly `robots`, or raise the `PlanError` that says why.

    Without a grammar only the envelope is checked (EXECUTE, one NAME…ACTION line per robot);
    with one, every action must match one of its forms and every name must be in its vocabulary.
    """
    match = re.search(r"\bEXECUTE\b", text)
    if match is None:
        raise MissingExecute("the plan has no EXECUTE; write EXECUTE, then one line per robot")
    seen: dict[str, Action] = {}
    for raw in text[match.end() :].splitlines():
        line = raw.strip()
        words = set(_WORD.findall(line))
        if not words & {"NAME", "ACTION"}:
            continue
        robot, action = _parse_line(line, robots, grammar)
        if robot in seen:
            raise DuplicateRobot(f"the plan has two lines for {robot}", robot=robot)
        seen[robot] = action
    missing = [r for r in robots if r not in seen]
    if missing:
        raise MissingRobot(
            f"the plan has no line for {', '.join(missing)}; give one line per robot",
            robot=missing[0],
        )
    return Plan(actions=tuple(seen[r] for r in robots))


def _parse_line(line: str, robots: Sequence[str], grammar: Grammar | None) -> tuple[str, Action]:
    m = re.fullmatch(r"NAME\s+(\S+)\s+ACTION\b\s*(.*)", line)
    if m is None:
        raise MalformedLine(
            f"'{line}' must read NAME <robot> ACTION <action>"
            + (" PATH [(x, y, z), ...]" if grammar and grammar.path_mode else "")
        )
    robot, rest = m.group(1), m.group(2).strip()
    if robot not in robots:
        raise UnknownRobot(
            f"'{robot}' is not a robot in this task; the robots are {', '.join(robots)}",
            robot=robot,
        )
    path: tuple[Vec3, ...] | None = None
    path_at = re.search(r"\bPATH\b", rest)
    if path_at is not None:
        path = _parse_path(rest[path_at.end() :].strip(), robot)
        rest = rest[: path_at.start()].strip()
    if not rest:
        raise MalformedLine(f"{robot}'s line has no action after ACTION", robot=robot)
    if grammar is None:
        return robot, Action(robot=robot, form=rest.split()[0], text=rest, path=path)
    return robot, _match_form(grammar, robot, rest, path)


def _match_form(grammar: Grammar, robot: str, rest: str, path: tuple[Vec3, ...] | None) -> Action:
    words = rest.split()
    candidates = [f for f in grammar.forms if f.verb == words[0]]
    if not candidates:
        raise UnknownAction(
            f"{robot}'s action '{words[0]}' is not an action of {grammar.task}; "
            f"the actions are: {grammar.describe()}",
            robot=robot,
        )
    form = next((f for f in candidates if _fits(f, words)), None)
    if form is None:
        shapes = " or ".join(f.pattern for f in candidates)
        raise BadArguments(f"{robot}'s action '{rest}' must read {shapes}", robot=robot)
    args: dict[str, str] = {}
    for token, word in zip(form.tokens, words, strict=True):
        slot = _SLOT.match(token)
        if slot is None:
            continue
        allowed = form.vocab.get(slot.group(1), ())
        if word not in allowed:
            raise UnknownObject(
                f"{robot}'s action names '{word}', which is not a valid <{slot.group(1)}> for "
                f"{form.verb}; choose from: {', '.join(allowed)}",
                robot=robot,
            )
        args[slot.group(1)] = word
    if grammar.path_mode and path is None:
        raise MissingPath(
            f"{robot}'s action has no PATH; every action in {grammar.task} needs "
            f"PATH [(x, y, z), ...] with exactly {PATH_WAYPOINTS} waypoints",
            robot=robot,
        )
    if not grammar.path_mode and path is not None:
        raise UnexpectedPath(
            f"{robot}'s action has a PATH, but {grammar.task} takes none", robot=robot
        )
    return Action(
        robot=robot, form=form.name, text=" ".join(words), args=tuple(args.items()), path=path
    )


def _fits(form: ActionForm, words: list[str]) -> bool:
    if len(form.tokens) != len(words):
        return False
    return all(_SLOT.match(t) or t == w for t, w in zip(form.tokens, words, strict=True))


def _parse_path(text: str, robot: str) -> tuple[Vec3, ...]:
    if not (text.startswith("[") and text.endswith("]")):
        raise BadPath(
            f"{robot}'s PATH must be a list in square brackets: [(x, y, z), ...]", robot=robot
        )
    body = text[1:-1]
    points: list[Vec3] = []
    pos = 0
    for m in _GROUP.finditer(body):
        gap = body[pos : m.start()].strip()
        if gap != ("," if points else ""):
            found = f"has '{gap}'" if gap else "is missing a comma"
            raise BadPath(
                f"{robot}'s PATH {found} before waypoint {len(points) + 1}; write "
                "[(x, y, z), (x, y, z), ...]",
                robot=robot,
            )
        points.append(_parse_point(m.group(1), len(points) + 1, robot))
        pos = m.end()
    tail = body[pos:].strip()
    if tail:
        raise BadPath(
            f"{robot}'s PATH has '{tail}' where a waypoint (x, y, z) should be", robot=robot
        )
    if len(points) != PATH_WAYPOINTS:
        raise WrongWaypointCount(
            f"{robot}'s PATH has {len(points)} waypoints; it must have exactly {PATH_WAYPOINTS}",
            robot=robot,
        )
    return tuple(points)


def _parse_point(text: str, index: int, robot: str) -> Vec3:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise BadPath(
            f"{robot}'s PATH waypoint {index} '({text})' must have three numbers x, y, z",
            robot=robot,
        )
    values = []
    for part in parts:
        if not _NUMBER.fullmatch(part):
            raise BadPath(
                f"{robot}'s PATH waypoint {index} has '{part}', which is not a number", robot=robot
            )
        values.append(float(part))
    if not all(math.isfinite(v) for v in values):
        raise BadPath(f"{robot}'s PATH waypoint {index} is not finite", robot=robot)
    return (values[0], values[1], values[2])

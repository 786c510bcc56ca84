"""What a robot does on its turn in a checked negotiation, as a pure function of what it saw.

The IoA mode's group runs under the hub's `ioa` protocol with an environment checker: every
`proposal` (a joint plan) is answered by a `check_result` before anyone else speaks. A robot then:

- with no proposal yet: proposes a draft joint plan, its own action beside a placeholder for each
  teammate (WAIT where legal): it speaks only for itself;
- when the latest plan gives it a line it never proposed itself (a placeholder, or another robot's
  guess) and it prefers another action that has not failed a check: amends the plan with its own
  action (a new proposal), so the plan the group concludes with is every robot's own choice;
- when the latest plan failed the check: amends it if a reason names it, otherwise objects with
  the checker's reasons and hands the turn to a robot they name;
- when the latest plan passed: accepts it; once every robot endorsed it (proposed or accepted),
  the robot holding the turn concludes with it — the only way a plan reaches the conclusion.

The choices of actions come from the model (`chooser`); this module only sequences the talk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Decision", "Seen", "concerned", "decide", "failed_actions"]

Kind = Literal["propose", "amend", "object", "accept", "conclude"]


@dataclass(frozen=True)
class Seen:
    """A proposal as the robots see it: its joint plan (robot → action text) and its check."""

    id: str
    author: str
    actions: Mapping[str, str]
    passed: bool | None = None
    """None while unchecked (or when the checker let its turn time out)."""
    reasons: tuple[str, ...] = ()
    accepted_by: frozenset[str] = field(default_factory=frozenset)

    @property
    def endorsed(self) -> frozenset[str]:
        return self.accepted_by | {self.author}


@dataclass(frozen=True)
class Decision:
    kind: Kind
    proposal: Seen | None = None
    """The proposal objected to, accepted, concluded with, or amended."""
    to: str | None = None
    """The robot who should speak next."""


def concerned(reasons: Sequence[str], robots: Sequence[str]) -> list[str]:
    """Robots the checker's reasons name (each reason starts with `Robot[, Robot]: `)."""
    out: list[str] = []
    for reason in reasons:
        head = reason.split(":", 1)[0]
        out.extend(r for r in robots if r in head.replace(",", " ").split() and r not in out)
    return out


def failed_actions(me: str, robots: Sequence[str], proposals: Sequence[Seen]) -> set[str]:
    """My actions in plans whose check failed for a reason that names me (or names nobody, in
    a plan I authored: a draft's placeholder failing a rule says nothing about my own choice)."""
    out = set()
    for p in proposals:
        if p.passed is False and me in p.actions:
            named = concerned(p.reasons, robots)
            if me in named or (not named and p.author == me):
                out.add(p.actions[me])
    return out


def decide(
    me: str,
    robots: Sequence[str],
    proposals: Sequence[Seen],
    *,
    owned: bool,
    preferred: str | None,
    can_conclude: bool,
) -> Decision:
    """My move. `owned`: my line in the latest plan is one I proposed myself; `preferred`: the
    action I would choose now (None when not computed: a first proposal computes it anyway)."""
    if not proposals:
        return Decision("propose", to=_next(me, robots, frozenset({me})))
    latest = proposals[-1]
    if latest.passed is True:
        if (
            not owned
            and me not in latest.endorsed
            and preferred is not None
            and preferred != latest.actions.get(me)
            and preferred not in failed_actions(me, robots, proposals)
        ):
            return Decision("amend", latest, to=_next(me, robots, frozenset({me})))
        endorsed = latest.endorsed | {me}
        if set(robots) <= endorsed and can_conclude:
            return Decision("conclude", latest)
        return Decision("accept", latest, to=_next(me, robots, endorsed))
    named = concerned(latest.reasons, robots)
    if not named or me in named:
        return Decision("amend", latest, to=_next(me, robots, frozenset({me})))
    return Decision("object", latest, to=named[0])


def _next(me: str, robots: Sequence[str], done: frozenset[str]) -> str | None:
    """The next robot after me in roster order that is not in `done` (else the next one)."""
    order = list(robots)
    start = order.index(me) if me in order else -1
    ring = order[start + 1 :] + order[: start + 1]
    for robot in ring:
        if robot not in done and robot != me:
            return robot
    return next((r for r in ring if r != me), None)

"""A goal's messages for a terminal, grouped by team: each team labelled, sub-teams indented.

A goal's event stream interleaves the messages of its team and of every sub-team. The person
who posted it is not a member of the sub-teams, so their nesting is read from the messages
themselves: a new group's first speaker is its leader (the hub gives the initiator the first
turn), and it was formed for the task that leader was last assigned and has not answered yet,
or for the goal itself when it leads the goal's own group.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from ioa.console import describe
from protocols import Envelope

INDENT = "    "


@dataclass
class Team:
    number: int
    depth: int
    label: str


@dataclass
class TeamView:
    """Turns each envelope of a goal into labelled, indented lines."""

    goal_group: str
    names: dict[str, str]
    width: int = 100
    teams: dict[str, Team] = field(default_factory=dict)
    _open_tasks: dict[str, tuple[str, str]] = field(default_factory=dict)
    """agent → (group, task id) of the last task assigned to it and not yet answered."""

    def __post_init__(self) -> None:
        self.teams[self.goal_group] = Team(1, 0, "team 1: the goal's team")

    def header(self) -> str:
        return f"┌ {self.teams[self.goal_group].label}"

    def lines(self, envelope: Envelope) -> list[str]:
        out: list[str] = []
        team = self.teams.get(envelope.group)
        if team is None:
            team = self._new_team(envelope)
            out.append(f"{INDENT * team.depth}┌ {team.label}")
        self._track(envelope)
        text = describe(envelope.model_dump(mode="json"), self.names, self.width, show_type=True)
        prefix = f"{INDENT * team.depth}│ team {team.number} "
        out.extend(textwrap.indent(text, prefix, lambda _: True).splitlines() or [prefix.rstrip()])
        return out

    def _name(self, agent: str) -> str:
        return self.names.get(agent, agent)

    def _new_team(self, envelope: Envelope) -> Team:
        number = len(self.teams) + 1
        leader = self._name(envelope.sender)
        parent_group, task = self._open_tasks.get(envelope.sender, (self.goal_group, ""))
        parent = self.teams.get(parent_group, self.teams[self.goal_group])
        purpose = f"task {task}" if task else "the goal"
        team = Team(
            number,
            parent.depth + 1,
            f"team {number}: sub-team of team {parent.number} for {purpose}, led by {leader}",
        )
        self.teams[envelope.group] = team
        return team

    def _track(self, envelope: Envelope) -> None:
        payload = envelope.payload
        task_id = getattr(payload, "task_id", None)
        if envelope.type in ("sync_task_assign", "async_task_assign") and task_id:
            for agent in envelope.to:
                self._open_tasks[agent] = (envelope.group, task_id)
        elif (
            envelope.type == "task_result"
            and self._open_tasks.get(envelope.sender, ("", ""))[1] == task_id
        ):
            self._open_tasks.pop(envelope.sender, None)

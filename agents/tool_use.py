"""Using tools when a goal needs them: which tool, with which arguments, and the answer quoted.

A brain that knows tools (by the display name of their agents) plans a tool call when it holds
the turn in a team that has one of them and no tool task was handed out yet:

1. the tools whose arguments the goal can fill (`Tool.arguments(goal).usable`) are the options,
   with "no tool" beside them; the brain chooses one (likelihood or grammar, `agents.choosing`);
2. it fills the arguments from spans of the goal: the rendered calls are the options when they
   are few (scored, or one sampled under their enum), else each argument is sampled under the
   enum schema; a one-shot example per tool shows the form;
3. it assigns the call as a synchronous task, so the team waits for the result.

Once a tool task has finished, the brain concludes, and the conclusion always quotes the results
of the team's finished tasks before any words of the model: the value the goal asked for reaches
the conclusion whatever the model writes (the protocol-level design: results are data, not
something a small model must remember to copy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents import prompts
from agents.brain import Turn
from agents.choosing import Decoding, choose
from agents.spans import Arguments
from agents.tool import Tool
from ioa.llm import Engine


@dataclass(frozen=True)
class ToolCall:
    """A planned call: whom to assign, and the task text built from the chosen arguments."""

    assignee: str
    tool: Tool
    text: str

    def move(self) -> dict[str, Any]:
        return {
            "type": "sync_task_assign",
            "assignees": [self.assignee],
            "title": self.tool.name,
            "description": self.text,
        }


def tools_in_team(turn: Turn, tools: dict[str, Tool]) -> list[tuple[str, Tool]]:
    """The team's tool agents this brain knows, that it may assign a task to now."""
    spec = turn.legal.spec("sync_task_assign")
    if spec is None:
        return []
    return [
        (member, tools[name])
        for member, name in turn.names.items()
        if member != turn.me and name in tools and member in spec.addressees
    ]


def tool_tasks(turn: Turn, tools: dict[str, Tool]) -> list[Any]:
    """Tasks of the group assigned to a known tool agent."""
    tool_ids = {m for m, name in turn.names.items() if name in tools}
    return [t for t in turn.state.tasks if set(t.assignees) & tool_ids]


def answer(turn: Turn) -> str:
    """The results of the group's finished tasks, as one line (empty when there are none)."""
    done = [t for t in turn.state.tasks if t.status == "done" and t.result]
    return "; ".join(f"{t.result}" for t in done)


async def plan_call(
    engine: Engine, turn: Turn, tools: dict[str, Tool], decoding: Decoding, *, optional: bool = True
) -> ToolCall | None:
    """The tool call this turn should make, or None (no usable tool, or the brain chose none;
    without `optional`, "none" is not among the options)."""
    usable: list[tuple[str, Tool, Arguments]] = []
    for member, tool in tools_in_team(turn, tools):
        arguments = tool.arguments(turn.goal)
        if arguments.usable:
            usable.append((member, tool, arguments))
    if not usable:
        return None
    listing = "\n".join(prompts.TOOL_LINE.format(name=t.name, does=t.does) for _, t, _ in usable)
    options = [t.name for _, t, _ in usable]
    if optional:
        options.append(prompts.NO_TOOL)
    which = [
        {"role": "user", "content": prompts.TOOL_CHOICE.format(tools=listing, goal=turn.goal)},
    ]
    index = await choose(engine, which, options, agent=turn.me, decoding=decoding)
    if index == len(usable):
        return None
    member, tool, arguments = usable[index]
    return ToolCall(member, tool, await fill(engine, turn, tool, arguments, decoding))


async def fill(
    engine: Engine, turn: Turn, tool: Tool, arguments: Arguments, decoding: Decoding
) -> str:
    """The task text for `tool`, its arguments taken from the allowed spans only."""
    example_goal, example_call = tool.example
    messages = [
        {
            "role": "user",
            "content": prompts.TOOL_ARGUMENTS.format(
                tool=tool.name, example_goal=example_goal, example_call=example_call, goal=turn.goal
            ),
        }
    ]
    options = arguments.options()
    if options:
        index = await choose(engine, messages, options, agent=turn.me, decoding=decoding)
        return options[index]
    value, _ = await engine.structured(
        messages, agent=turn.me, schema=arguments.schema(), temperature=0.0
    )
    return arguments.render(value)

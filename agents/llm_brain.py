"""`LLMBrain`: decisions made by a local model, each constrained by a JSON Schema grammar.

The model never chooses a message type, an addressee or a task id that the protocol forbids:
`protocols.moves.moves_schema` turns the agent's legal moves into the schema the engine decodes
under. Free text is bounded, so even noise weights produce a legal move in bounded time.

Given `tools`, the brain uses them when the goal needs them (`agents.tool_use`): finite choices
(which tool, which arguments, which member) are made by `decoding` — the model's likelihood of
each option ("score") or sampling under an enum grammar ("sample").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agents import prompts
from agents.brain import Brain, Candidate, Job, Line, Turn
from agents.choosing import Decoding, can_score, choose
from agents.echo import strip_echoes, strip_invented_numbers, strip_restatements
from agents.tool import Tool
from agents.tool_use import answer, plan_call, tool_tasks
from ioa.llm import Engine
from protocols.conversation import PROTOCOLS
from protocols.moves import moves_schema


def _lines(transcript: list[Line]) -> str:
    if not transcript:
        return prompts.NO_MESSAGES
    shown = []
    for line in transcript:
        to = f" → {', '.join(line.to)}" if line.to else ""
        shown.append(f"{line.sender} [{line.type}{to}]: {line.text[:400]}")
    return "\n".join(shown)


def _task_board(turn: Turn) -> str:
    if not turn.state.tasks:
        return prompts.NO_TASKS
    rows = []
    for task in turn.state.tasks:
        result = f" = {task.result[:200]}" if task.result else ""
        assignees = ", ".join(turn.names.get(a, a) for a in task.assignees)
        rows.append(
            prompts.TASK_LINE.format(
                id=task.id,
                status=task.status,
                title=task.title or task.description[:60],
                assignees=assignees,
                result=result,
            )
        )
    return prompts.TASK_BOARD.format(lines="\n".join(rows))


class LLMBrain(Brain):
    """A brain backed by an `Engine` (normally the shared local llama.cpp model)."""

    def __init__(
        self,
        engine: Engine,
        *,
        text_max: int = 240,
        work_tokens: int = 160,
        temperature: float = 0.7,
        tools: Iterable[Tool] = (),
        decoding: Decoding | None = None,
        always_use_tools: bool = False,
    ) -> None:
        self.engine = engine
        self.text_max = text_max
        self.work_tokens = work_tokens
        self.temperature = temperature
        self.tools = {tool.name: tool for tool in tools}
        """Tools this brain knows how to call, by their agents' display name."""
        self.decoding: Decoding = decoding or ("score" if can_score(engine) else "sample")
        self.always_use_tools = always_use_tools
        """Leave "no tool" out of the choice when a tool can take the goal (a constrained path
        that makes a run deterministic in tests, whatever the weights)."""

    async def move(self, turn: Turn) -> dict[str, Any]:
        types = turn.legal.types
        if "conclusion" in types:
            return await self._conclusion(turn)
        if self.tools and not tool_tasks(turn, self.tools):
            call = await plan_call(
                self.engine, turn, self.tools, self.decoding, optional=not self.always_use_tools
            )
            if call is not None:
                return call.move()
        results = answer(turn)
        if results and "conclude" in types and all(t.finished for t in turn.state.tasks):
            return {"type": "conclude", "text": results[: self.text_max]}
        move = await self._free_move(turn)
        if isinstance(move.get("text"), str):
            move["text"] = strip_echoes(move["text"]) or "(nothing to add)"
        return move

    async def _conclusion(self, turn: Turn) -> dict[str, Any]:
        """The results of finished tasks first, then one sentence of the model's."""
        results = answer(turn)
        messages = [
            {"role": "system", "content": prompts.SYSTEM.format(name=turn.name, role=turn.role)},
            {
                "role": "user",
                "content": prompts.CONCLUSION.format(goal=turn.goal, results=results or "none"),
            },
        ]
        schema = {"type": "string", "maxLength": self.text_max}
        said = ""
        try:
            said, _ = await self.engine.structured(
                messages, agent=turn.me, schema=schema, temperature=self.temperature
            )
        except Exception:  # the results alone still answer the goal
            said = ""
        said = strip_restatements(strip_echoes(str(said)), turn.goal)
        said = strip_invented_numbers(said, f"{turn.goal} {results}")
        text = f"Answer: {results}. {said}" if results else said
        return {"type": "conclusion", "text": text[:1000] or "No answer was found."}

    async def _free_move(self, turn: Turn) -> dict[str, Any]:
        if turn.legal.at_turn_limit:
            situation = prompts.SITUATION_LAST
        else:
            situation = prompts.SITUATION_DEFAULT
        if turn.legal.protocol != "ioa":
            summary = PROTOCOLS[turn.legal.protocol].summary
            situation += prompts.PROTOCOL_FACT.format(protocol=turn.legal.protocol, summary=summary)
        team = ", ".join(f"{name} ({mid})" for mid, name in turn.names.items())
        user = prompts.TURN.format(
            goal=turn.goal,
            team=team,
            tasks=_task_board(turn),
            transcript=_lines(turn.transcript),
            turn=turn.state.turns + 1,
            max_turns=turn.state.limits.max_turns,
            situation=situation,
            types=", ".join(turn.legal.types),
        )
        messages = [
            {"role": "system", "content": prompts.SYSTEM.format(name=turn.name, role=turn.role)},
            {"role": "user", "content": user},
        ]
        schema = moves_schema(turn.legal, text_max=self.text_max)
        move, _ = await self.engine.structured(
            messages, agent=turn.me, schema=schema, temperature=self.temperature
        )
        return dict(move)

    async def work(self, job: Job) -> str:
        messages = [
            {"role": "system", "content": prompts.SYSTEM.format(name="a specialist", role="")},
            {
                "role": "user",
                "content": prompts.WORK.format(
                    goal=job.goal, title=job.title or job.task_id, description=job.description
                ),
            },
        ]
        completion = await self.engine.chat(
            messages, agent=f"work:{job.group}", max_tokens=self.work_tokens
        )
        return strip_echoes(completion.text) or "(no result)"

    async def wants_team(self, job: Job) -> bool:
        schema = {
            "type": "object",
            "properties": {"choice": {"enum": ["alone", "team"]}},
            "required": ["choice"],
            "additionalProperties": False,
        }
        messages = [
            {"role": "user", "content": prompts.TEAM_CHOICE.format(description=job.description)}
        ]
        answer, _ = await self.engine.structured(messages, agent="team-formation", schema=schema)
        return bool(answer["choice"] == "team")

    async def queries(self, goal: str) -> list[str]:
        schema = {
            "type": "object",
            "properties": {
                "queries": {
                    "type": "array",
                    "items": {"type": "string", "maxLength": 60},
                    "minItems": 1,
                    "maxItems": 3,
                }
            },
            "required": ["queries"],
            "additionalProperties": False,
        }
        messages = [{"role": "user", "content": prompts.QUERIES.format(goal=goal)}]
        answer, _ = await self.engine.structured(messages, agent="team-formation", schema=schema)
        return [goal, *[q for q in answer["queries"] if isinstance(q, str)]]

    async def pick(
        self, goal: str, candidates: list[Candidate], max_members: int, forced: bool
    ) -> list[str] | None:
        if not candidates:
            return [] if forced else None
        if self.decoding == "score" and can_score(self.engine):
            return await self._pick_scored(goal, candidates, max_members)
        schema = {
            "type": "object",
            "properties": {
                "members": {
                    "type": "array",
                    "items": {"enum": [c.id for c in candidates]},
                    "minItems": 1,
                    "maxItems": max(1, min(max_members, len(candidates))),
                }
            },
            "required": ["members"],
            "additionalProperties": False,
        }
        listing = "\n".join(
            f"- {c.id}: {c.name} — {c.description[:120]} (skills: {', '.join(c.skills)})"
            for c in candidates
        )
        messages = [
            {
                "role": "user",
                "content": prompts.PICK.format(
                    goal=goal, candidates=listing, max_members=max_members
                ),
            }
        ]
        answer, _ = await self.engine.structured(messages, agent="team-formation", schema=schema)
        return list(dict.fromkeys(answer["members"]))

    async def _pick_scored(
        self, goal: str, candidates: list[Candidate], max_members: int
    ) -> list[str]:
        """The member the model finds likeliest for the goal, then discovery's next best."""
        options = [
            prompts.MEMBER_OPTION.format(name=c.name, does=c.description[:100].rstrip("."))
            for c in candidates
        ]
        if len(set(options)) < len(options):  # two cards alike: the ids tell them apart
            options = [f"{o} ({c.id})" for o, c in zip(options, candidates, strict=True)]
        messages = [{"role": "user", "content": prompts.PICK_ONE.format(goal=goal)}]
        index = await choose(
            self.engine, messages, options, agent="team-formation", decoding="score"
        )
        best = candidates[index].id
        rest = [c.id for c in candidates if c.id != best]
        return [best, *rest][:max_members]

"""Protocol compliance: local-model agents decoding under grammars send no frame the hub refuses.

Runs 50 conversations of `LLMBrain` agents on a tiny generated MiniCPM GGUF (noise weights, in a
temp dir: the text is gibberish, so only the grammar keeps the moves legal) through a real hub on
loopback. Teams of 2-4 members, turn caps of 4-8; in every fifth conversation the lead opens with
an assignment and the first assignee forms a sub-team (found by discovery, picked by the model).
Measured: frames the hub refused (its `/v1/health` counter and each agent's `rejections`),
conversations concluded, turns per conversation, and model tokens spent on coordination (moves,
team formation) versus work (tasks), from `engine.stats` keyed by agent id, `team-formation` and
`work:<group>`.

Side by side, the same conversations (goals, team sizes, turn caps) driven by naive agents on the
same model that ignore the legal-move schema and post what they decode straight to the hub
(`POST /v1/groups/{id}/messages`, no fallback), each when the conversation is theirs to move:
- wire-typed: generic JSON whose `type` is any wire message type, `to` any members, `task_id`
  any id seen so far or a new one; the naive client fills in the fields that type needs;
- json-mode: generic JSON with a free-string `type`, as a plain JSON mode would give.
Ends with one `RESULT {json}` line.

    PYTHONPATH=. python benchmarks/protocol_compliance.py [--conversations 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from agents.brain import Job, Turn
from agents.conversation import Conversation
from agents.llm_brain import LLMBrain
from agents.runtime import Agent, AgentOptions
from ioa.client import ClientError, HubClient
from ioa.config import HubConfig
from ioa.hub import Hub
from ioa.llm import AgentStats, Engine, load_engine, write_tiny_gguf
from protocols import AgentCard, Envelope, Payload, Skill
from protocols.conversation import WAITING_PHASES, ConversationState

GOALS = [
    "plan a picnic for twelve people",
    "write a short product description for a desk lamp",
    "compare two train routes from Lyon to Milan",
    "draft an agenda for a one-hour team meeting",
    "estimate the cost of painting a small flat",
    "outline a beginner workout for three days",
    "summarise the pros and cons of remote work",
]
ROLES = [
    ("Planner", "Breaks goals into steps and hands them out.", "planning"),
    ("Researcher", "Finds facts and compares options.", "research"),
    ("Writer", "Writes short clear texts.", "writing"),
    ("Analyst", "Estimates costs and weighs trade-offs.", "analysis"),
    ("Organiser", "Books, schedules and coordinates.", "organising"),
]
ASSIGN_TYPES = frozenset({"sync_task_assign", "async_task_assign"})
OPTIONS = AgentOptions(max_depth=1, max_members=2, transcript_lines=8)
CONVERSATION_TIMEOUT = 120.0
NAIVE_PROMPT = (
    "Goal: {goal}\nTeam: {team}\nYou are {me}.\nRecent messages:\n{transcript}\n\n"
    "Reply with the JSON message you send to the group now."
)
"""Prompt of the naive agents (the grammared ones use `agents.prompts`)."""


@dataclass(frozen=True)
class Plan:
    index: int
    goal: str
    size: int
    max_turns: int
    nested: bool
    """The lead opens with an assignment and its first assignee forms a sub-team."""


def make_plans(count: int, seed: int) -> list[Plan]:
    rng = random.Random(seed)
    return [
        Plan(i, GOALS[i % len(GOALS)], 2 + i % 3, rng.choice((4, 6, 8)), i % 5 == 4)
        for i in range(count)
    ]


def role_card(role: tuple[str, str, str], tag: str) -> AgentCard:
    name, description, skill = role
    return AgentCard(
        name=f"{name} {tag}", description=description, skills=[Skill(name=skill, tags=[skill])]
    )


def team_cards(plan: Plan) -> list[AgentCard]:
    roles = [ROLES[(plan.index + k) % len(ROLES)] for k in range(plan.size)]
    return [role_card(role, f"#{plan.index}") for role in roles]


def specialist_card(plan: Plan) -> AgentCard:
    """An outsider a sub-team can recruit: online, and found by searching for the goal."""
    return AgentCard(
        name=f"Specialist #{plan.index}",
        description=f"Helps with sub-tasks of goals such as: {plan.goal}.",
        skills=[Skill(name="helping", tags=["help"])],
    )


# --- grammared: the real runtime ------------------------------------------------------------


class Nesting:
    """Whether a conversation still owes its one sub-team (claimed by the first assignee)."""

    def __init__(self, wanted: bool, goal: str) -> None:
        self.open = wanted
        self.goal = goal
        """The top-level goal, searched for too: a noise model's task text matches no card."""

    def claim(self) -> bool:
        claimed, self.open = self.open, False
        return claimed


class BenchBrain(LLMBrain):
    """`LLMBrain` whose sub-team decision is the plan's (asking the noise model would make a
    random, unbounded number of sub-teams); in a nested plan the lead's first move is narrowed
    to an assignment, whose assignees, title and text the model still chooses."""

    def __init__(self, engine: Engine, nesting: Nesting) -> None:
        super().__init__(engine, text_max=24, work_tokens=12)
        self.nesting = nesting

    async def move(self, turn: Turn) -> dict[str, Any]:
        first = turn.depth == 0 and turn.state.initiator == turn.me and not turn.state.tasks
        if self.nesting.open and first:
            assign = tuple(m for m in turn.legal.moves if m.type in ASSIGN_TYPES)
            turn = replace(turn, legal=replace(turn.legal, moves=assign))
        return await super().move(turn)

    async def wants_team(self, job: Job) -> bool:
        return job.depth == 0 and self.nesting.claim()

    async def queries(self, goal: str) -> list[str]:
        own, *more = await super().queries(goal)
        return [own, self.nesting.goal, *more]  # the team keeps at most three queries


@dataclass
class Tokens:
    calls: int = 0
    prompt_tokens: int = 0
    evaluated_prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, stats: AgentStats | Tokens, sign: int = 1) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + sign * getattr(stats, f.name))

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class Run:
    plan: Plan
    concluded: bool
    turns: int
    frames: int
    """Messages the agents sent, top-level group and sub-teams."""
    sub_teams: int
    sub_concluded: int
    rejections: int
    moves: Tokens
    """Model calls choosing moves (keyed by agent id)."""
    formation: Tokens
    """Model calls forming sub-teams (search queries, picks)."""
    work: Tokens
    """Model calls doing tasks."""
    unattributed: int
    """Tokens of this conversation in none of the three (0 unless the accounting is wrong)."""
    types: Counter[str]


@contextlib.asynccontextmanager
async def running(agents: list[Agent]) -> AsyncIterator[list[Agent]]:
    async with contextlib.AsyncExitStack() as stack:
        for agent in agents:
            await stack.enter_async_context(agent)
        yield agents


async def turns_of(agent: Agent, group: str) -> tuple[ConversationState, list[Envelope]]:
    conversation = Conversation(await agent.client.group(group))
    await conversation.resync(agent.client)
    return conversation.state, await agent.client.history(group)


async def sub_teams(agents: list[Agent], parent: str) -> list[tuple[str, Agent]]:
    """Groups formed below `parent`, each with a member to ask about it."""
    found: dict[str, Agent] = {}
    for agent in agents:
        for group in agent.client.groups:
            if group != parent and group not in found:
                info = await agent.client.group(group)
                if (info.meta.get("parent") or {}).get("group") == parent:
                    found[group] = agent
    return list(found.items())


async def grammared(hub: Hub, engine: Engine, plan: Plan) -> Run:
    nesting = Nesting(plan.nested, plan.goal)
    cards = team_cards(plan) + ([specialist_card(plan)] if plan.nested else [])
    agents = [Agent(c, BenchBrain(engine, nesting), hub.url, options=OPTIONS) for c in cards]
    total_before, formation_before = engine.stats(), engine.stats("team-formation")
    async with running(agents):
        lead = agents[0]
        roster = [a.id for a in agents[1 : plan.size]]
        group = await lead.launch(plan.goal, roster=roster, meta={"max_turns": plan.max_turns})
        with contextlib.suppress(TimeoutError):
            await lead.conclusion(group, timeout=CONVERSATION_TIMEOUT)
        subs = await sub_teams(agents, group)
        deadline = time.monotonic() + CONVERSATION_TIMEOUT
        while plan.nested and not nesting.open and not subs and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # claimed, but an async task's sub-team is still forming
            subs = await sub_teams(agents, group)
        sub_concluded = 0
        for sub, member in subs:
            with contextlib.suppress(TimeoutError):
                await member.conclusion(sub, timeout=CONVERSATION_TIMEOUT)
                sub_concluded += 1
        for agent in agents:
            await agent.settled()
        state, history = await turns_of(lead, group)
        for sub, member in subs:
            history += (await turns_of(member, sub))[1]
    moves, formation, work, total = Tokens(), Tokens(), Tokens(), Tokens()
    for agent in agents:
        moves.add(engine.stats(agent.id))
    formation.add(engine.stats("team-formation"))
    formation.add(formation_before, -1)
    for g in [group, *(sub for sub, _ in subs)]:
        work.add(engine.stats(f"work:{g}"))
    total.add(engine.stats())
    total.add(total_before, -1)
    return Run(
        plan=plan,
        concluded=state.over,
        turns=state.turns,
        frames=len(history),
        sub_teams=len(subs),
        sub_concluded=sub_concluded,
        rejections=sum(a.rejections for a in agents),
        moves=moves,
        formation=formation,
        work=work,
        unattributed=total.total - moves.total - formation.total - work.total,
        types=Counter(e.type for e in history),
    )


# --- naive: the same conversations without the legal-move schema ----------------------------


WIRE_TYPES = list(Payload.registry)


def naive_schema(variant: str, members: list[str], task_ids: list[str]) -> dict[str, Any]:
    text = {"type": "string", "maxLength": 24}
    if variant == "json_mode":
        props: dict[str, Any] = {
            "type": {"type": "string", "maxLength": 16},
            "to": {"type": "array", "items": {"type": "string", "maxLength": 24}, "maxItems": 3},
            "text": text,
        }
    else:
        props = {
            "type": {"enum": WIRE_TYPES},
            "to": {"type": "array", "items": {"enum": members}, "maxItems": len(members)},
            "task_id": {"enum": task_ids},
            "text": text,
        }
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


def naive_payload(move: dict[str, Any], sender: str) -> dict[str, Any]:
    """The payload a naive client builds: every field the chosen type has, filled from the move."""
    cls = Payload.registry.get(move["type"])
    if cls is None:
        return {"type": move["type"], "text": move["text"]}
    task_id, text = move.get("task_id", "t1"), move["text"]
    values = {
        "text": text,
        "description": text,
        "result": text,
        "title": text,
        "task_id": task_id,
        "task_ids": [task_id],
        "status": "done",
        "kind": "turn",
        "agent": sender,
    }
    return {"type": move["type"]} | {f: values[f] for f in cls.model_fields if f in values}


def actor_of(state: ConversationState) -> str | None:
    """Who moves now: the speaker, or while the group waits, an assignee owing a report."""
    if state.phase not in WAITING_PHASES:
        return state.speaker
    for task_id in state.waiting_on:
        task = state.task(task_id)
        owing = [a for a in task.assignees if task.awaits(a)] if task else []
        if owing:
            return owing[0]
    return None


@dataclass
class NaiveRun:
    frames: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    """Refusals by the hub's error code."""
    concluded: bool = False


async def naive(hub: Hub, engine: Engine, plan: Plan, variant: str) -> NaiveRun:
    run = NaiveRun()
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, HubClient] = {}
        names: dict[str, str] = {}
        for card in team_cards(plan):
            client = await stack.enter_async_context(HubClient(hub.url))
            clients[await client.register(card)] = client
            names[str(client.agent_id)] = card.name
        members = list(clients)
        lead = clients[members[0]]
        meta = {"goal": plan.goal, "initiator": members[0], "depth": 0, "max_turns": plan.max_turns}
        info = await lead.create_group(members[1:], name=plan.goal, protocol="ioa", meta=meta)
        group = info.id
        conversation = Conversation(info)
        said: list[str] = []
        for _ in range(plan.max_turns + 2):
            state = conversation.state
            actor = actor_of(state)
            if state.over or actor is None:
                break
            task_ids = [t.id for t in state.tasks] + [f"t{len(state.tasks) + 1}"]
            prompt = NAIVE_PROMPT.format(
                goal=plan.goal,
                team=", ".join(f"{n} ({m})" for m, n in names.items()),
                me=f"{names[actor]} ({actor})",
                transcript="\n".join(said[-8:]) or "(none yet)",
            )
            move, _ = await engine.structured(
                [{"role": "user", "content": prompt}],
                agent=f"naive:{variant}",
                schema=naive_schema(variant, members, task_ids),
            )
            body = {
                "id": f"m{plan.index}-{run.frames}-{variant}",
                "group": group,
                "sender": actor,
                "to": move["to"],
                "payload": naive_payload(move, actor),
            }
            run.frames += 1
            try:
                await clients[actor].request("POST", f"/v1/groups/{group}/messages", body)
            except ClientError as exc:
                run.refused[exc.code] += 1
                continue
            conversation.fold(Envelope.model_validate(body))
            said.append(f"{names[actor]} [{move['type']}]: {move['text']}")
        run.concluded = conversation.over
    return run


# --- the run -------------------------------------------------------------------------------


async def hub_rejections(client: HubClient) -> Counter[str]:
    return Counter((await client.request("GET", "/v1/health"))["rejections"])


def spread(values: list[int]) -> dict[str, float]:
    return {
        "mean": round(statistics.mean(values), 2),
        "median": statistics.median(values),
        "max": max(values),
    }


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    plans = make_plans(args.conversations, args.seed)
    with tempfile.TemporaryDirectory(prefix="ioa-compliance-") as tmp:
        gguf = write_tiny_gguf(Path(tmp) / "tiny-minicpm.gguf", "minicpm")
        config = HubConfig(host="127.0.0.1", port=0, database_url=str(Path(tmp) / "hub.db"))
        async with (
            Hub(config) as hub,
            await load_engine(gguf, n_ctx=2048, n_threads=args.threads) as engine,
            HubClient(hub.url) as observer,
        ):
            started = time.perf_counter()
            before = await hub_rejections(observer)
            runs: list[Run] = []
            for plan in plans:
                run = await grammared(hub, engine, plan)
                runs.append(run)
                print(
                    f"#{plan.index:02d} size {plan.size} cap {plan.max_turns}: "
                    f"{'concluded' if run.concluded else 'OPEN'} in {run.turns} turns, "
                    f"{run.frames} frames, {run.sub_teams} sub-team(s), refused {run.rejections}, "
                    f"tokens moves {run.moves.total} formation {run.formation.total} "
                    f"work {run.work.total}",
                    flush=True,
                )
            after = await hub_rejections(observer)
            grammar_s = time.perf_counter() - started
            naive_runs: dict[str, list[NaiveRun]] = {}
            for variant in ("wire_typed", "json_mode"):
                naive_runs[variant] = [await naive(hub, engine, p, variant) for p in plans]
            naive_s = time.perf_counter() - started - grammar_s
            final = await hub_rejections(observer)
    return summarise(runs, after - before, naive_runs, final - after, grammar_s, naive_s)


def summarise(
    runs: list[Run],
    hub_refused: Counter[str],
    naive_runs: dict[str, list[NaiveRun]],
    naive_hub_refused: Counter[str],
    grammar_s: float,
    naive_s: float,
) -> dict[str, Any]:
    moves, formation, work, types = Tokens(), Tokens(), Tokens(), Counter[str]()
    for run in runs:
        moves.add(run.moves)
        formation.add(run.formation)
        work.add(run.work)
        types.update(run.types)
    coordination = Tokens()
    coordination.add(moves)
    coordination.add(formation)
    spent = coordination.total + work.total
    frames = sum(r.frames for r in runs)
    illegal = sum(hub_refused.values())
    nested = [r for r in runs if r.plan.nested]
    print(f"\n{len(runs)} conversations with grammars in {grammar_s:.1f} s")
    agent_refused = sum(r.rejections for r in runs)
    print(f"  hub refused {illegal} of {frames} frames; agents counted {agent_refused}")
    concluded, turns = sum(r.concluded for r in runs), spread([r.turns for r in runs])
    print(f"  concluded {concluded}/{len(runs)}; turns per conversation {turns}")
    print(
        f"  sub-teams {sum(r.sub_teams for r in runs)} in {sum(r.sub_teams > 0 for r in nested)}"
        f"/{len(nested)} nested conversations, {sum(r.sub_concluded for r in runs)} concluded"
    )
    print(f"  frames by type: {dict(types.most_common())}")
    print(
        f"  tokens (prompt + generated): coordination {coordination.total} = moves "
        f"{moves.total} ({moves.calls} calls) + team formation {formation.total} "
        f"({formation.calls} calls); work {work.total} ({work.calls} calls); coordination is "
        f"{coordination.total / max(spent, 1):.0%}"
    )
    ungrammared: dict[str, Any] = {}
    for variant, naive_list in naive_runs.items():
        sent = sum(n.frames for n in naive_list)
        codes: Counter[str] = Counter()
        for n in naive_list:
            codes.update(n.refused)
        refused = sum(codes.values())
        ungrammared[variant] = {
            "frames": sent,
            "refused": refused,
            "refused_ratio": round(refused / max(sent, 1), 3),
            "codes": dict(codes.most_common()),
            "concluded": sum(n.concluded for n in naive_list),
        }
        print(
            f"without grammar ({variant}): hub refused {refused}/{sent} frames = "
            f"{refused / max(sent, 1):.0%}; concluded {ungrammared[variant]['concluded']}/"
            f"{len(naive_list)}; codes {dict(codes.most_common(4))}"
        )
    print(
        f"refused per frame: grammar {illegal}/{frames} vs wire-typed "
        f"{ungrammared['wire_typed']['refused']}/{ungrammared['wire_typed']['frames']} "
        f"(naive phase {naive_s:.1f} s; hub counted {sum(naive_hub_refused.values())})"
    )
    return {
        "conversations": len(runs),
        "illegal_rejected": illegal,
        "refused_ratio": round(illegal / max(frames, 1), 3),
        "hub_rejections": dict(hub_refused),
        "agent_rejections": agent_refused,
        "frames": frames,
        "concluded": concluded,
        "turns": turns,
        "frames_per_conversation": spread([r.frames for r in runs]),
        "team_sizes": dict(sorted(Counter(r.plan.size for r in runs).items())),
        "sub_teams": {
            "nested_conversations": len(nested),
            "formed": sum(r.sub_teams for r in runs),
            "concluded": sum(r.sub_concluded for r in runs),
        },
        "frame_types": dict(types.most_common()),
        "tokens": {
            "moves": moves.__dict__,
            "team_formation": formation.__dict__,
            "coordination": coordination.__dict__,
            "work": work.__dict__,
            "coordination_share": round(coordination.total / max(spent, 1), 3),
            "unattributed": sum(r.unattributed for r in runs),
        },
        "ungrammared": ungrammared,
        "ungrammared_hub_refused": sum(naive_hub_refused.values()),
        "seconds": {"grammar": round(grammar_s, 1), "ungrammared": round(naive_s, 1)},
        "model": "tiny-minicpm (generated, noise weights)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="llama.cpp threads; one is fastest for a 64-wide model (no thread handoffs)",
    )
    args = parser.parse_args()
    result = asyncio.run(measure(args))
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()

"""Goals: a person or an agent asks the hub for something; a team answers with a conclusion.

`POST /v1/goals` returns at once. The hub opens a conversation for the goal: with the given
roster, or with one initiator (given, or the agent whose card best matches the goal) who forms
the team itself. The goal is done when that conversation concludes, and failed when the hub
ends it because the team ran out of turns or fell silent (the hub's conclusion, from
`HUB_SENDER`, says why and becomes the goal's conclusion). `GET /v1/goals/{id}` tells
the status; `GET /v1/goals/{id}/events` streams the transcript of the goal's groups (its team and
every sub-team) as server-sent events until the conclusion.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ioa.hub.entries import Group
from ioa.hub.errors import Forbidden, InvalidRequest, NotFound
from ioa.hub.rest import caller, json_ok, read_model
from ioa.hub.state import STATE, HubState
from ioa.store import GoalRecord, StoredMessage
from protocols import HUB_SENDER
from protocols.conversation.settings import MAX_TIMEOUT
from protocols.text import Text, scrub


class GoalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    goal: Text = Field(min_length=1, max_length=8000)
    roster: list[str] | None = Field(default=None, min_length=1, max_length=64)
    """Members of the team; the first speaks first. Without it, an initiator forms the team."""
    initiator: str | None = None
    """Who leads when there is no roster; default: the best match for the goal, online."""
    max_members: int = Field(default=3, ge=1, le=16)
    max_turns: int = Field(default=24, ge=1, le=10_000)
    turn_timeout: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)
    task_timeout: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)


class Goals:
    """The hub's goals, in memory and in the store, and who is watching them."""

    def __init__(self, state: HubState) -> None:
        self.state = state
        self.goals: dict[str, GoalRecord] = {}
        self.by_group: dict[str, str] = {}
        self.watchers: dict[str, set[asyncio.Queue[str | None]]] = {}
        self.closing = False
        """The hub is stopping: event streams end without a `done` event."""
        self._writes: set[asyncio.Task[None]] = set()
        state.router.listeners.append(self._stored)

    async def load(self) -> None:
        for goal in await self.state.store.list_goals():
            self._keep(goal)

    def _keep(self, goal: GoalRecord) -> None:
        known = self.goals.get(goal.id)
        if known is None:
            self.goals[goal.id] = goal
            self.by_group[goal.group_id] = goal.id
        elif known.status == "running" and goal.status != "running":
            known.status, known.conclusion = goal.status, goal.conclusion
            known.updated_at = goal.updated_at
            for queue in self.watchers.get(goal.id, ()):
                queue.put_nowait(None)

    async def reload(self, goal_id: str) -> GoalRecord | None:
        """Another hub created or ended this goal: take the store's row."""
        shared = self.state.registry.shared
        if shared is not None and (goal := await shared.get_goal(goal_id)) is not None:
            self._keep(goal)
        return self.goals.get(goal_id)

    async def refresh(self) -> None:
        """Every goal again, after hearing nothing for a while (a broker outage)."""
        for goal in await self.state.store.list_goals():
            self._keep(goal)

    async def create(self, creator: str, request: GoalRequest) -> GoalRecord:
        registry = self.state.registry
        goal_id = "goal-" + uuid.uuid4().hex[:16]
        meta: dict[str, Any] = {
            "goal": request.goal,
            "goal_id": goal_id,
            "depth": 0,
            "max_turns": request.max_turns,
        }
        for key in ("turn_timeout", "task_timeout"):
            if (value := getattr(request, key)) is not None:
                meta[key] = value
        if request.roster:
            members = request.roster
            meta["initiator"] = request.initiator or members[0]
        else:
            leader = request.initiator or await self._best_initiator(request.goal, creator)
            members = [leader]
            meta.update(initiator=leader, form_team=True, max_members=request.max_members)
        group = await registry.create_group(
            creator, scrub(request.goal)[:60], members, "ioa", meta, creator_joins=False
        )
        goal = GoalRecord(goal_id, request.goal, creator, group.id, time.time())
        await self.state.store.add_goal(goal)
        self.goals[goal_id] = goal
        self.by_group[group.id] = goal_id
        registry.notify("goal", goal_id)
        self.state.router.announce(group)
        return goal

    async def _best_initiator(self, text: str, exclude: str) -> str:
        """The online LLM agent whose card best matches the goal (by meaning too, when the
        hub has its embedding model), else the longest registered online one."""
        vector = await self.state.embeddings.embed_query(text[:1000])
        hits = self.state.discovery.search(
            text, k=10, online_only=True, exclude=[exclude], query_vector=vector
        )
        agents = self.state.registry.agents
        for hit in hits:
            if agents[hit.agent_id].card.kind == "llm":
                return hit.agent_id
        online = [a for a in agents.values() if a.card.kind == "llm" and self.state.is_online(a)]
        if not online:
            raise InvalidRequest("no online agent can lead this goal; name a roster or initiator")
        return min(online, key=lambda a: a.created_at).id

    async def flush(self) -> None:
        """Before the hub stops: end every event stream (else the server waits for them, up to
        a minute, after their clients left) and wait for pending status writes."""
        self.closing = True
        for queues in self.watchers.values():
            for queue in queues:
                queue.put_nowait(None)
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def find(self, goal_id: str, reader: str) -> GoalRecord:
        """`get`, reading the store when another hub made the goal and it was not heard yet."""
        if goal_id not in self.goals:
            await self.reload(goal_id)
        return self.get(goal_id, reader)

    def get(self, goal_id: str, reader: str) -> GoalRecord:
        goal = self.goals.get(goal_id)
        if goal is None:
            raise NotFound(f"no goal {goal_id!r}")
        group = self.state.registry.groups.get(goal.group_id)
        if reader != goal.creator and (group is None or reader not in group.member_set):
            raise Forbidden("only the goal's creator and its team may read it")
        return goal

    def view(self, goal: GoalRecord) -> dict[str, Any]:
        return {
            "id": goal.id,
            "goal": goal.text,
            "status": goal.status,
            "group": goal.group_id,
            "conclusion": goal.conclusion,
            "created_at": goal.created_at,
            "updated_at": goal.updated_at,
        }

    def groups_of(self, goal_id: str) -> list[Group]:
        return [g for g in self.state.registry.groups.values() if g.meta.get("goal_id") == goal_id]

    async def _save(self, goal: GoalRecord) -> None:
        when = goal.updated_at or time.time()
        await self.state.store.update_goal(goal.id, goal.status, goal.conclusion, when)
        self.state.registry.notify("goal", goal.id)

    def _stored(self, group: Group, msg: StoredMessage) -> None:
        goal_id = group.meta.get("goal_id")
        if not isinstance(goal_id, str) or goal_id not in self.goals:
            return
        for queue in self.watchers.get(goal_id, ()):
            queue.put_nowait(msg.body)
        goal = self.goals[goal_id]
        if msg.type == "conclusion" and group.id == goal.group_id:
            goal.status = "failed" if msg.sender == HUB_SENDER else "done"
            goal.conclusion = group.policy.outcome()
            goal.updated_at = time.time()
            write = asyncio.ensure_future(self._save(goal))
            self._writes.add(write)
            write.add_done_callback(self._writes.discard)
            for queue in self.watchers.get(goal_id, ()):
                queue.put_nowait(None)


GOALS = web.AppKey("goals", Goals)


async def post_goal(request: web.Request) -> web.Response:
    goals = request.app[GOALS]
    agent = await caller(request)
    body = await read_model(request, GoalRequest)
    goal = await goals.create(agent.id, body)
    return json_ok(goals.view(goal), 202)


async def get_goal(request: web.Request) -> web.Response:
    goals = request.app[GOALS]
    agent = await caller(request)
    return json_ok(goals.view(await goals.find(request.match_info["goal_id"], agent.id)))


async def goal_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: `message` per stored envelope of the goal's groups, then `done`."""
    goals = request.app[GOALS]
    state = request.app[STATE]
    agent = await caller(request)
    goal = await goals.find(request.match_info["goal_id"], agent.id)
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    goals.watchers.setdefault(goal.id, set()).add(queue)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    try:
        await response.prepare(request)
        seen: set[tuple[str, int]] = set()
        backlog: list[tuple[float, str, int, str]] = []
        for group in goals.groups_of(goal.id):
            for msg in await state.store.messages_after(group.id, 0, 100_000):
                backlog.append((msg.ts, msg.group_id, msg.seq, msg.body))
        for _, group_id, seq, stored in sorted(backlog):
            seen.add((group_id, seq))
            await response.write(f"event: message\ndata: {stored}\n\n".encode())
        while goal.status == "running":
            live = await queue.get()
            if goals.closing:
                return response
            if live is None:
                break
            key = _key(live)
            if key not in seen:
                seen.add(key)
                await response.write(f"event: message\ndata: {live}\n\n".encode())
        await response.write(f"event: done\ndata: {json.dumps(goals.view(goal))}\n\n".encode())
    finally:
        goals.watchers[goal.id].discard(queue)
    return response


def _key(body: str) -> tuple[str, int]:
    data = json.loads(body)
    return data["group"], data["seq"]


def add_routes(app: web.Application, goals: Goals) -> None:
    app[GOALS] = goals
    app.router.add_post("/v1/goals", post_goal)
    app.router.add_get("/v1/goals/{goal_id}", get_goal)
    app.router.add_get("/v1/goals/{goal_id}/events", goal_events)

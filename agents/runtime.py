"""`Agent`: one agent's life on a hub, as a LangGraph loop observe → decide → act → wait.

Every event (a delivered message, a new group, a finished task) runs the graph once:
- observe: fold the event into memory — the agent keeps its own copy of each conversation's
  state by applying every message in sequence order with the same state machine as the hub;
- decide: where the agent holds the turn, ask the brain for a move constrained to its legal
  moves (a move that is not legal becomes a safe fallback); report finished tasks;
- act: send what was decided and wait for the hub's acks;
- wait: nothing more to do until the next event.

The memory is checkpointed after every step (SQLite under `state_dir`, or in memory), and the
hub replays from the checkpointed cursors, so an agent process restarted mid-conversation picks
up where it was. Tasks run in background tasks, never in the loop: a synchronous assignment, or
a sub-team formed for a task, cannot block the agent from hearing its other groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypedDict

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from agents.brain import Brain, Job, Line, Turn
from agents.fallback import TURN_TYPES, fallback_move
from agents.team import choose_members
from ioa.client import ClientError, HubClient
from ioa.lifecycle import Service
from protocols import AgentCard, Envelope, ProtocolError, SyncTaskAssignment, TaskResult
from protocols.conversation import ConversationState, Phase, apply, legal_moves
from protocols.conversation.settings import conversation_for_group
from protocols.frames import GroupInfo
from protocols.messages import AsyncTaskAssignment, Conclude, Conclusion
from protocols.moves import move_to_envelope
from protocols.text import scrub

log = logging.getLogger("ioa.agent")

CHECKPOINT_BUSY_TIMEOUT = 30.0
"""Seconds a checkpoint write waits for another connection's lock (e.g. a previous instance's)."""


class Memory(TypedDict, total=False):
    """What the agent remembers between events (all plain JSON, checkpointed)."""

    applied: dict[str, int]
    """group → highest seq folded into memory; the hub replays from here after a restart."""
    groups: dict[str, dict[str, Any]]
    convs: dict[str, dict[str, Any]]
    lines: dict[str, list[dict[str, Any]]]
    names: dict[str, str]
    jobs: dict[str, dict[str, Any]]
    """"group/task" → the agent's work on a task (or "group/goal" for a goal it leads)."""
    inflight: dict[str, str]
    """group → id of the agent's own message not yet seen back from the hub."""
    event: dict[str, Any] | None
    outbox: list[dict[str, Any]]
    status: str


@dataclass(frozen=True)
class AgentOptions:
    max_depth: int = 2
    """How deep sub-teams may nest below a top-level team."""
    max_members: int = 3
    """Most members an agent invites when it forms a team."""
    transcript_lines: int = 20
    """Recent messages kept per group for prompts."""
    state_dir: Path | None = None
    """Where credentials and checkpoints live; None keeps them in memory only."""


def _job_key(group: str, task_id: str | None) -> str:
    return f"{group}/{task_id or 'goal'}"


class Agent(Service):
    """An agent on a hub: `async with Agent(card, brain, hub_url) as agent:`."""

    def __init__(
        self,
        card: AgentCard,
        brain: Brain,
        hub_url: str,
        *,
        token: str | None = None,
        agent_id: str | None = None,
        options: AgentOptions | None = None,
    ) -> None:
        self.card = card
        self.brain = brain
        self.options = options or AgentOptions()
        self.client = HubClient(
            hub_url, token=token, agent_id=agent_id, echo=True, on_joined=self._joined
        )
        self.rejections = 0
        """Moves the hub refused (always 0 for a correct agent: its moves are legal by design)."""
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._working: set[str] = set()
        self._states: dict[str, ConversationState] = {}
        self._waiters: dict[str, list[asyncio.Future[str]]] = {}
        self._saver: BaseCheckpointSaver[Any] | None = None
        self._checkpoints: aiosqlite.Connection | None = None
        self._graph: Any = None
        self._idle = asyncio.Event()

    @property
    def id(self) -> str:
        if self.client.agent_id is None:
            raise ClientError("the agent is not registered yet", "unauthorized")
        return self.client.agent_id

    # lifecycle

    async def start(self) -> Agent:
        await self.client.__aenter__()
        await self._credentials()
        self._saver = await self._open_saver()
        self._graph = self._build_graph()
        memory = await self._memory()
        self.client.cursors = dict(memory.get("applied", {}))
        for group_id, data in memory.get("convs", {}).items():
            self._states[group_id] = ConversationState.from_dict(data)
        await self.client.connect()
        if await self._interrupted():
            # The previous instance died inside a run. `memory` (and so the cursors) includes
            # the outputs its finished nodes saved, but a new event would start a fresh run
            # from the last whole checkpoint and drop them: finish the interrupted run first.
            try:
                await self._graph.ainvoke(None, self._config)
            except Exception:
                log.exception("%s: could not finish the interrupted step", self.card.name)
            memory = await self._memory()
        self._spawn(self._pump())
        self._spawn(self._loop())
        for key, job in memory.get("jobs", {}).items():
            if job["state"] == "running":  # interrupted by a restart: do it again
                self._start_work(key, job)
        known = set(memory.get("groups", {}))
        for group_id in self.client.groups:
            if group_id not in known:
                self._events.put_nowait(
                    {"kind": "joined", "group": await self.client.group(group_id)}
                )
        self._events.put_nowait({"kind": "tick"})
        return self

    async def stop(self) -> None:
        try:
            for task in list(self._tasks):
                task.cancel()
            for task in list(self._tasks):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.client.close()
        finally:
            if self._checkpoints is not None:
                conn, self._checkpoints = self._checkpoints, None
                await conn.close()

    async def _credentials(self) -> None:
        """Reuse the id and token saved under `state_dir`, or register and save them."""
        path = self.options.state_dir / "credentials.json" if self.options.state_dir else None
        if self.client.token is None and path is not None and path.exists():
            saved = json.loads(path.read_text())
            self.client.token, self.client.agent_id = saved["token"], saved["agent_id"]
        if self.client.token is None:
            await self.client.register(self.card)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(
                    json.dumps({"agent_id": self.client.agent_id, "token": self.client.token})
                )
                path.chmod(0o600)

    async def _open_saver(self) -> BaseCheckpointSaver[Any]:
        if self.options.state_dir is None:
            return InMemorySaver()
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        self.options.state_dir.mkdir(parents=True, exist_ok=True)
        # Autocommit: stopping cancels the graph, but LangGraph's background checkpoint writes
        # may still run after that. In a transaction, one of them left between its INSERT and
        # COMMIT would keep the write lock past close() and block the next instance forever.
        self._checkpoints = await aiosqlite.connect(
            self.options.state_dir / "checkpoints.db",
            timeout=CHECKPOINT_BUSY_TIMEOUT,
            isolation_level=None,
        )
        return AsyncSqliteSaver(self._checkpoints)

    @property
    def _config(self) -> dict[str, Any]:
        return {"configurable": {"thread_id": self.id}}

    async def _memory(self) -> Memory:
        snapshot = await self._graph.aget_state(self._config)
        return dict(snapshot.values)  # type: ignore[return-value]

    async def _interrupted(self) -> bool:
        """Whether the last checkpoint still has nodes to run (`aget_state` hides them)."""
        async for latest in self._graph.aget_state_history(self._config, limit=1):
            return bool(latest.next)
        return False

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _start_work(self, key: str, job: dict[str, Any]) -> None:
        """Run a job in the background, once: a resumed run may hand over one already started."""
        if key not in self._working:
            self._working.add(key)
            self._spawn(self._work(key, job))

    def _joined(self, info: GroupInfo) -> None:
        self._events.put_nowait({"kind": "joined", "group": info.model_dump(mode="json")})

    async def _pump(self) -> None:
        async for envelope in self.client.messages():
            self._events.put_nowait({"kind": "envelope", "envelope": envelope.model_dump()})

    async def _loop(self) -> None:
        while True:
            if self._events.empty():
                self._idle.set()
            event = await self._events.get()
            self._idle.clear()
            try:
                await self._graph.ainvoke({"event": event}, self._config)
            except Exception:
                log.exception("%s: failed to handle %s event", self.card.name, event.get("kind"))

    async def settled(self, quiet: float = 0.05) -> None:
        """Wait until the agent has handled every event so far (for tests and scripts)."""
        while True:
            await self._idle.wait()
            await asyncio.sleep(quiet)
            if self._idle.is_set() and self._events.empty():
                return

    # the graph
    def _build_graph(self) -> Any:
        graph = StateGraph(Memory)
        graph.add_node("observe", self._observe)
        graph.add_node("decide", self._decide)
        graph.add_node("act", self._act)
        graph.add_node("wait", self._wait)
        graph.add_edge(START, "observe")
        graph.add_edge("observe", "decide")
        graph.add_conditional_edges("decide", lambda m: "act" if m.get("outbox") else "wait")
        graph.add_edge("act", "wait")
        graph.add_edge("wait", END)
        return graph.compile(checkpointer=self._saver)

    async def _observe(self, mem: Memory) -> Memory:
        m = _fresh(mem)
        event = mem.get("event") or {}
        kind = event.get("kind")
        if kind == "envelope":
            await self._fold(m, Envelope.model_validate(event["envelope"]))
        elif kind == "joined":
            await self._know_group(m, event["group"])
        elif kind == "job":
            job = m["jobs"].get(event["key"])
            if job is not None and job["state"] in ("running", "delegated"):
                m["jobs"][event["key"]] = {**job, **event["job"]}
        elif kind == "resync":
            await self._resync(m, event["group"])
        m["event"] = None
        return m

    async def _decide(self, mem: Memory) -> Memory:
        m = _fresh(mem)
        for group_id, info in m["groups"].items():
            if info["protocol"] != "ioa" or group_id in m["inflight"]:
                continue
            state = self._states[group_id]
            if state.over:
                continue
            envelope = await self._next_move(m, group_id, info, state)
            if envelope is not None:
                m["outbox"].append(envelope.model_dump(mode="json"))
                m["inflight"][group_id] = envelope.id
        return m

    async def _act(self, mem: Memory) -> Memory:
        m = _fresh(mem)
        for data in m["outbox"]:
            envelope = Envelope.model_validate(data)
            try:
                await self.client.send(envelope)
            except ClientError as exc:
                self.rejections += 1
                log.warning("%s: hub refused %s: %s", self.card.name, envelope.type, exc.message)
                m["inflight"].pop(envelope.group, None)
                self._events.put_nowait({"kind": "resync", "group": envelope.group})
        m["outbox"] = []
        return m

    async def _wait(self, mem: Memory) -> Memory:
        m = _fresh(mem)
        waiting = [g for g, s in self._states.items() if not s.over and s.speaker != self.id]
        m["status"] = f"waiting on {len(waiting)} group(s)" if waiting else "idle"
        return m

    # observe
    async def _know_group(self, m: Memory, info: dict[str, Any]) -> None:
        group_id = info["id"]
        if group_id in m["groups"]:
            return
        m["groups"][group_id] = info
        m["applied"].setdefault(group_id, 0)
        m["lines"].setdefault(group_id, [])
        for member in info["members"]:
            if member not in m["names"]:
                m["names"][member] = await self._name_of(member)
        if info["protocol"] == "ioa":
            state = conversation_for_group(
                group_id, info["members"], info["meta"], info["created_at"]
            )
            self._set_state(m, group_id, state)
            meta = info["meta"]
            if meta.get("form_team") and state.initiator == self.id:
                key = _job_key(group_id, None)
                if key not in m["jobs"]:
                    job = {"group": group_id, "task_id": None, "state": "running"}
                    m["jobs"][key] = job
                    self._start_work(key, job)

    async def _name_of(self, agent_id: str) -> str:
        if agent_id == self.client.agent_id:
            return self.card.name
        try:
            return str((await self.client.agent(agent_id))["card"]["name"])
        except ClientError:
            return agent_id

    async def _fold(self, m: Memory, envelope: Envelope) -> None:
        group_id = envelope.group
        if group_id not in m["groups"]:
            await self._know_group(m, await self.client.group(group_id))
        seq = envelope.seq or 0
        if seq <= m["applied"].get(group_id, 0):
            return
        text = _text_of(envelope)
        lines = m["lines"].setdefault(group_id, [])
        lines.append(
            {
                "seq": seq,
                "sender": envelope.sender,
                "type": envelope.type,
                "text": text,
                "to": envelope.to,
            }
        )
        del lines[: -self.options.transcript_lines]
        m["applied"][group_id] = seq
        if m["inflight"].get(group_id) == envelope.id:
            del m["inflight"][group_id]
        if m["groups"][group_id]["protocol"] != "ioa":
            return
        try:
            state = apply(self._states[group_id], envelope)
        except ProtocolError as exc:
            log.warning("%s: state drifted in %s (%s); replaying", self.card.name, group_id, exc)
            await self._resync(m, group_id)
            return
        self._set_state(m, group_id, state)
        payload = envelope.payload
        if isinstance(payload, SyncTaskAssignment | AsyncTaskAssignment) and self.id in envelope.to:
            key = _job_key(group_id, payload.task_id)
            if key not in m["jobs"]:
                job = {"group": group_id, "task_id": payload.task_id, "state": "running"}
                m["jobs"][key] = job
                self._start_work(key, job)
        if state.over:
            self._concluded(m, group_id, state.conclusion or "")

    async def _resync(self, m: Memory, group_id: str) -> None:
        """Rebuild a group's state from the hub's transcript (after a refusal or a drift)."""
        info = await self.client.group(group_id)
        state = conversation_for_group(group_id, info["members"], info["meta"], info["created_at"])
        after = 0
        while page := await self.client.history(group_id, after=after):
            for envelope in page:
                state = apply(state, envelope)
            after = page[-1].seq or after
        self._set_state(m, group_id, state)
        m["applied"][group_id] = max(m["applied"].get(group_id, 0), after)
        m["inflight"].pop(group_id, None)

    def _set_state(self, m: Memory, group_id: str, state: ConversationState) -> None:
        self._states[group_id] = state
        m["convs"][group_id] = state.to_dict()

    def _concluded(self, m: Memory, group_id: str, text: str) -> None:
        """A group is over: wake its waiters; a sub-team this agent led answers its task, which
        fails when the hub ended the sub-team (its conclusion then says why)."""
        for future in self._waiters.pop(group_id, []):
            if not future.done():
                future.set_result(text)
        state = self._states[group_id]
        parent = m["groups"][group_id]["meta"].get("parent")
        if parent and state.initiator == self.id:
            key = _job_key(parent["group"], parent.get("task_id"))
            job = m["jobs"].get(key)
            if job is not None and job["state"] == "delegated":
                status = "failed" if state.phase is Phase.EXPIRED else "done"
                m["jobs"][key] = {**job, "state": "done", "status": status, "result": text}

    # decide
    async def _next_move(
        self, m: Memory, group_id: str, info: dict[str, Any], state: ConversationState
    ) -> Envelope | None:
        legal = legal_moves(state, self.id)
        for job in m["jobs"].values():
            task = state.task(job["task_id"]) if job["group"] == group_id else None
            if job["state"] == "done" and task is not None and task.awaits(self.id):
                report = TaskResult(
                    task_id=task.id, status=job.get("status", "done"), result=job["result"][:8000]
                )
                return Envelope(group=group_id, sender=self.id, payload=report)
        goal_job = m["jobs"].get(_job_key(group_id, None))
        if goal_job is not None:
            return self._close_goal(legal, group_id, goal_job)
        turn_legal = replace(legal, moves=tuple(s for s in legal.moves if s.type in TURN_TYPES))
        if not turn_legal.may_speak:
            return None
        turn = Turn(
            me=self.id,
            name=self.card.name,
            role=self.card.description,
            goal=str(info["meta"].get("goal", "")),
            group=group_id,
            names={mid: m["names"].get(mid, mid) for mid in info["members"]},
            state=state,
            legal=turn_legal,
            transcript=self._transcript(m, group_id),
            depth=int(info["meta"].get("depth", 0)),
        )
        try:
            return move_to_envelope(turn_legal, await self.brain.move(turn))
        except Exception as exc:  # a brain's bad answer must never stop the conversation
            log.info("%s: brain gave no legal move (%s); using the fallback", self.card.name, exc)
        move = fallback_move(turn_legal, summary=_summary(turn.transcript))
        return move_to_envelope(turn_legal, move) if move is not None else None

    def _close_goal(self, legal: Any, group_id: str, job: dict[str, Any]) -> Envelope | None:
        """A goal group this agent leads: once its team has concluded, conclude here too."""
        if job["state"] != "done":
            return None
        if "conclude" in legal.types:
            payload: Any = Conclude(text="The team has concluded.")
        elif "conclusion" in legal.types:
            payload = Conclusion(text=job["result"][:8000])
        else:
            return None
        return Envelope(group=group_id, sender=self.id, payload=payload)

    def _transcript(self, m: Memory, group_id: str) -> list[Line]:
        names = m["names"]
        return [
            Line(
                seq=line["seq"],
                sender=names.get(line["sender"], line["sender"]),
                type=line["type"],
                text=line["text"],
                to=tuple(names.get(t, t) for t in line["to"]),
            )
            for line in m["lines"].get(group_id, [])
        ]

    # work
    async def _work(self, key: str, job: dict[str, Any]) -> None:
        mem = await self._memory()
        group_id = job["group"]
        info = mem.get("groups", {}).get(group_id) or await self.client.group(group_id)
        meta = info["meta"]
        state = self._states.get(group_id)
        task = state.task(job["task_id"]) if state is not None and job["task_id"] else None
        goal = str(meta.get("goal", ""))
        depth = int(meta.get("depth", 0))
        work = Job(
            group=group_id,
            task_id=job["task_id"] or "goal",
            title=task.title if task else "",
            description=task.description if task else goal,
            goal=goal,
            assigner=task.assigner if task else "",
            depth=depth,
            transcript=self._transcript(_fresh(mem), group_id),
        )
        outcome: dict[str, Any]
        try:
            leading_goal = job["task_id"] is None
            if leading_goal or (
                depth < self.options.max_depth and await self.brain.wants_team(work)
            ):
                sub_depth = depth if leading_goal else depth + 1
                if await self._delegate(key, work, sub_depth, meta):
                    return
            outcome = {"state": "done", "status": "done", "result": await self.brain.work(work)}
        except Exception as exc:
            log.warning("%s: task %s failed: %s", self.card.name, key, exc)
            outcome = {"state": "done", "status": "failed", "result": f"failed: {exc}"}
        self._events.put_nowait({"kind": "job", "key": key, "job": outcome})

    async def _delegate(self, key: str, work: Job, depth: int, meta: dict[str, Any]) -> bool:
        """Form a sub-team for `work`; its conclusion will become the job's result."""
        members = await choose_members(
            self.client,
            self.brain,
            work.description,
            me=self.id,
            max_members=self.options.max_members,
        )
        if not members:
            return False
        sub_meta = {
            "goal": work.description,
            "initiator": self.id,
            "depth": depth,
            "parent": {
                "group": work.group,
                "task_id": None if work.task_id == "goal" else work.task_id,
            },
            "max_turns": meta.get("max_turns", 40),
        }
        if "goal_id" in meta:
            sub_meta["goal_id"] = meta["goal_id"]
        for clock in ("turn_timeout", "task_timeout", "max_silent_turns"):
            if clock in meta:
                sub_meta[clock] = meta[clock]  # on its parent's clock, a sub-team ends too
        self._events.put_nowait({"kind": "job", "key": key, "job": {"state": "delegated"}})
        info = await self.client.create_group(
            members,
            name=scrub(f"team for {work.title or work.task_id}")[:200],
            protocol="ioa",
            meta=sub_meta,
        )
        self._events.put_nowait({"kind": "joined", "group": info})
        return True

    # for people and scripts
    async def launch(
        self, goal: str, *, roster: list[str] | None = None, meta: dict[str, Any] | None = None
    ) -> str:
        """Form a team for `goal` (or take `roster`) and open its conversation; the group id."""
        members = roster
        if members is None:
            members = await choose_members(
                self.client, self.brain, goal, me=self.id, max_members=self.options.max_members
            )
        info = await self.client.create_group(
            members,
            name=scrub(goal)[:60],
            protocol="ioa",
            meta={"goal": goal, "initiator": self.id, "depth": 0, **(meta or {})},
        )
        self._events.put_nowait({"kind": "joined", "group": info})
        return str(info["id"])

    async def conclusion(self, group_id: str, timeout: float | None = None) -> str:
        """Wait for a group this agent is in to conclude; its conclusion text."""
        state = self._states.get(group_id)
        if state is not None and state.over:
            return state.conclusion or ""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(group_id, []).append(future)
        return await asyncio.wait_for(future, timeout)


def _fresh(mem: Memory) -> Memory:
    """A working copy of memory whose containers a node may change in place."""
    return Memory(
        applied=dict(mem.get("applied", {})),
        groups=dict(mem.get("groups", {})),
        convs=dict(mem.get("convs", {})),
        lines={k: list(v) for k, v in mem.get("lines", {}).items()},
        names=dict(mem.get("names", {})),
        jobs=dict(mem.get("jobs", {})),
        inflight=dict(mem.get("inflight", {})),
        event=mem.get("event"),
        outbox=list(mem.get("outbox", [])),
        status=mem.get("status", ""),
    )


def _text_of(envelope: Envelope) -> str:
    payload = envelope.payload
    for name in ("text", "description", "result"):
        value = getattr(payload, name, None)
        if isinstance(value, str) and value:
            title = getattr(payload, "title", "")
            return f"{title}: {value}" if title and name == "description" else value
    if envelope.type == "pause":
        return "waiting for " + ", ".join(getattr(payload, "task_ids", []))
    if envelope.type == "timeout":
        return json.dumps(payload.model_dump(exclude={"type"}, exclude_none=True))
    return ""


def _summary(lines: list[Line]) -> str:
    said = [f"{line.sender}: {line.text}" for line in lines if line.text][-3:]
    return " | ".join(said)[:2000] or "No conclusion was reached."

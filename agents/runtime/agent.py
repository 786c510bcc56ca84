"""`Agent`: one agent's life on a hub, as a LangGraph loop observe → decide → act → wait.

Every event (a delivered message, a new group, a finished task) runs the graph once:
- observe: fold the event into memory — the agent keeps its own replica of each conversation
  (`agents.conversation.Conversation`), applying every message in sequence order with the same
  state machine as the hub (`observe`);
- decide: report finished tasks; where the agent holds the turn, ask the brain for a move
  constrained to its legal moves, a safe fallback if it is not legal (`decide`);
- act: send what was decided and wait for the hub's acks;
- wait: nothing more to do until the next event.

The memory is checkpointed after every step (`persistence`), and the hub replays from the
checkpointed cursors, so an agent process restarted mid-conversation picks up where it was.
Tasks run in background tasks (`work`), never in the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Coroutine, Sequence
from typing import Any, cast

import aiosqlite
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.brain import Brain
from agents.conversation import Conversation
from agents.runtime.decide import next_move
from agents.runtime.events import EVENT, Delivered, Event, Joined, Resync, Spent, Tick
from agents.runtime.memory import JobRecord, JobState, Memory, fresh
from agents.runtime.observe import Observer
from agents.runtime.options import AgentOptions
from agents.runtime.persistence import credentials, open_saver
from agents.runtime.usage import attach, give_back
from agents.runtime.work import Work
from agents.team import choose_members
from ioa.client import ClientError, HubClient
from ioa.lifecycle import Service
from ioa.meter import metered
from protocols import AgentCard, Envelope
from protocols.conversation import ConversationState
from protocols.frames import GroupInfo
from protocols.text import scrub

log = logging.getLogger("ioa.agent")

Graph = CompiledStateGraph[Memory, None, Memory, Memory]


class Agent(Service):
    """An agent on a hub: `async with Agent(card, brain, hub_url) as agent:`.

    `hub_url` may name several hubs of one cluster (a sequence, or comma-separated text): the
    client fails over between them and resumes its conversations on whichever answers.
    """

    def __init__(
        self,
        card: AgentCard,
        brain: Brain,
        hub_url: str | Sequence[str],
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
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._working: set[str] = set()
        self._conversations: dict[str, Conversation] = {}
        """group → this agent's replica of its conversation ("ioa" groups only)."""
        self._waiters: dict[str, list[asyncio.Future[str]]] = {}
        self._followers: dict[str, list[asyncio.Queue[Envelope]]] = {}
        self._checkpoints: aiosqlite.Connection | None = None
        self._graph: Graph | None = None
        self._idle = asyncio.Event()
        self._work = Work(
            card.name,
            self.client,
            brain,
            self.options,
            post=self._events.put_nowait,
            memory=self._memory,
            conversations=self._conversations,
        )
        self._observer = Observer(
            card,
            self.client,
            self.options,
            me=lambda: self.id,
            start_work=self._start_work,
            conversations=self._conversations,
            waiters=self._waiters,
        )

    @property
    def id(self) -> str:
        if self.client.agent_id is None:
            raise ClientError("the agent is not registered yet", "unauthorized")
        return self.client.agent_id

    # lifecycle

    async def start(self) -> Agent:
        """Register (or reuse the saved credentials), connect and start working.

        A start that fails half-way (the hub refuses the registration, or is unreachable)
        stops what it started, so no client session or database connection is left open.
        """
        try:
            return await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> Agent:
        await self.client.__aenter__()
        await credentials(
            self.client, self.card, self.options.state_dir, self.options.registration_token
        )
        saver, self._checkpoints = await open_saver(self.options.state_dir)
        self._graph = self._build_graph(saver)
        memory = await self._memory()
        self.client.cursors = dict(memory.get("applied", {}))
        for group_id, data in memory.get("convs", {}).items():
            self._conversations[group_id] = Conversation(
                GroupInfo.model_validate(memory["groups"][group_id]),
                ConversationState.from_dict(data),
                seq=memory.get("applied", {}).get(group_id, 0),
            )
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
            if job["state"] == JobState.RUNNING:  # interrupted by a restart: do it again
                self._start_work(key, job)
        known = set(memory.get("groups", {}))
        for group_id in self.client.groups:
            if group_id not in known:
                self._events.put_nowait(Joined(group=await self.client.group(group_id)))
        self._events.put_nowait(Tick())
        return self

    async def stop(self) -> None:
        try:
            await _cancel_all(self._tasks)
            await self.client.close()
        finally:
            if self._checkpoints is not None:
                conn, self._checkpoints = self._checkpoints, None
                await conn.close()

    @property
    def _config(self) -> RunnableConfig:
        return {"configurable": {"thread_id": self.id}}

    def _compiled(self) -> Graph:
        if self._graph is None:
            raise ClientError("the agent is not started", "closed")
        return self._graph

    async def _memory(self) -> Memory:
        snapshot = await self._compiled().aget_state(self._config)
        # LangGraph hands the state back as a plain dict; it is the `Memory` the nodes returned.
        return cast(Memory, snapshot.values)

    async def _interrupted(self) -> bool:
        """Whether the last checkpoint still has nodes to run (`aget_state` hides them)."""
        async for latest in self._compiled().aget_state_history(self._config, limit=1):
            return bool(latest.next)
        return False

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _start_work(self, key: str, job: JobRecord) -> None:
        """Run a job in the background, once: a resumed run may hand over one already started."""
        if key not in self._working:
            self._working.add(key)
            self._spawn(self._work.run(key, job))

    def _joined(self, info: GroupInfo) -> None:
        self._events.put_nowait(Joined(group=info))

    async def _pump(self) -> None:
        async for envelope in self.client.messages():
            for queue in self._followers.get(envelope.group, ()):
                queue.put_nowait(envelope)
            self._events.put_nowait(Delivered(envelope=envelope))

    async def _loop(self) -> None:
        me = asyncio.current_task()
        while True:
            if self._events.empty():
                self._idle.set()
            event = await self._events.get()
            self._idle.clear()
            try:
                data = EVENT.dump_python(event, mode="json")
                await self._compiled().ainvoke({"event": data}, self._config)
            except Exception:
                log.exception("%s: failed to handle %s event", self.card.name, event.kind)
            if me is not None and me.cancelling():
                # LangGraph turns a cancellation that lands inside a node into an ordinary
                # exception (NodeCancelledError); stopping must still stop this loop.
                raise asyncio.CancelledError

    async def settled(self, quiet: float = 0.05) -> None:
        """Wait until the agent has handled every event so far (for tests and scripts)."""
        while True:
            await self._idle.wait()
            await asyncio.sleep(quiet)
            if self._idle.is_set() and self._events.empty():
                return

    # the graph
    def _build_graph(self, saver: Any) -> Graph:
        graph = StateGraph(Memory)
        graph.add_node("observe", self._observer.observe)
        graph.add_node("decide", self._decide)
        graph.add_node("act", self._act)
        graph.add_node("wait", self._wait)
        graph.add_edge(START, "observe")
        graph.add_edge("observe", "decide")
        graph.add_conditional_edges("decide", _after_decide)
        graph.add_edge("act", "wait")
        graph.add_edge("wait", END)
        return graph.compile(checkpointer=saver)

    async def _decide(self, state: Memory) -> Memory:
        m = fresh(state)
        for group_id, info in m["groups"].items():
            if info["protocol"] != "ioa" or group_id in m["inflight"]:
                continue
            conversation = self._conversations[group_id]
            if conversation.over:
                continue
            envelope = await next_move(m, conversation, self.card, self.id, self.brain)
            if envelope is not None:
                envelope = attach(m, envelope)  # the model spending pended on the group
                m["outbox"].append(envelope.model_dump(mode="json"))
                m["inflight"][group_id] = envelope.id
        return m

    async def _act(self, state: Memory) -> Memory:
        m = fresh(state)
        for data in m["outbox"]:
            envelope = Envelope.model_validate(data)
            try:
                await self.client.send(envelope)
            except ClientError as exc:
                self.rejections += 1
                log.warning("%s: hub refused %s: %s", self.card.name, envelope.type, exc.message)
                m["inflight"].pop(envelope.group, None)
                give_back(m, envelope)
                self._events.put_nowait(Resync(group=envelope.group))
        m["outbox"] = []
        return m

    async def _wait(self, state: Memory) -> Memory:
        m = fresh(state)
        waiting = [
            g for g, c in self._conversations.items() if not c.over and c.state.speaker != self.id
        ]
        m["status"] = f"waiting on {len(waiting)} group(s)" if waiting else "idle"
        return m

    # for people and scripts
    async def launch(
        self, goal: str, *, roster: list[str] | None = None, meta: dict[str, Any] | None = None
    ) -> str:
        """Form a team for `goal` (or take `roster`) and open its conversation; the group id."""
        members = roster
        with metered() as formation:
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
        self._events.put_nowait(Joined(group=info))
        if spent := formation.spends("coordination"):
            self._events.put_nowait(Spent(group=info.id, spends=spent))
        return info.id

    async def follow(self, group_id: str) -> AsyncGenerator[Envelope, None]:
        """Every message of a group this agent is in, in sequence order from the first, as the
        hub delivers them; ends after the conclusion. What was sent before the call comes from
        the hub's transcript, the rest from the agent's own deliveries (no polling)."""
        queue: asyncio.Queue[Envelope] = asyncio.Queue()
        followers = self._followers.setdefault(group_id, [])
        followers.append(queue)  # before reading the transcript, so nothing falls in between
        try:
            seen = 0
            async for page in self.client.history_pages(group_id):
                for envelope in page:
                    seen = envelope.seq or seen
                    yield envelope
                    if envelope.type == "conclusion":
                        return
            while True:
                envelope = await queue.get()
                if (envelope.seq or 0) <= seen:
                    continue
                seen = envelope.seq or seen
                yield envelope
                if envelope.type == "conclusion":
                    return
        finally:
            followers.remove(queue)
            if not followers:
                self._followers.pop(group_id, None)

    async def conclusion(self, group_id: str, timeout: float | None = None) -> str:
        """Wait for a group this agent is in to conclude; its conclusion text."""
        conversation = self._conversations.get(group_id)
        if conversation is not None and conversation.over:
            return conversation.state.conclusion or ""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(group_id, []).append(future)
        return await asyncio.wait_for(future, timeout)


def _after_decide(m: Memory) -> str:
    return "act" if m.get("outbox") else "wait"


async def _cancel_all(tasks: set[asyncio.Task[None]], patience: float = 1.0) -> None:
    """Cancel `tasks` and wait for them; a cancellation that code under them swallowed (a task
    still running after `patience` seconds) is repeated, so stopping never hangs."""
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        done, pending = await asyncio.wait(pending, timeout=patience)
        for task in done:
            if not task.cancelled():
                task.exception()  # retrieved: a failure while stopping is not news

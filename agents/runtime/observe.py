"""The observe step of an agent's loop: fold each event into its memory and its replicas.

The agent keeps its own replica of each "ioa" conversation (`agents.conversation.Conversation`)
and applies every delivered message in sequence order with the same state machine as the hub;
a replica that drifts from the hub's (a refused move, a message it cannot apply) is rebuilt from
the hub's transcript. Folding a message is also where the agent learns it was handed a task (a
job is started in the background, `work`) and where a conclusion wakes those waiting for it and
answers the task a sub-team was formed for. This is the part of the loop that knows the
protocol's effects; the loop itself (`agent`) only runs the graph and acts on what `decide` chose.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from agents.conversation import Conversation
from agents.runtime.events import EVENT, Delivered, JobChanged, Joined, Resync, Spent
from agents.runtime.memory import JobRecord, JobState, Memory, fresh, job_key, remember_line
from agents.runtime.options import AgentOptions
from agents.runtime.usage import pend
from ioa.client import ClientError, HubClient
from protocols import AgentCard, Envelope, ProtocolError, SyncTaskAssignment
from protocols.acts import Award
from protocols.conversation import Phase
from protocols.frames import GroupInfo
from protocols.messages import AsyncTaskAssignment

__all__ = ["Observer"]

log = logging.getLogger("ioa.agent")


class Observer:
    """Folds an agent's events into its memory; the agent's replicas, waiters and job starter
    come in through the constructor (the agent owns them: it reads them too)."""

    def __init__(
        self,
        card: AgentCard,
        client: HubClient,
        options: AgentOptions,
        *,
        me: Callable[[], str],
        start_work: Callable[[str, JobRecord], None],
        conversations: dict[str, Conversation],
        waiters: dict[str, list[asyncio.Future[str]]],
    ) -> None:
        self.card = card
        self.client = client
        self.options = options
        self._me = me
        self._start_work = start_work
        self._conversations = conversations
        self._waiters = waiters

    @property
    def id(self) -> str:
        """The agent's id (`Agent.id`)."""
        return self._me()

    async def observe(self, state: Memory) -> Memory:
        """The graph's observe node: fold the event into memory and the replicas."""
        m = fresh(state)
        data = state.get("event")
        event = EVENT.validate_python(data) if data else None
        if isinstance(event, Delivered):
            await self._fold(m, event.envelope)
        elif isinstance(event, Joined):
            await self._know_group(m, event.group)
        elif isinstance(event, JobChanged):
            job = m["jobs"].get(event.key)
            if job is not None and job["state"] in (JobState.RUNNING, JobState.DELEGATED):
                changed = JobRecord(**job)
                changed["state"] = event.state.value
                if event.status is not None:
                    changed["status"] = event.status
                if event.result is not None:
                    changed["result"] = event.result
                m["jobs"][event.key] = changed
        elif isinstance(event, Spent):
            pend(m, event.group, event.spends)
        elif isinstance(event, Resync):
            await self._resync(m, event.group)
        m["event"] = None
        return m

    async def _know_group(self, m: Memory, info: GroupInfo) -> None:
        group_id = info.id
        if group_id in m["groups"]:
            return
        m["groups"][group_id] = info.model_dump(mode="json")
        m["applied"].setdefault(group_id, 0)
        m["lines"].setdefault(group_id, [])
        for member in info.members:
            if member not in m["names"]:
                m["names"][member] = await self._name_of(member)
        if info.protocol == "ioa":
            conversation = Conversation(info)
            self._remember(m, conversation)
            if info.meta.get("form_team") and conversation.state.initiator == self.id:
                key = job_key(group_id, None)
                if key not in m["jobs"]:
                    job = JobRecord(group=group_id, task_id=None, state=JobState.RUNNING.value)
                    m["jobs"][key] = job
                    self._start_work(key, job)

    async def _name_of(self, agent_id: str) -> str:
        if agent_id == self.client.agent_id:
            return self.card.name
        try:
            return (await self.client.agent(agent_id)).card.name
        except ClientError:
            return agent_id

    async def _fold(self, m: Memory, envelope: Envelope) -> None:
        group_id = envelope.group
        if group_id not in m["groups"]:
            await self._know_group(m, await self.client.group(group_id))
        seq = envelope.seq or 0
        if seq <= m["applied"].get(group_id, 0):
            return
        remember_line(m, envelope, self.options.transcript_lines)
        m["applied"][group_id] = seq
        if m["inflight"].get(group_id) == envelope.id:
            del m["inflight"][group_id]
        if m["groups"][group_id]["protocol"] != "ioa":
            return
        conversation = self._conversations[group_id]
        try:
            conversation.fold(envelope)
        except ProtocolError as exc:
            log.warning("%s: state drifted in %s (%s); replaying", self.card.name, group_id, exc)
            await self._resync(m, group_id)
            return
        self._remember(m, conversation)
        state = conversation.state
        payload = envelope.payload
        if (
            isinstance(payload, SyncTaskAssignment | AsyncTaskAssignment | Award)
            and self.id in envelope.to
        ):
            key = job_key(group_id, payload.task_id)
            if key not in m["jobs"]:
                job = JobRecord(
                    group=group_id, task_id=payload.task_id, state=JobState.RUNNING.value
                )
                m["jobs"][key] = job
                self._start_work(key, job)
        if state.over:
            self._concluded(m, group_id, state.conclusion or "")

    async def _resync(self, m: Memory, group_id: str) -> None:
        """Rebuild a group's state from the hub's transcript (after a refusal or a drift)."""
        conversation = self._conversations[group_id]
        await conversation.resync(self.client)
        self._remember(m, conversation)
        m["applied"][group_id] = max(m["applied"].get(group_id, 0), conversation.seq)
        m["inflight"].pop(group_id, None)

    def _remember(self, m: Memory, conversation: Conversation) -> None:
        self._conversations[conversation.group] = conversation
        m["convs"][conversation.group] = conversation.state.to_dict()

    def _concluded(self, m: Memory, group_id: str, text: str) -> None:
        """A group is over: wake its waiters; a sub-team this agent led answers its task, which
        fails when the hub ended the sub-team (its conclusion then says why)."""
        for future in self._waiters.pop(group_id, []):
            if not future.done():
                future.set_result(text)
        state = self._conversations[group_id].state
        parent = m["groups"][group_id]["meta"].get("parent")
        if parent and state.initiator == self.id:
            key = job_key(parent["group"], parent.get("task_id"))
            job = m["jobs"].get(key)
            if job is not None and job["state"] == JobState.DELEGATED:
                done = JobRecord(**job)
                done["state"], done["result"] = JobState.DONE.value, text
                done["status"] = "failed" if state.phase is Phase.EXPIRED else "done"
                m["jobs"][key] = done

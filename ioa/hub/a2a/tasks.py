"""A2A tasks that follow IoA conversations.

A message to an agent's card opens a goal whose roster is the caller and that agent: the caller
(an IoA agent, the one whose token came with the request) speaks first, its message a
`discussion` addressed to the agent. A message to the hub's card opens a goal with no roster:
the best-matching agent leads it and forms a team. The A2A task then reads the conversation:

| conversation                                   | task                      |
|------------------------------------------------|---------------------------|
| goal opened, first message not yet stored      | submitted                 |
| an agent holds the turn, or a task is out      | working                   |
| the caller holds the turn (an agent asked it)  | input-required            |
| concluded by a member                          | completed                 |
| concluded by the hub (members ran out)         | failed                    |
| concluded by the caller after `CancelTask`     | canceled                  |
| never opened (the agent is offline, no leader) | rejected                  |

Every message an agent sends becomes an agent `Message` (history, status updates); a
`task_result` and the conclusion become artifacts. A follow-up message (same `taskId`, or the
same `contextId` while the task asks for input) is the caller's next turn; a message in a context
whose task has ended opens a new task there, told how the previous one ended.

An agent whose card allows direct replies (`AgentCard.direct_replies`) may answer the opening
message without a task: its first move concludes, and its conclusion names that message in
`reply_to`. The caller then gets the conclusion as a `Message` (a stream: that one event), and
the task stays the hub's own record of the conversation, which the caller never sees (`Shape`).
Until such an agent's first move the caller is told nothing; any other first move makes the
answer the task, told from its start.

Tasks live in memory (a hub restart forgets them; the conversations stay in the store), at most
`MAX_TASKS`, the oldest finished ones dropped first.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid

from ioa.hub.a2a.errors import (
    A2AError,
    InvalidParams,
    TaskNotCancelable,
    TaskNotFound,
    UnsupportedOperation,
)
from ioa.hub.a2a.record import A2ATask, OnTask, Shape, Watcher, new_id
from ioa.hub.a2a.text import goal_text, result_parts, spoken_text
from ioa.hub.a2a.wire import (
    Artifact,
    Message,
    Part,
    Role,
    StreamResponse,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatusUpdateEvent,
)
from ioa.hub.entries import Group
from ioa.hub.errors import HubError
from ioa.hub.goals import GoalRequest, Goals
from ioa.hub.policy import ConversationPolicy
from ioa.store import StoredMessage
from protocols import HUB_SENDER, Envelope, ProtocolError
from protocols.conversation import Phase
from protocols.messages import Conclude, Conclusion, Discussion, TaskResult

MAX_TASKS = 10_000
GOAL_MAX = 8000
"""Characters of a goal (`GoalRequest.goal`): the first message's text, with what came before."""
CANCELED_TEXT = "Canceled by the A2A client."
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_.:\-]")
"""What an envelope id may not hold (`ID_PATTERN`). The caller's message id becomes the
envelope's id, made safe and, when the group has seen it, unique by a suffix: an agent keys
on its prefix (the conformance kit reuses its ids), and a resent id is not taken for a repeat."""


class TaskBook:
    """The hub's A2A tasks and who is watching them; it listens to every stored message."""

    def __init__(self, goals: Goals) -> None:
        self.goals = goals
        self.state = goals.state
        self.tasks: dict[str, A2ATask] = {}
        self.by_goal: dict[str, str] = {}
        self.contexts: dict[tuple[str, str], list[str]] = {}
        """(owner, context id) → its tasks, oldest first."""
        self.state.router.listeners.append(self._stored)

    # requests

    def owned(self, owner: str, task_id: str) -> A2ATask:
        """The caller's task; someone else's, or one the caller was never told of (a direct
        reply's, or one whose shape is not known yet), is as unknown as a missing one."""
        task = self.tasks.get(task_id)
        if task is None or task.owner != owner or task.shape is not Shape.TASK:
            raise TaskNotFound(f"no task {task_id[:80]!r}")
        return task

    async def send(
        self, owner: str, agent: str | None, message: Message, on_task: OnTask | None = None
    ) -> A2ATask:
        """Open a task for a message, or carry one on; refused input changes nothing."""
        if message.role is not Role.USER:
            raise InvalidParams("a client's message has the role ROLE_USER")
        text = goal_text(message.parts)
        if message.task_id is not None:
            task = self.owned(owner, message.task_id)
            if task.agent != agent:
                raise TaskNotFound(f"no task {message.task_id[:80]!r} at this agent")
            if message.context_id is not None and message.context_id != task.context_id:
                raise InvalidParams("the message's contextId is not its task's")
            await self._reply(task, message, text, on_task)
            return task
        earlier = self.contexts.get((owner, message.context_id or ""), [])
        if earlier:
            last = self.tasks[earlier[-1]]
            if last.state is TaskState.INPUT_REQUIRED and last.agent == agent:
                await self._reply(last, message, text, on_task)
                return last
        return await self._open(owner, agent, message, text, earlier, on_task)

    async def _open(
        self,
        owner: str,
        agent: str | None,
        message: Message,
        text: str,
        earlier: list[str],
        on_task: OnTask | None,
    ) -> A2ATask:
        context_id = message.context_id or new_id()
        if len(text) > GOAL_MAX:
            raise InvalidParams(f"the first message of a task holds at most {GOAL_MAX} characters")
        last = self.tasks[earlier[-1]] if earlier else None
        if last is not None and last.status_message is not None:
            said = last.status_message.parts[0].text or ""
            text = f"{text}\n\n(Earlier in this conversation the answer was: {said})"[:GOAL_MAX]
        task = A2ATask(new_id(), context_id, owner, agent)
        task.history.append(
            message.model_copy(update={"task_id": task.id, "context_id": context_id})
        )
        why = self._refusal(owner, agent)
        if why is None:
            roster = [owner, agent] if agent is not None else None
            request = GoalRequest(goal=text, roster=roster, initiator=owner if agent else None)
            try:
                goal = await self.goals.create(owner, request)
            except (HubError, ProtocolError) as exc:
                if agent is not None:
                    raise InvalidParams(exc.message) from None
                why = exc.message  # no online agent can lead it
            else:
                task.goal_id, task.group_id = goal.id, goal.group_id
        self._add(task)
        if on_task is not None:
            on_task(task)
        if why is not None:
            self._change(task, TaskState.REJECTED, self._agent_message(task, why, new_id()))
            return task
        if agent is None:
            self._change(task, TaskState.WORKING, None)
            return task
        if self.state.registry.agent(agent).card.direct_replies:
            task.shape = Shape.PENDING
        try:
            envelope = self._envelope(task, message, Discussion(text=text), [agent])
            task.opening = envelope.id  # before it is sent: the reply may come at once
            await self._submit(task, envelope)
        except A2AError as exc:  # the goal is open, its first message was refused: say so
            self.reveal(task)
            self._change(task, TaskState.FAILED, self._agent_message(task, exc.message, new_id()))
        return task

    def _refusal(self, owner: str, agent: str | None) -> str | None:
        if agent is None:
            return None
        if agent == owner:
            raise InvalidParams("an agent cannot send a message to itself")
        if not self.state.is_online(self.state.registry.agent(agent)):
            return "The agent is offline; it cannot take the task now."
        return None

    async def _reply(
        self, task: A2ATask, message: Message, text: str, on_task: OnTask | None
    ) -> None:
        if task.done:
            raise UnsupportedOperation(f"task {task.id} is {task.state.value}; it takes no input")
        if task.state is not TaskState.INPUT_REQUIRED or task.agent is None:
            raise UnsupportedOperation("the task is working; send input when it asks for it")
        if on_task is not None:
            on_task(task)
        copy = message.model_copy(update={"task_id": task.id, "context_id": task.context_id})
        task.history.append(copy)
        try:
            await self._submit(
                task, self._envelope(task, message, Discussion(text=text), [task.agent])
            )
        except Exception:
            task.history.remove(copy)
            raise

    def _envelope(
        self, task: A2ATask, message: Message, payload: Discussion, to: list[str]
    ) -> Envelope:
        """The caller's message in its conversation, under the caller's message id."""
        if task.group_id is None:
            raise UnsupportedOperation("the task has no conversation")
        group = self.state.registry.group(task.group_id)
        msg_id = _UNSAFE_ID.sub("_", message.message_id)[:64]
        if group.seen.recent(msg_id) is not None or group.seen.maybe_stored(msg_id):
            msg_id = f"{msg_id[:50]}:{uuid.uuid4().hex[:12]}"
        return Envelope(id=msg_id, group=task.group_id, sender=task.owner, to=to, payload=payload)

    async def _submit(self, task: A2ATask, envelope: Envelope) -> None:
        try:
            await self.state.router.submit(task.owner, envelope)
        except (HubError, ProtocolError) as exc:
            raise InvalidParams(exc.message) from None

    async def cancel(self, owner: str, task_id: str) -> A2ATask:
        """The caller ends the conversation in its own turn (`conclude`, then `conclusion`);
        while an agent holds the turn the task is not cancelable: nobody may speak for it."""
        task = self.owned(owner, task_id)
        if task.done:
            raise TaskNotCancelable(f"task {task.id} is already {task.state.value}")
        if task.state is not TaskState.INPUT_REQUIRED or task.group_id is None:
            raise TaskNotCancelable("an agent holds the turn; cancel when the task asks for input")
        task.cancel_requested = True
        group, me = task.group_id, task.owner
        try:
            await self.state.router.submit(me, Envelope(group=group, sender=me, payload=Conclude()))
            done = Conclusion(text=CANCELED_TEXT)
            await self.state.router.submit(me, Envelope(group=group, sender=me, payload=done))
        except (HubError, ProtocolError) as exc:
            task.cancel_requested = False
            raise TaskNotCancelable(exc.message) from None
        return task

    def watch(self, task: A2ATask) -> Watcher:
        queue: Watcher = asyncio.Queue()
        task.watchers.add(queue)
        return queue

    def reveal(self, task: A2ATask) -> None:
        """The answer is the task, if it was not known yet (the caller waited long enough, the
        first message failed, the hub stops)."""
        if task.shape is Shape.PENDING:
            self._decide(task, Shape.TASK, None)

    def close(self) -> None:
        """The hub is stopping: every stream ends, a task still unshaped told as a task."""
        for task in self.tasks.values():
            self.reveal(task)
            for queue in task.watchers:
                queue.put_nowait(None)

    # the conversation, as it is stored

    def _add(self, task: A2ATask) -> None:
        if len(self.tasks) >= MAX_TASKS:
            self._forget()
        self.tasks[task.id] = task
        self.contexts.setdefault((task.owner, task.context_id), []).append(task.id)
        if task.goal_id is not None:
            self.by_goal[task.goal_id] = task.id

    def _forget(self) -> None:
        old = sorted((t for t in self.tasks.values() if t.done), key=lambda t: t.updated)
        for task in old[: max(1, len(old) // 10)]:
            del self.tasks[task.id]
            self.by_goal.pop(task.goal_id or "", None)
            key = (task.owner, task.context_id)
            rest = [t for t in self.contexts.get(key, []) if t != task.id]
            if rest:
                self.contexts[key] = rest
            else:
                self.contexts.pop(key, None)

    def _stored(self, group: Group, msg: StoredMessage) -> None:
        goal_id = group.meta.get("goal_id")
        task = self.tasks.get(self.by_goal.get(goal_id, "")) if isinstance(goal_id, str) else None
        if task is None or not msg.body or task.done:
            return
        envelope = Envelope.model_validate_json(msg.body)
        payload = envelope.payload
        top = group.id == task.group_id
        if task.shape is Shape.PENDING:
            self._shape(task, envelope, group)
        said: Message | None = None
        if envelope.sender != task.owner:
            text = spoken_text(envelope)
            if text is not None:
                said = self._agent_message(task, text, envelope.id)
                if top:
                    task.history.append(said)
            if isinstance(payload, TaskResult) and payload.status == "done":
                self._artifact(task, payload.task_id, "task result", result_parts(payload))
        state = task.state
        policy = group.policy
        if top and isinstance(policy, ConversationPolicy):
            conversation = policy.state
            if conversation.over:
                state = TaskState.COMPLETED
                if task.cancel_requested:
                    state = TaskState.CANCELED
                elif conversation.phase is Phase.EXPIRED or envelope.sender == HUB_SENDER:
                    state = TaskState.FAILED
                elif isinstance(payload, Conclusion):
                    parts = _conclusion_parts(payload, group)
                    self._artifact(task, "conclusion", "conclusion", parts)
            elif (
                task.agent is not None
                and conversation.phase is Phase.OPEN
                and conversation.speaker == task.owner
            ):
                state = TaskState.INPUT_REQUIRED
            else:
                state = TaskState.WORKING
        if state is not task.state or said is not None:
            self._change(task, state, said)

    def _shape(self, task: A2ATask, envelope: Envelope, group: Group) -> None:
        """The first move of an agent that may reply directly tells what answers the caller:
        its conclusion naming the opening message is a direct reply; its `conclude` waits for
        that conclusion; the caller's own message tells nothing; anything else (a question, a
        task handed out, a sub-team, the hub's clock) makes the answer the task."""
        payload = envelope.payload
        top = group.id == task.group_id
        by_agent = top and envelope.sender == task.agent
        if (top and envelope.sender == task.owner) or (by_agent and isinstance(payload, Conclude)):
            return
        if by_agent and isinstance(payload, Conclusion) and envelope.reply_to == task.opening:
            reply = Message(
                message_id=envelope.id,
                context_id=task.context_id,
                role=Role.AGENT,
                parts=_conclusion_parts(payload, group),
            )
            self._decide(task, Shape.MESSAGE, reply)
        else:
            self._decide(task, Shape.TASK, None)

    def _decide(self, task: A2ATask, shape: Shape, reply: Message | None) -> None:
        task.shape, task.reply = shape, reply
        task.shaped.set()

    def _agent_message(self, task: A2ATask, text: str, message_id: str) -> Message:
        return Message(
            message_id=message_id,
            context_id=task.context_id,
            task_id=task.id,
            role=Role.AGENT,
            parts=[Part(text=text)],
        )

    def _artifact(self, task: A2ATask, artifact_id: str, name: str, parts: list[Part]) -> None:
        artifact = Artifact(artifact_id=artifact_id, name=name, parts=parts)
        task.artifacts.append(artifact)
        event = TaskArtifactUpdateEvent(
            task_id=task.id, context_id=task.context_id, artifact=artifact
        )
        self._tell(task, StreamResponse(artifact_update=event))

    def _change(self, task: A2ATask, state: TaskState, said: Message | None) -> None:
        task.state = state
        if said is not None:
            task.status_message = said
        task.updated = time.time()
        event = TaskStatusUpdateEvent(
            task_id=task.id, context_id=task.context_id, status=task.status()
        )
        self._tell(task, StreamResponse(status_update=event))

    def _tell(self, task: A2ATask, event: StreamResponse) -> None:
        for queue in task.watchers:
            queue.put_nowait(event)


def _conclusion_parts(conclusion: Conclusion, group: Group) -> list[Part]:
    """A conclusion's text, and the plan the conversation ended with, if any."""
    parts = [Part(text=conclusion.text)]
    policy = group.policy
    if isinstance(policy, ConversationPolicy) and policy.state.plan is not None:
        parts.append(Part(data=policy.state.plan))
    return parts

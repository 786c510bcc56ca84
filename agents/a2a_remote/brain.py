"""`A2ABrain`: a remote A2A agent's decisions, asked for over A2A and made legal here.

Each IoA conversation (group) is one A2A context at the remote: the first message opens it and
every later message of that group carries its `contextId`, so the remote sees one conversation.
At its turn the remote is told what was said since it last heard (and the goal, the first time)
and its answer becomes the move: a data part shaped like a legal move is used as that move (a
remote that speaks IoA), otherwise its words become the discussion (addressed back to whoever
spoke last) or the conclusion owed. A task assigned to it is one message; the answer's words
(artifacts first) are the result. A task that asks for input stays open: the group's next
message continues it.

Failures never break the conversation: at a turn, a remote that is down, too slow, failing or
unreadable yields a legal move that says so in a sentence; on a task, the same sentence fails
the task (`A2ARemoteError`, which the runtime reports as the task's failed result). Messages to
the remote are serialised per group, so one context sees its messages in order.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from agents.a2a_remote.answer import Answer
from agents.a2a_remote.connection import (
    A2ARemote,
    A2ARemoteError,
    A2ARemoteFailed,
    A2ARemoteInvalid,
)
from agents.brain import Brain, Job, Line, Turn
from agents.fallback import fallback_move
from protocols.conversation import LegalMoves

__all__ = ["A2ABrain", "text_move"]

# What the remote is told (prompts are data).
INTRO = "You are {name}, a member of a team (with {others}) working on this goal:\n{goal}\n\n"
NEWS = "Since you last heard:\n{lines}\n\n"
ASK_TURN = "It is your turn: answer with what you say to the team."
ASK_CONCLUSION = "The team has concluded: answer with the conclusion, the goal's answer."
TASK = "A task for you from {assigner}{title}:\n{description}"
NO_ANSWER = "I have no answer this turn: {reason}."

TEXT_MAX = 4000
"""Characters of the remote's words put in one move."""
FAILED_STATES = {
    "failed": "failed the task",
    "rejected": "rejected the task",
    "canceled": "canceled the task",
    "auth-required": "asks for an authorization IoA cannot give",
}
ANSWERED_STATES = frozenset({"completed", "input-required", "message"})


@dataclass
class Thread:
    """One IoA conversation as the remote sees it: one A2A context."""

    context_id: str | None = None
    open_task: str | None = None
    """A task that asked for input: the next message of the group continues it."""
    heard: int = -1
    """The last transcript `seq` the remote was told."""
    names: dict[str, str] = field(default_factory=dict)
    """member id → display name, as the last turn showed them."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class A2ABrain(Brain):
    """Moves and task results from a remote A2A agent (see the module docstring)."""

    def __init__(self, remote: A2ARemote, *, text_max: int = TEXT_MAX) -> None:
        self.remote = remote
        self.text_max = text_max
        """Characters of the remote's words kept in one move."""
        self._threads: dict[str, Thread] = {}

    def context_of(self, group: str) -> str | None:
        """The A2A context id the remote gave the conversation of `group`, once it answered."""
        thread = self._threads.get(group)
        return thread.context_id if thread is not None else None

    async def move(self, turn: Turn) -> dict[str, Any]:
        thread = self._threads.setdefault(turn.group, Thread())
        async with thread.lock:
            thread.names = dict(turn.names)
            others = ", ".join(n for m, n in turn.names.items() if m != turn.me)
            text = _intro(thread, turn.name, others, turn.goal)
            news = [line for line in turn.transcript if line.seq > thread.heard]
            told = [line for line in news if line.sender != turn.name]
            if told:
                text += NEWS.format(lines="\n".join(_said(line) for line in told))
            concluding = turn.legal.spec("conclusion") is not None
            text += ASK_CONCLUSION if concluding else ASK_TURN
            meta = {"group": turn.group, "asks": "turn", "moves": list(turn.legal.types)}
            try:
                answer = await self._ask(thread, text, meta)
            except A2ARemoteError as exc:
                return text_move(turn.legal, NO_ANSWER.format(reason=exc.message.rstrip(".")))
            if news:
                thread.heard = news[-1].seq
        for value in answer.data:
            if isinstance(value, dict) and value.get("type") in turn.legal.types:
                return dict(value)  # the runtime checks it: an illegal one becomes the fallback
        ids = {name: member for member, name in turn.names.items()}
        last = next((ids.get(line.sender) for line in reversed(told)), None)
        return text_move(turn.legal, answer.text[: self.text_max], reply_to=last)

    async def work(self, job: Job) -> str:
        thread = self._threads.setdefault(job.group, Thread())
        async with thread.lock:
            assigner = _sender(job, thread.names)
            text = _intro(thread, self.remote.name, assigner, job.goal)
            title = f" ({job.title})" if job.title else ""
            text += TASK.format(assigner=assigner, title=title, description=job.description)
            meta = {"group": job.group, "asks": "task", "task_id": job.task_id}
            answer = await self._ask(thread, text, meta)
        return answer.text or json.dumps(answer.data, ensure_ascii=False)

    async def _ask(self, thread: Thread, text: str, meta: dict[str, Any]) -> Answer:
        """The remote's answer to `text` in `thread`'s context, or `A2ARemoteError` saying why."""
        task_id, thread.open_task = thread.open_task, None
        answer = await self.remote.ask(
            text, context_id=thread.context_id, task_id=task_id, metadata={"ioa": meta}
        )
        thread.context_id = answer.context_id or thread.context_id
        if answer.state == "input-required":
            thread.open_task = answer.task_id or None
        name = self.remote.name
        if answer.state not in ANSWERED_STATES:
            why = FAILED_STATES.get(answer.state, f"left the task {answer.state}")
            said = f": {answer.text[:500]}" if answer.text else ""
            raise A2ARemoteFailed(f"the remote A2A agent {name} {why}{said}")
        if not answer.text and not answer.data:
            raise A2ARemoteInvalid(f"the remote A2A agent {name} answered with no words")
        return answer


def text_move(legal: LegalMoves, text: str, *, reply_to: str | None = None) -> dict[str, Any]:
    """`text` as the legal move that says it: the conclusion owed, else a discussion (to
    `reply_to` when it may speak next), else the protocol's safe move carrying it."""
    text = text.strip() or "I have nothing to add."
    if legal.spec("conclusion") is None and (spec := legal.spec("discussion")) is not None:
        move: dict[str, Any] = {"type": "discussion", "text": text}
        others = [m for m in spec.addressees if m != legal.agent]
        if others:
            move["next_speaker"] = reply_to if reply_to in others else others[0]
        return move
    return fallback_move(legal, summary=text) or {}


def _intro(thread: Thread, name: str, others: str, goal: str) -> str:
    """The goal and the team, told once per conversation (until the remote gave a context)."""
    if thread.context_id is not None or not goal:
        return ""
    return INTRO.format(name=name, others=others or "others", goal=goal)


def _said(line: Line) -> str:
    to = f" (to {', '.join(line.to)})" if line.to else ""
    return f"{line.sender}{to}: {line.text}"


def _sender(job: Job, names: dict[str, str]) -> str:
    """Who assigned the job, by name where a turn or the transcript showed it."""
    if job.assigner in names:
        return names[job.assigner]
    for line in reversed(job.transcript):
        if line.type in ("sync_task_assign", "async_task_assign"):
            return line.sender
    return "a teammate"

"""Deciding: the agent's next move in one group, from its memory and its replica.

In order: a result it owes on a finished task; for a goal group it leads, the conclusion once
its team has concluded; otherwise, when it holds the turn, the brain's move under the legal-move
constraint (a move that is not legal, or a brain that fails, becomes the safe fallback). What
the brain's model spent on the move is pended on the group (`usage`).
"""

from __future__ import annotations

import logging
from typing import Any

from agents.brain import Brain, Turn
from agents.conversation import Conversation
from agents.runtime.memory import JobRecord, JobState, Memory, job_key, summary, transcript
from agents.runtime.usage import pend
from ioa.meter import metered
from protocols import AgentCard, Envelope, TaskResult
from protocols.conversation import LegalMoves
from protocols.messages import Conclude, Conclusion, Payload

log = logging.getLogger("ioa.agent")

RESULT_MAX = 8000
"""Characters of a task's result (or a team's conclusion) passed on."""


async def next_move(
    m: Memory, conversation: Conversation, card: AgentCard, me: str, brain: Brain
) -> Envelope | None:
    """The envelope `me` sends next in `conversation`'s group, or None to stay silent."""
    group_id, state, info = conversation.group, conversation.state, conversation.info
    for job in m["jobs"].values():
        task_id = job.get("task_id")
        task = state.task(task_id) if job["group"] == group_id and task_id else None
        if job["state"] == JobState.DONE and task is not None and task.awaits(me):
            report = TaskResult(
                task_id=task.id,
                status=job.get("status", "done"),
                result=job.get("result", "")[:RESULT_MAX],
            )
            return Envelope(group=group_id, sender=me, payload=report)
    goal_job = m["jobs"].get(job_key(group_id, None))
    if goal_job is not None:
        return close_goal(conversation.legal(me), group_id, me, goal_job)
    turn_legal = conversation.turn_moves(me)
    if not turn_legal.may_speak:
        return None
    turn = Turn(
        me=me,
        name=card.name,
        role=card.description,
        goal=str(info.meta.get("goal", "")),
        group=group_id,
        names={mid: m["names"].get(mid, mid) for mid in info.members},
        state=state,
        legal=turn_legal,
        transcript=transcript(m, group_id),
        depth=int(info.meta.get("depth", 0)),
    )
    move: dict[str, Any] | None = None
    with metered() as meter:
        try:
            move = await brain.move(turn)
        except Exception as exc:  # a brain's failure must never stop the conversation
            log.info("%s: brain gave no move (%s); using the fallback", card.name, exc)
    pend(m, group_id, meter.spends("coordination"))
    return conversation.envelope(me, move, summary=summary(turn.transcript))


def close_goal(legal: LegalMoves, group_id: str, me: str, job: JobRecord) -> Envelope | None:
    """A goal group `me` leads: once its team has concluded, conclude here too."""
    if job["state"] != JobState.DONE:
        return None
    payload: Payload
    if "conclude" in legal.types:
        payload = Conclude(text="The team has concluded.")
    elif "conclusion" in legal.types:
        payload = Conclusion(text=job.get("result", "")[:RESULT_MAX])
    else:
        return None
    return Envelope(group=group_id, sender=me, payload=payload)

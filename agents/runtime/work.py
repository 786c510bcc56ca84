"""Work and delegation: what an agent does with a task, in the background, never in its loop.

A synchronous assignment, or a sub-team formed for a task, must not block the agent from hearing
its other groups; so each job runs as its own asyncio task and reports back to the loop with a
`JobChanged` event. A job is either worked on by the brain, or delegated: the agent forms a
sub-team (found by discovery) whose conclusion becomes the job's result. What the model spent
(forming the team: coordination; the task itself: work) is posted as `Spent` first, so the
job's result reports it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from agents.brain import Brain, Job
from agents.conversation import Conversation
from agents.runtime.events import Event, JobChanged, Joined, Spent
from agents.runtime.memory import JobRecord, JobState, Memory, fresh, transcript
from agents.runtime.options import AgentOptions
from agents.team import choose_members
from ioa.client import HubClient
from ioa.meter import Meter, metered
from protocols.text import scrub

log = logging.getLogger("ioa.agent")


class Work:
    """Runs an agent's jobs; results and new groups come back through `post`."""

    def __init__(
        self,
        name: str,
        client: HubClient,
        brain: Brain,
        options: AgentOptions,
        *,
        post: Callable[[Event], None],
        memory: Callable[[], Awaitable[Memory]],
        conversations: Mapping[str, Conversation],
    ) -> None:
        self.name = name
        self.client = client
        self.brain = brain
        self.options = options
        self._post = post
        self._memory = memory
        self._conversations = conversations

    @property
    def me(self) -> str:
        return self.client.agent_id or ""

    async def run(self, key: str, job: JobRecord) -> None:
        """Do one job to its end; the outcome (or the delegation) is posted as `JobChanged`."""
        mem = await self._memory()
        group_id = job["group"]
        task_id = job.get("task_id")
        known = mem.get("groups", {}).get(group_id)
        meta: dict[str, Any] = (
            known["meta"] if known is not None else (await self.client.group(group_id)).meta
        )
        conversation = self._conversations.get(group_id)
        state = conversation.state if conversation is not None else None
        task = state.task(task_id) if state is not None and task_id else None
        goal = str(meta.get("goal", ""))
        depth = int(meta.get("depth", 0))
        work = Job(
            group=group_id,
            task_id=task_id or "goal",
            title=task.title if task else "",
            description=task.description if task else goal,
            goal=goal,
            assigner=task.assigner if task else "",
            depth=depth,
            transcript=transcript(fresh(mem), group_id),
        )
        outcome: JobChanged
        forming, working = Meter(), Meter()
        try:
            leading_goal = task_id is None
            with metered(forming):
                if leading_goal or (
                    depth < self.options.max_depth and await self.brain.wants_team(work)
                ):
                    sub_depth = depth if leading_goal else depth + 1
                    if await self._delegate(key, work, sub_depth, meta):
                        return
            with metered(working):
                result = await self.brain.work(work)
            outcome = JobChanged(key=key, state=JobState.DONE, status="done", result=result)
        except Exception as exc:
            log.warning("%s: task %s failed: %s", self.name, key, exc)
            outcome = JobChanged(
                key=key, state=JobState.DONE, status="failed", result=f"failed: {exc}"
            )
        finally:  # before the outcome, so the result's message reports what it cost
            if spent := forming.spends("coordination") + working.spends("work"):
                self._post(Spent(group=group_id, spends=spent))
        self._post(outcome)

    async def _delegate(self, key: str, work: Job, depth: int, meta: dict[str, Any]) -> bool:
        """Form a sub-team for `work`; its conclusion will become the job's result."""
        members = await choose_members(
            self.client,
            self.brain,
            work.description,
            me=self.me,
            max_members=self.options.max_members,
        )
        if not members:
            return False
        sub_meta = {
            "goal": work.description,
            "initiator": self.me,
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
        self._post(JobChanged(key=key, state=JobState.DELEGATED))
        info = await self.client.create_group(
            members,
            name=scrub(f"team for {work.title or work.task_id}")[:200],
            protocol="ioa",
            meta=sub_meta,
        )
        self._post(Joined(group=info))
        return True

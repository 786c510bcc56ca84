"""Message payloads: one class per message type, keyed by its `type` literal.

Every subclass of `Payload` registers itself by its `type`; the envelope's payload field is the
discriminated union of all registered classes. Adding a message type is therefore one new class
here (or in any module imported before `protocols.envelope`).

The speech acts follow OpenBMB IoA's: discussion, synchronous and asynchronous task assignment,
task progress, task result, pause (until chosen tasks finish), conclude and conclusion, plus a plain
`chat` for free-form groups that run no conversation protocol, and `timeout`, which only the hub
sends when a turn or a task runs past its deadline.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocols.attachments import FILES_MAX, FileRef, ResultData, files_fit

TEXT_MAX = 32_000
ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"

TaskStatus = Literal["pending", "running", "done", "failed", "canceled"]


class Payload(BaseModel):
    """Base of every message payload; subclasses set `type` to a unique `Literal`."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

    registry: ClassVar[dict[str, type[Payload]]] = {}

    type: str
    """The message type; concrete subclasses narrow it to one `Literal`."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        args = get_args(cls.model_fields["type"].annotation)
        if not args:
            return  # an abstract intermediate class, such as _TaskAssignment
        if len(args) != 1 or not isinstance(args[0], str):
            raise TypeError(f"{cls.__name__}.type must be a Literal of one string")
        if args[0] in Payload.registry:
            raise TypeError(f"message type {args[0]!r} is defined twice")
        Payload.registry[args[0]] = cls


class Chat(Payload):
    """Free text in a group that runs no conversation protocol."""

    type: Literal["chat"] = "chat"
    text: str = Field(max_length=TEXT_MAX)


class Discussion(Payload):
    """A turn of discussion; the envelope's addressees are the next speaker(s)."""

    type: Literal["discussion"] = "discussion"
    text: str = Field(max_length=TEXT_MAX)


class _TaskAssignment(Payload):
    """Hand a task to the addressees; they become its assignees."""

    task_id: str = Field(pattern=ID_PATTERN)
    """Chosen by the assigner; unique within the group."""
    title: str = Field(default="", max_length=200)
    description: str = Field(max_length=TEXT_MAX)


class SyncTaskAssignment(_TaskAssignment):
    """The conversation waits until every assignee has reported a result."""

    type: Literal["sync_task_assign"] = "sync_task_assign"


class AsyncTaskAssignment(_TaskAssignment):
    """The conversation goes on while the assignees work."""

    type: Literal["async_task_assign"] = "async_task_assign"


class TaskProgress(Payload):
    """An assignee says how its task is going."""

    type: Literal["task_progress"] = "task_progress"
    task_id: str = Field(pattern=ID_PATTERN)
    text: str = Field(max_length=TEXT_MAX)


class TaskResult(Payload):
    """An assignee reports the outcome of its task: text, and optionally structured content
    (`protocols.attachments`: a JSON object, files)."""

    type: Literal["task_result"] = "task_result"
    task_id: str = Field(pattern=ID_PATTERN)
    status: Literal["done", "failed"] = "done"
    result: str = Field(max_length=TEXT_MAX)
    data: ResultData | None = None
    files: list[FileRef] = Field(default_factory=list, max_length=FILES_MAX)

    @model_validator(mode="after")
    def _files_fit(self) -> TaskResult:
        files_fit(self.files)
        return self


class Pause(Payload):
    """The speaker waits, silently, until the named tasks have finished."""

    type: Literal["pause"] = "pause"
    task_ids: list[str] = Field(min_length=1, max_length=64)


class Conclude(Payload):
    """The speaker ends the discussion; it must then send the conclusion."""

    type: Literal["conclude"] = "conclude"
    text: str = Field(default="", max_length=TEXT_MAX)
    proposal_id: str | None = Field(default=None, pattern=ID_PATTERN)
    """The plan the group concludes with, if any: an existing proposal (one whose latest check
    passed, when the group has a checker)."""


class Conclusion(Payload):
    """The group's answer to its goal; the last message of a conversation.

    When its sender is the hub (`"hub"`), the members ran out (of turns, or of patience: too
    many turn timeouts in a row) and `text` says why; the conversation ends as expired and a goal
    it answers fails. The hub sends it only then, so the sender alone tells the two apart.
    """

    type: Literal["conclusion"] = "conclusion"
    text: str = Field(max_length=TEXT_MAX)
    proposal_id: str | None = Field(default=None, pattern=ID_PATTERN)
    """The plan the conversation ends with, if any (see `Conclude.proposal_id`); under voting,
    the winner, absent when the vote reached no decision."""


class Timeout(Payload):
    """The hub's clock ran out on a turn or on a task; only the hub sends it.

    It travels as a message so that every replica of the conversation (the hub's after a restart,
    each agent's) sees the same event at the same point of the transcript.
    """

    type: Literal["timeout"] = "timeout"
    kind: Literal["turn", "task"]
    """`turn`: the agent holding the turn let it lapse; `task`: a task ran past its deadline."""
    agent: str | None = Field(default=None, pattern=ID_PATTERN)
    """For a turn timeout: the agent whose turn lapsed."""
    task_id: str | None = Field(default=None, pattern=ID_PATTERN)
    """For a task timeout: the task that is now failed."""


def message_types() -> list[str]:
    """Every registered message type, in registration order."""
    return list(Payload.registry)

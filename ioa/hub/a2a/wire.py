"""A2A 1.0 wire types (the JSON form of `a2a.proto`), as pydantic models.

Field names are camelCase on the wire (ProtoJSON) and snake_case here. Requests ignore fields
they do not know, so a newer client's additions do not break it; what the hub answers carries
only the fields the spec names. Strings and lists are bounded, JSON values too (depth and size,
`protocols.values.BoundedJson`), so a request's cost is bounded before any work starts.
"""

from __future__ import annotations

import functools
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from pydantic.alias_generators import to_camel

from protocols.attachments import FILE_CONTENT_MAX, URL_MAX
from protocols.values import BoundedJson

ID_MAX = 256
"""Characters of an id the client chooses (message id, context id, page token)."""
PARTS_MAX = 64
PART_TEXT_MAX = 32_000


@functools.cache
def _bounded() -> TypeAdapter[dict[str, Any]]:
    """Built at the first data part, not when the hub starts."""
    return TypeAdapter(BoundedJson)


def _bounded_value(value: Any) -> Any:
    _bounded().validate_python({"value": value})
    return value


AnyJson = Annotated[Any, AfterValidator(_bounded_value)]
"""Any JSON value (a data part), finite and bounded like a plan's content."""
ClientId = Annotated[str, Field(min_length=1, max_length=ID_MAX)]


class Wire(BaseModel):
    """What the hub answers: camelCase, unset fields left out (see `dump`)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        allow_inf_nan=False,
        defer_build=True,
    )

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class TaskState(StrEnum):
    SUBMITTED = "TASK_STATE_SUBMITTED"
    WORKING = "TASK_STATE_WORKING"
    INPUT_REQUIRED = "TASK_STATE_INPUT_REQUIRED"
    AUTH_REQUIRED = "TASK_STATE_AUTH_REQUIRED"
    COMPLETED = "TASK_STATE_COMPLETED"
    FAILED = "TASK_STATE_FAILED"
    CANCELED = "TASK_STATE_CANCELED"
    REJECTED = "TASK_STATE_REJECTED"


TERMINAL_STATES = frozenset(
    {TaskState.COMPLETED, TaskState.FAILED, TaskState.CANCELED, TaskState.REJECTED}
)
INTERRUPTED_STATES = frozenset({TaskState.INPUT_REQUIRED, TaskState.AUTH_REQUIRED})
"""A blocking `SendMessage` and a stream end at these too: the client must act next."""


class Role(StrEnum):
    USER = "ROLE_USER"
    AGENT = "ROLE_AGENT"


class Part(Wire):
    """Exactly one of text, raw (base64), url or data, with optional facts about it."""

    text: str | None = Field(default=None, max_length=PART_TEXT_MAX)
    raw: str | None = Field(default=None, max_length=FILE_CONTENT_MAX)
    """Base64."""
    url: str | None = Field(default=None, max_length=URL_MAX)
    data: AnyJson | None = None
    metadata: BoundedJson | None = None
    filename: str | None = Field(default=None, max_length=ID_MAX)
    media_type: str | None = Field(default=None, max_length=ID_MAX)

    @model_validator(mode="after")
    def _one_content(self) -> Part:
        present = [n for n in ("text", "raw", "url", "data") if getattr(self, n) is not None]
        if len(present) != 1:
            raise ValueError("a part holds exactly one of text, raw, url, data")
        return self


class Message(Wire):
    message_id: ClientId
    context_id: ClientId | None = None
    task_id: ClientId | None = None
    role: Role
    parts: list[Part] = Field(min_length=1, max_length=PARTS_MAX)
    metadata: BoundedJson | None = None
    extensions: list[Annotated[str, Field(max_length=ID_MAX)]] | None = Field(
        default=None, max_length=16
    )
    reference_task_ids: list[ClientId] | None = Field(default=None, max_length=16)


class TaskStatus(Wire):
    state: TaskState
    message: Message | None = None
    timestamp: str | None = None
    """RFC 3339, UTC."""


class Artifact(Wire):
    artifact_id: str
    name: str | None = None
    description: str | None = None
    parts: list[Part]
    metadata: dict[str, Any] | None = None


class Task(Wire):
    id: str
    context_id: str
    status: TaskStatus
    artifacts: list[Artifact] | None = None
    history: list[Message] | None = None
    metadata: dict[str, Any] | None = None


class TaskStatusUpdateEvent(Wire):
    task_id: str
    context_id: str
    status: TaskStatus
    metadata: dict[str, Any] | None = None


class TaskArtifactUpdateEvent(Wire):
    task_id: str
    context_id: str
    artifact: Artifact
    append: bool | None = None
    last_chunk: bool | None = None


class StreamResponse(Wire):
    """One event of a stream: exactly one field is set."""

    task: Task | None = None
    message: Message | None = None
    status_update: TaskStatusUpdateEvent | None = None
    artifact_update: TaskArtifactUpdateEvent | None = None


# requests


class SendMessageConfiguration(Wire):
    accepted_output_modes: list[Annotated[str, Field(max_length=ID_MAX)]] = Field(
        default_factory=list, max_length=32
    )
    history_length: int | None = Field(default=None, ge=0, le=10_000)
    return_immediately: bool = False
    task_push_notification_config: dict[str, Any] | None = None


class SendMessageRequest(Wire):
    tenant: str | None = Field(default=None, max_length=ID_MAX)
    message: Message
    configuration: SendMessageConfiguration | None = None
    metadata: BoundedJson | None = None


class TaskIdRequest(Wire):
    """`GetTask`, `CancelTask`, `SubscribeToTask`: a task named by id."""

    tenant: str | None = Field(default=None, max_length=ID_MAX)
    id: ClientId
    history_length: int | None = Field(default=None, ge=0, le=10_000)
    metadata: BoundedJson | None = None


class ListTasksRequest(Wire):
    tenant: str | None = Field(default=None, max_length=ID_MAX)
    context_id: ClientId | None = None
    status: TaskState | None = None
    page_size: int | None = Field(default=None, ge=1, le=100)
    page_token: str | None = Field(default=None, max_length=ID_MAX)
    history_length: int | None = Field(default=None, ge=0, le=10_000)
    status_timestamp_after: str | None = Field(default=None, max_length=64)
    include_artifacts: bool | None = None


class ListTasksResponse(Wire):
    tasks: list[Task]
    next_page_token: str
    page_size: int
    total_size: int


# the agent card


class AgentInterface(Wire):
    url: str
    protocol_binding: str
    protocol_version: str


class AgentCapabilities(Wire):
    streaming: bool
    push_notifications: bool
    extended_agent_card: bool


class AgentSkill(Wire):
    id: str
    name: str
    description: str
    tags: list[str]
    examples: list[str] | None = None


class AgentProvider(Wire):
    organization: str
    url: str


class AgentCard(Wire):
    name: str
    description: str
    supported_interfaces: list[AgentInterface]
    provider: AgentProvider | None = None
    version: str
    documentation_url: str | None = None
    capabilities: AgentCapabilities
    security_schemes: dict[str, dict[str, Any]] | None = None
    security_requirements: list[dict[str, Any]] | None = None
    default_input_modes: list[str]
    default_output_modes: list[str]
    skills: list[AgentSkill]

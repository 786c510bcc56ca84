"""The IoA protocol: wire types, agent cards and (pure) conversation rules.

Nothing here does I/O or imports the runtime: the hub, the client and every agent share these
definitions, so a message means the same thing everywhere.
"""

from protocols.card import AgentCard, DeviceFacts, ModelFacts, Skill
from protocols.envelope import ENVELOPE, PROTOCOL_VERSION, Envelope, new_id
from protocols.errors import InvalidEnvelope, ProtocolError
from protocols.messages import (
    AsyncTaskAssignment,
    Chat,
    Conclude,
    Conclusion,
    Discussion,
    Pause,
    Payload,
    SyncTaskAssignment,
    TaskProgress,
    TaskResult,
    TaskStatus,
    message_types,
)

__all__ = [
    "ENVELOPE",
    "PROTOCOL_VERSION",
    "AgentCard",
    "AsyncTaskAssignment",
    "Chat",
    "Conclude",
    "Conclusion",
    "DeviceFacts",
    "Discussion",
    "Envelope",
    "InvalidEnvelope",
    "ModelFacts",
    "Pause",
    "Payload",
    "ProtocolError",
    "Skill",
    "SyncTaskAssignment",
    "TaskProgress",
    "TaskResult",
    "TaskStatus",
    "message_types",
    "new_id",
]

"""Every error code that crosses the wire, and the root of every error `protocols` raises.

`ErrorCode` is the one list of codes a hub may answer with (`{"error": {"code", "message"}}`);
clients compare against its members instead of bare strings. Each exception class carries one
code and a default message; the hub maps codes to HTTP statuses in one table of its own.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable wire codes. Each names one failure; a new failure gets a new code."""

    # the conversation's rules (protocols.conversation)
    PROTOCOL_ERROR = "protocol_error"
    INVALID_ENVELOPE = "invalid_envelope"
    ILLEGAL_MOVE = "illegal_move"
    NOT_YOUR_TURN = "not_your_turn"
    NOT_A_MEMBER = "not_a_member"
    CONVERSATION_OVER = "conversation_over"
    TURN_LIMIT = "turn_limit"
    UNKNOWN_TASK = "unknown_task"
    NOT_ASSIGNEE = "not_assignee"
    TASK_CLOSED = "task_closed"
    DUPLICATE_TASK = "duplicate_task"
    WRONG_GROUP = "wrong_group"
    INVALID_CONVERSATION = "invalid_conversation"
    INVALID_STATE = "invalid_state"
    INVALID_MOVE = "invalid_move"
    NO_LEGAL_MOVE = "no_legal_move"
    UNSUPPORTED_MESSAGE_TYPE = "unsupported_message_type"
    UNKNOWN_PROPOSAL = "unknown_proposal"
    DUPLICATE_PROPOSAL = "duplicate_proposal"
    INVALID_CONTENT = "invalid_content"
    UNCHECKED_PLAN = "unchecked_plan"
    NOT_LINKED = "not_linked"
    # the hub's edge and registry
    INTERNAL_ERROR = "internal_error"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    SENDER_MISMATCH = "sender_mismatch"
    UNKNOWN_AGENT = "unknown_agent"
    UNKNOWN_GROUP = "unknown_group"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INVALID_REQUEST = "invalid_request"
    MALFORMED_JSON = "malformed_json"
    INVALID_ADDRESSEE = "invalid_addressee"
    HELLO_REQUIRED = "hello_required"
    DUPLICATE_HELLO = "duplicate_hello"
    FRAME_TOO_LARGE = "frame_too_large"
    FILE_TOO_LARGE = "file_too_large"
    UNAVAILABLE = "unavailable"
    BUSY = "busy"
    GROUP_QUARANTINED = "group_quarantined"
    DISCOVERY_ERROR = "discovery_error"
    INVALID_QUERY = "invalid_query"
    INVALID_VECTOR = "invalid_vector"


class ProtocolError(Exception):
    """Something a message or a move breaks in the protocol."""

    code: ErrorCode = ErrorCode.PROTOCOL_ERROR
    default_message: str = "the message breaks the protocol"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class InvalidEnvelope(ProtocolError):
    code = ErrorCode.INVALID_ENVELOPE
    default_message = "the envelope does not match the wire schema"


class IllegalMove(ProtocolError):
    """The message type (or its shape) is not allowed in the conversation's current phase."""

    code = ErrorCode.ILLEGAL_MOVE
    default_message = "this move is not allowed now"


class NotYourTurn(ProtocolError):
    """Only the agent holding the turn may take one; the conversation may also be waiting."""

    code = ErrorCode.NOT_YOUR_TURN
    default_message = "it is not your turn"


class NotAMember(ProtocolError):
    """The sender or an addressee is not a member of the group."""

    code = ErrorCode.NOT_A_MEMBER
    default_message = "not a member of this group"


class ConversationOver(ProtocolError):
    """The conversation has reached a terminal phase; nothing more is accepted."""

    code = ErrorCode.CONVERSATION_OVER
    default_message = "the conversation is over"


class TurnLimit(ProtocolError):
    """The hard turn cap is reached: the speaker may only conclude."""

    code = ErrorCode.TURN_LIMIT
    default_message = "the turn limit is reached; the only legal move is to conclude"


class UnknownTask(ProtocolError):
    """A task id that no assignment in this group ever created."""

    code = ErrorCode.UNKNOWN_TASK
    default_message = "no such task in this group"


class NotAssignee(ProtocolError):
    """Only an assignee of a task may report on it."""

    code = ErrorCode.NOT_ASSIGNEE
    default_message = "you are not an assignee of this task"


class TaskClosed(ProtocolError):
    """The task has finished, or this assignee has already reported its result."""

    code = ErrorCode.TASK_CLOSED
    default_message = "the task takes no more reports from you"


class DuplicateTask(ProtocolError):
    """Task ids are unique within a group."""

    code = ErrorCode.DUPLICATE_TASK
    default_message = "a task with this id already exists in the group"


class WrongGroup(ProtocolError):
    """The envelope names another group than the conversation it was applied to."""

    code = ErrorCode.WRONG_GROUP
    default_message = "the message belongs to another group"


class InvalidConversation(ProtocolError):
    """A conversation cannot start with these members or limits."""

    code = ErrorCode.INVALID_CONVERSATION
    default_message = "invalid conversation settings"


class InvalidState(ProtocolError):
    """A stored conversation state does not parse or breaks the machine's invariants."""

    code = ErrorCode.INVALID_STATE
    default_message = "the stored conversation state is invalid"


class InvalidMove(ProtocolError):
    """A decoded move (e.g. a model's JSON) does not have the shape of any move."""

    code = ErrorCode.INVALID_MOVE
    default_message = "the move does not match the move schema"


class NoLegalMove(ProtocolError):
    """The agent may send nothing now, so there is no schema to decode a move with."""

    code = ErrorCode.NO_LEGAL_MOVE
    default_message = "the agent has no legal move now"


class UnknownProposal(ProtocolError):
    """A message references a proposal that the group does not have."""

    code = ErrorCode.UNKNOWN_PROPOSAL
    default_message = "no such proposal in this group"


class DuplicateProposal(ProtocolError):
    """Proposal ids are unique within a group."""

    code = ErrorCode.DUPLICATE_PROPOSAL
    default_message = "a proposal with this id already exists in the group"


class InvalidContent(ProtocolError):
    """A plan's content does not validate against the group's `content_schema`."""

    code = ErrorCode.INVALID_CONTENT
    default_message = "the content does not match the group's content schema"


class UncheckedPlan(ProtocolError):
    """Check before commit: the plan concluded with has not passed the group's checker."""

    code = ErrorCode.UNCHECKED_PLAN
    default_message = "the plan has not passed the group's check"


class NotLinked(ProtocolError):
    """The group's topology (meta `links`) does not let the sender address this member."""

    code = ErrorCode.NOT_LINKED
    default_message = "the sender is not linked to this addressee"

"""The root of every error `protocols` raises.

Each class carries a stable wire `code` and a default message, so the hub can answer
`{"error": {"code", "message"}}` straight from the exception without a lookup table of its own.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Something a message or a move breaks in the protocol."""

    code: str = "protocol_error"
    default_message: str = "the message breaks the protocol"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class InvalidEnvelope(ProtocolError):
    code = "invalid_envelope"
    default_message = "the envelope does not match the wire schema"


class IllegalMove(ProtocolError):
    """The message type (or its shape) is not allowed in the conversation's current phase."""

    code = "illegal_move"
    default_message = "this move is not allowed now"


class NotYourTurn(ProtocolError):
    """Only the agent holding the turn may take one; the conversation may also be waiting."""

    code = "not_your_turn"
    default_message = "it is not your turn"


class NotAMember(ProtocolError):
    """The sender or an addressee is not a member of the group."""

    code = "not_a_member"
    default_message = "not a member of this group"


class ConversationOver(ProtocolError):
    """The conversation has reached a terminal phase; nothing more is accepted."""

    code = "conversation_over"
    default_message = "the conversation is over"


class TurnLimit(ProtocolError):
    """The hard turn cap is reached: the speaker may only conclude."""

    code = "turn_limit"
    default_message = "the turn limit is reached; the only legal move is to conclude"


class UnknownTask(ProtocolError):
    """A task id that no assignment in this group ever created."""

    code = "unknown_task"
    default_message = "no such task in this group"


class NotAssignee(ProtocolError):
    """Only an assignee of a task may report on it."""

    code = "not_assignee"
    default_message = "you are not an assignee of this task"


class TaskClosed(ProtocolError):
    """The task has finished, or this assignee has already reported its result."""

    code = "task_closed"
    default_message = "the task takes no more reports from you"


class DuplicateTask(ProtocolError):
    """Task ids are unique within a group."""

    code = "duplicate_task"
    default_message = "a task with this id already exists in the group"


class WrongGroup(ProtocolError):
    """The envelope names another group than the conversation it was applied to."""

    code = "wrong_group"
    default_message = "the message belongs to another group"


class InvalidConversation(ProtocolError):
    """A conversation cannot start with these members or limits."""

    code = "invalid_conversation"
    default_message = "invalid conversation settings"


class InvalidState(ProtocolError):
    """A stored conversation state does not parse or breaks the machine's invariants."""

    code = "invalid_state"
    default_message = "the stored conversation state is invalid"


class InvalidMove(ProtocolError):
    """A decoded move (e.g. a model's JSON) does not have the shape of any move."""

    code = "invalid_move"
    default_message = "the move does not match the move schema"


class NoLegalMove(ProtocolError):
    """The agent may send nothing now, so there is no schema to decode a move with."""

    code = "no_legal_move"
    default_message = "the agent has no legal move now"

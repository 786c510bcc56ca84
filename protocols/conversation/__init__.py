"""The group protocols as pure state machines: "ioa" (after OpenBMB IoA's speech acts, with
structured proposals), RoCo's "dialectic", "contract_net" and "voting" (see `registry`).

- `state`: `ConversationState` (immutable, JSON-serialisable), `Phase`, `Task`, `Limits`, `start`.
- `table`: `TRANSITIONS`, the rule of every message type.
- `legal`: `legal_moves(state, agent)` for agents, `check` for the hub's refusals.
- `machine`: `apply(state, envelope)`, `replay`, and `expire` for the hub's clock.

Hub: `state = apply(state, envelope)` per message, `expire(state, now)` when
`state.next_deadline()` passes. Agent: `moves_schema(legal_moves(state, me))` to constrain its
model, then `move_to_envelope` (both in `protocols.moves`).
"""

from protocols.conversation.legal import check, legal_moves
from protocols.conversation.registry import PROTOCOLS, GroupProtocol, protocol_of
from protocols.conversation.specs import LegalMoves, MoveSpec
from protocols.conversation.machine import apply, expire, replay
from protocols.conversation.state import (
    FINISHED_TASK_STATUSES,
    HUB_SENDER,
    OPEN_TASK_STATUSES,
    PROTOCOL_NAMES,
    TERMINAL_PHASES,
    WAITING_PHASES,
    ConversationState,
    Limits,
    BallotRecord,
    BidRecord,
    Phase,
    PlanRecord,
    Rules,
    Task,
    TaskMode,
    TaskReport,
    start,
)
from protocols.conversation.table import TRANSITIONS, Actor, Addressing, Rule, TaskRef

__all__ = [
    "FINISHED_TASK_STATUSES",
    "HUB_SENDER",
    "OPEN_TASK_STATUSES",
    "PROTOCOLS",
    "PROTOCOL_NAMES",
    "TERMINAL_PHASES",
    "TRANSITIONS",
    "WAITING_PHASES",
    "Actor",
    "Addressing",
    "BallotRecord",
    "BidRecord",
    "GroupProtocol",
    "ConversationState",
    "LegalMoves",
    "Limits",
    "MoveSpec",
    "Phase",
    "PlanRecord",
    "Rule",
    "Rules",
    "Task",
    "TaskMode",
    "TaskRef",
    "TaskReport",
    "apply",
    "check",
    "expire",
    "legal_moves",
    "protocol_of",
    "replay",
    "start",
]

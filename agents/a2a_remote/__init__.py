"""Remote A2A agents as IoA members: the official a2a-sdk client behind a `Brain`.

- `connection`: `A2ARemote`, one remote agent (its card, messages followed to an answer), and
  the typed errors of talking to it;
- `answer`: a task's events folded into a settled `Answer`;
- `card`: the IoA `AgentCard` derived from the remote's A2A card;
- `brain`: `A2ABrain`, turns and tasks as A2A messages, answers as legal moves.
"""

from agents.a2a_remote.answer import Answer
from agents.a2a_remote.brain import A2ABrain, text_move
from agents.a2a_remote.card import a2a_card
from agents.a2a_remote.connection import (
    A2ARemote,
    A2ARemoteError,
    A2ARemoteFailed,
    A2ARemoteInvalid,
    A2ARemoteTimeout,
    A2ARemoteUnavailable,
)

__all__ = [
    "A2ABrain",
    "A2ARemote",
    "A2ARemoteError",
    "A2ARemoteFailed",
    "A2ARemoteInvalid",
    "A2ARemoteTimeout",
    "A2ARemoteUnavailable",
    "Answer",
    "a2a_card",
    "text_move",
]

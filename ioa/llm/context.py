"""The context policy: what to cut when a prompt does not fit the model's context window.

Policy, in order, until the prompt fits `budget` tokens:

1. Keep the leading system messages (an agent's role and rules) and the last message (what it must
   answer now). Everything in between is history.
2. Drop the oldest history messages, in blocks of `TRIM_BLOCK`. Dropping whole blocks rather than
   one message at a time keeps the kept prefix the same for several turns, so per-agent prefix reuse
   keeps working after the window first overflows instead of re-evaluating everything every turn.
3. If the system part plus the last message alone are still too long, cut the last message from
   its start (its end is the newest text), then the system text from its end (its start states
   the role).

Only if even empty messages do not fit (the template alone is larger than the window) does it
raise `ContextTooSmall`: a configuration error, not a long conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ioa.llm.errors import ContextTooSmall
from ioa.llm.templates import Message

__all__ = ["TRIM_BLOCK", "Fitted", "fit_messages"]

TRIM_BLOCK = 4
"""History messages dropped at a time."""

CountTokens = Callable[[Sequence[Message]], int]


@dataclass(frozen=True)
class Fitted:
    messages: list[Message]
    tokens: int
    """Prompt tokens of `messages` as rendered."""
    dropped: int
    """History messages removed."""
    truncated: bool
    """True when a message's text had to be cut."""


def fit_messages(messages: Sequence[Message], budget: int, count: CountTokens) -> Fitted:
    """Apply the policy above; `count` renders and tokenizes a message list."""
    kept = list(messages)
    tokens = count(kept)
    if tokens <= budget:
        return Fitted(kept, tokens, dropped=0, truncated=False)
    n_system = _leading_system(kept)
    history = len(kept) - n_system - 1
    dropped = 0
    while history > 0 and tokens > budget:
        block = min(TRIM_BLOCK, history)
        del kept[n_system : n_system + block]
        history -= block
        dropped += block
        tokens = count(kept)
    if tokens <= budget:
        return Fitted(kept, tokens, dropped=dropped, truncated=False)
    kept, tokens = _cut_text(kept, len(kept) - 1, budget, count, keep_end=True)
    for i in range(n_system - 1, -1, -1):
        if tokens <= budget:
            break
        kept, tokens = _cut_text(kept, i, budget, count, keep_end=False)
    if tokens > budget:
        raise ContextTooSmall(
            f"n_ctx leaves {budget} prompt tokens, but the chat template alone needs {tokens}"
        )
    return Fitted(kept, tokens, dropped=dropped, truncated=True)


def _leading_system(messages: Sequence[Message]) -> int:
    n = 0
    while n < len(messages) - 1 and messages[n]["role"] == "system":
        n += 1
    return n


def _cut_text(
    messages: list[Message], index: int, budget: int, count: CountTokens, *, keep_end: bool
) -> tuple[list[Message], int]:
    """Shorten `messages[index]` to the longest text that fits (binary search on characters)."""
    text = messages[index]["content"]

    def with_length(n: int) -> list[Message]:
        cut = text[len(text) - n :] if keep_end else text[:n]
        return [*messages[:index], {**messages[index], "content": cut}, *messages[index + 1 :]]

    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(with_length(mid)) <= budget:
            lo = mid
        else:
            hi = mid - 1
    best = with_length(lo)
    return best, count(best)

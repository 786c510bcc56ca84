"""How rare each token is among the registered cards' fields: the weights a card is pooled with.

A card's field vector is the weighted mean of its tokens' vectors (`ioa.llm.embedder.pool`), each
token weighted by `log((n + PRIOR_FIELDS + 1) / (df + 1)) ** POWER`, where `n` is the number of
card fields counted and `df` the number of those fields that hold the token. Words every card
says ("agent", "helps", "and", the punctuation of a field) then count little, and the words that
tell one capability from another count most: on the labelled set's tuning half this took
paraphrase recall@5 from 0.658 (same pooling, equal weights) to 0.693, held-out half 0.712 ->
0.766 (README, "Discovery by meaning"). `PRIOR_FIELDS` pretends that many more fields held none
of the tokens, so on a hub with few cards the weights stay close to equal instead of swinging
with each registration; the figures hardly move with it (0 to 3,000 gave 0.684-0.693).

The counts follow registrations, updates and removals. A card pooled when the hub had far fewer
fields than it has now was weighed with other counts; `ioa.hub.card_embeddings` embeds such cards
again in the background (`STALE_GROWTH`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["POWER", "PRIOR_FIELDS", "STALE_GROWTH", "TokenRarity"]

PRIOR_FIELDS = 1000
"""Fields assumed to hold none of the tokens (chosen on the tuning half: 0, 300, 1,000, 3,000)."""
POWER = 2
"""The power of the inverse document frequency (chosen on the tuning half: 1, 2, 3)."""
STALE_GROWTH = 4
"""A card pooled when the hub counted fewer than 1 / `STALE_GROWTH` of today's fields is embedded
again: each card is embedded at most once more per fourfold growth of the hub (a third more
embedding work in all, however large the hub grows)."""


class TokenRarity:
    """Document frequencies of token ids over the registered cards' fields.

    Not thread-safe: the hub uses it from its event loop only.
    """

    def __init__(self, *, prior: int = PRIOR_FIELDS, power: float = POWER) -> None:
        self._prior = prior
        self._power = power
        self._df: dict[int, int] = {}
        self._counted: dict[str, tuple[int, np.ndarray]] = {}
        """Each counted agent's number of fields and their distinct token ids, field after
        field in one array (to take them out again; ~300 bytes a card)."""
        self.n = 0
        """Fields counted."""

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._counted

    def __len__(self) -> int:
        return len(self._counted)

    def count(self, agent_id: str, fields: Sequence[np.ndarray]) -> None:
        """Count `agent_id`'s card as these fields' token ids, replacing what it counted before."""
        import numpy as np  # with the first card counted: a hub answers before numpy loads

        self.forget(agent_id)
        distinct = [np.unique(ids) for ids in fields]
        counted = np.concatenate(distinct).astype(np.int32) if distinct else np.zeros(0, np.int32)
        for token in counted.tolist():
            self._df[token] = self._df.get(token, 0) + 1
        self._counted[agent_id] = (len(distinct), counted)
        self.n += len(distinct)

    def forget(self, agent_id: str) -> None:
        """Take a card out of the counts (deregistration); unknown ids are ignored."""
        entry = self._counted.pop(agent_id, None)
        if entry is None:
            return
        fields, counted = entry
        for token in counted.tolist():
            left = self._df[token] - 1
            if left:
                self._df[token] = left
            else:
                del self._df[token]
        self.n -= fields

    def weights(self, ids: np.ndarray) -> np.ndarray:
        """The weight of each token of a text (float32, all positive)."""
        import numpy as np

        total = self.n + self._prior + 1
        df = self._df
        return np.fromiter(
            (math.log(total / (df.get(t, 0) + 1)) ** self._power for t in ids.tolist()),
            dtype=np.float32,
            count=len(ids),
        )

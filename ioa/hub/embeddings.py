"""What a card's embedding is: the texts embedded for it, their vectors, the bytes stored.

A card is embedded field by field (`card_fields`: name, description, each skill, tags), one
vector each, and discovery scores it by the best-matching field (`ioa.hub.vectors`): on the
labelled set that finds the right cards for goals phrased in other words far more often than one
vector of the whole card text (README, "Discovery by meaning"). A field's vector is the mean of
its tokens' unit vectors weighted by how rare each token is among the registered cards' fields
(`ioa.hub.idf`); a query's is the plain mean of its tokens' unit vectors (`ioa.llm.embedder.pool`).

This is the pure half of card embeddings, apart from the model and the queue that keep every
card's vectors current (`ioa.hub.card_embeddings`): tests and benchmarks make and read vectors
with it without a hub. `LAYOUT` names this way of making them in the store; a change here that
makes other vectors changes it, and the hub embeds stored cards again.

Like the discovery index, this module imports numpy (and `ioa.hub.vectors`, built on it) only
when a vector is first made or read, so a hub answers before numpy is loaded.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ioa.hub.idf import TokenRarity
from protocols import AgentCard

if TYPE_CHECKING:
    import numpy as np

    from ioa.llm.embedder import TokenRows

__all__ = ["LAYOUT", "card_fields", "card_text", "card_vectors", "pack", "unpack"]

LAYOUT = "idf-fields"
"""How a stored embedding was made, appended to the model's name in the store with the number
of fields counted when it was pooled (`model+idf-fields@1050`): a vector stored under another
layout (one vector of the whole card; fields pooled the model's way) is made again at start."""


def card_text(card: AgentCard) -> str:
    """A card as one text: its name, skills, description and tags, in that order."""
    return " ".join(card_fields(card))


def card_fields(card: AgentCard) -> list[str]:
    """What is embedded for a card, one text per vector: its name, its description, its tags,
    then each skill as "name: description" (skills past the room of `MAX_FIELDS` share the last
    text). Empty fields are left out."""
    from ioa.hub.vectors import MAX_FIELDS

    fields = [card.name + "."]
    if card.description:
        fields.append(card.description)
    tags = sorted({tag for skill in card.skills for tag in skill.tags})
    if tags:
        fields.append("Tags: " + ", ".join(tags) + ".")
    skills = [f"{s.name}: {s.description}".rstrip(": ") + "." for s in card.skills]
    room = MAX_FIELDS - len(fields)
    if len(skills) > room:
        skills[room - 1 :] = [" ".join(skills[room - 1 :])]
    return fields + skills


def card_vectors(tokens: list[TokenRows], rarity: TokenRarity) -> np.ndarray:
    """A card's field vectors from its fields' tokens, weighed by `rarity` (a field without a
    token is left out: its vector would be zero)."""
    import numpy as np

    from ioa.llm.embedder import pool

    rows = [pool(field, rarity.weights(field.ids)) for field in tokens if len(field.ids)]
    return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)


def pack(rows: np.ndarray) -> bytes:
    """Field vectors as stored: their count (uint32) then the rows as little-endian float32."""
    import numpy as np

    return struct.pack("<I", len(rows)) + np.asarray(rows, dtype="<f4").tobytes()


def unpack(blob: bytes) -> np.ndarray | None:
    """The rows `pack` wrote, or None when the blob is damaged."""
    if len(blob) < 4:
        return None
    import numpy as np

    (count,) = struct.unpack_from("<I", blob)
    values = np.frombuffer(blob, dtype="<f4", offset=4) if len(blob) > 4 else np.zeros(0)
    if count == 0 or values.size == 0 or values.size % count:
        return None
    return values.reshape(count, -1)

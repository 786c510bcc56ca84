"""`RandomBrain`: the model-free baseline, a uniformly random legal move at every turn.

A model's row in a table means something only where it beats chance, so every protocol cell of
the lab has a random row. The brain needs no knowledge of a protocol: it draws an instance of the
protocol's own legal-move schema (`protocols.moves.moves_schema`), first the move type uniformly,
then every field uniformly among the values the schema allows (addressees, task ids, ballots,
proposals...). Free text is drawn from `phrases` (by default the words of the goal and of the
transcript so far), so the content, too, comes from what the conversation offers rather than from
a model.

Seeded: the same seed and the same turns give the same moves. `illegal` counts moves that the
protocol refused when checked (0 unless a schema and its checker disagree), for the lab to report.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from agents.brain import Brain, Job, Turn
from protocols.errors import ProtocolError
from protocols.moves import envelope_fields, moves_schema

__all__ = ["RandomBrain", "random_instance"]

TEXT_WORDS = 8
"""Most words of a drawn free-text field."""


class RandomBrain(Brain):
    def __init__(self, seed: int = 0, phrases: Sequence[str] = ()) -> None:
        self.rng = random.Random(seed)
        self.phrases = tuple(phrases)
        self.moves = 0
        self.illegal = 0

    async def move(self, turn: Turn) -> dict[str, Any]:
        schema = moves_schema(turn.legal, text_max=200)
        said = " ".join(line.text for line in turn.transcript)
        words = self.phrases or tuple(f"{turn.goal} {said}".split()) or ("ok",)
        move = random_instance(schema, self.rng, words)
        self.moves += 1
        try:
            envelope_fields(turn.legal, move)
        except ProtocolError:
            self.illegal += 1
        return dict(move)

    async def work(self, job: Job) -> str:
        words = self.phrases or tuple(job.description.split()) or ("done",)
        return _text(self.rng, words, 200)


def random_instance(schema: dict[str, Any], rng: random.Random, words: Sequence[str]) -> Any:
    """A uniformly drawn instance of a legal-move schema (the subset `moves_schema` writes)."""
    if "oneOf" in schema:
        return random_instance(rng.choice(schema["oneOf"]), rng, words)
    if "anyOf" in schema:
        return random_instance(rng.choice(schema["anyOf"]), rng, words)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        return {
            name: random_instance(sub, rng, words)
            for name, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        items = schema.get("items", {})
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", low + 2))
        if "enum" in items and schema.get("uniqueItems", True):
            pool = list(items["enum"])
            return rng.sample(pool, rng.randint(min(low, len(pool)), min(high, len(pool))))
        return [random_instance(items, rng, words) for _ in range(rng.randint(low, high))]
    if kind == "string":
        return _text(rng, words, int(schema.get("maxLength", 200)))
    if kind == "integer":
        return rng.randint(int(schema.get("minimum", 0)), int(schema.get("maximum", 9)))
    if kind == "number":
        return round(rng.uniform(schema.get("minimum", 0.0), schema.get("maximum", 1.0)), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    return None


def _text(rng: random.Random, words: Sequence[str], limit: int) -> str:
    drawn = " ".join(rng.choice(words) for _ in range(rng.randint(1, TEXT_WORDS)))
    return drawn[:limit]

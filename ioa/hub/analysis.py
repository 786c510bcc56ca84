"""How a card or a query becomes index terms: the same analysis for both, so they can meet.

Case-folded, accents dropped for Latin/Greek/Cyrillic, stop words removed, light stemming
("reviewing", "reviewer", "reviews" → "review"), Han/kana one character per token. A card's
fields are weighted: its name and tags count 3x, skill names 2x, free-text descriptions 1x —
what the author chose to be found by counts more.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache

from protocols.card import AgentCard

NAME_WEIGHT = 3
TAG_WEIGHT = 3
SKILL_NAME_WEIGHT = 2
TEXT_WEIGHT = 1

MAX_TOKEN_CHARS = 64
"""Longer "words" are noise (hashes, base64), not capabilities; they are dropped."""

_STOP_TEXT = (
    "a an and any are as at be been but by can could do does for from has have he her his how i "
    "if in into is it its me my no not of on or our she so some such than that the their them "
    "then there these they this those to too us was we were what when where which while who whom "
    "why will with would you your"
)
STOP_WORDS = frozenset(_STOP_TEXT.split())
"""Function words that say nothing about a capability."""

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_UNICODE_WORD = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])[^\W_])+")
"""Han and kana have no spaces between words, so each character is a token of its own."""


def normalize(text: str) -> str:
    """Case-fold and, for Latin, Greek and Cyrillic letters, drop accents ("Résumé" -> "resume")."""
    if text.isascii():
        return text.lower()
    out: list[str] = []
    base = 0x10000
    for char in unicodedata.normalize("NFKD", text.casefold()):
        if unicodedata.combining(char):
            if base < 0x0530:
                continue
        else:
            base = ord(char)
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Conservative suffix stripping so that "reviewing", "reviewer" and "reviews" meet.

    Plural -s/-ies, then one of -ing/-er/-ed (leaving a stem of 3+ letters, 4+ for -ed), then a
    doubled final consonant ("planning" -> "plan") and a final -e ("code", "coding" -> "cod").
    Words with digits and short words are kept as they are.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix, min_stem in (("ing", 3), ("er", 3), ("ed", 4)):
        if word.endswith(suffix) and len(word) - len(suffix) >= min_stem:
            word = word[: -len(suffix)]
            if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    if word.endswith("e") and len(word) >= 4:
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """Normalised words of `text`, stop words and over-long tokens removed (not stemmed)."""
    text = normalize(text)
    pattern = _ASCII_WORD if text.isascii() else _UNICODE_WORD
    return [w for w in pattern.findall(text) if w not in STOP_WORDS and len(w) <= MAX_TOKEN_CHARS]


def analyze(text: str) -> list[str]:
    """The index terms of `text`, in order: the same analysis for cards and queries."""
    return [stem(w) for w in words(text)]


def card_terms(card: AgentCard) -> dict[str, int]:
    """Field-weighted term counts of a card (see the module docstring for the weights)."""
    fields = [(card.name, NAME_WEIGHT), (card.description, TEXT_WEIGHT)]
    for skill in card.skills:
        fields.append((skill.name, SKILL_NAME_WEIGHT))
        fields.append((skill.description, TEXT_WEIGHT))
        fields.extend((tag, TAG_WEIGHT) for tag in skill.tags)
    counts: dict[str, int] = {}
    for text, weight in fields:
        for term in analyze(text):
            counts[term] = counts.get(term, 0) + weight
    return counts


def tag_key(tag: str) -> str:
    return normalize(tag.strip())


def card_tags(card: AgentCard) -> tuple[str, ...]:
    """The card's distinct tags as the tag filter compares them: trimmed, case-folded, sorted.

    Interned, because 100,000 cards repeat a few hundred tags.
    """
    keys = {tag_key(tag) for skill in card.skills for tag in skill.tags if tag.strip()}
    return tuple(sorted(sys.intern(key) for key in keys))

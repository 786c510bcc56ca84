"""Token rarity over the registered cards' fields, and card vectors weighed by it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ioa.hub.embeddings import card_vectors
from ioa.hub.idf import TokenRarity
from ioa.llm.embedder import TokenRows


def ids(*tokens: int) -> np.ndarray:
    return np.array(tokens, dtype=np.int32)


def test_a_token_most_fields_hold_weighs_less_than_a_rare_one() -> None:
    rarity = TokenRarity(prior=0, power=1)
    rarity.count("a", [ids(1, 2, 2), ids(1, 3)])
    rarity.count("b", [ids(1, 4)])
    assert rarity.n == 3
    common, rare, unseen = rarity.weights(ids(1, 4, 99))
    assert common == pytest.approx(math.log(4 / 4))
    assert rare == pytest.approx(math.log(4 / 2))
    assert unseen == pytest.approx(math.log(4 / 1))  # a query's word no card has
    assert rarity.weights(ids(2, 2)).tolist() == [rarity.weights(ids(2))[0]] * 2


def test_counting_a_card_again_replaces_it_and_forgetting_takes_it_out() -> None:
    rarity = TokenRarity()
    rarity.count("a", [ids(1, 2)])
    before = rarity.weights(ids(1, 2, 3)).tolist()
    rarity.count("b", [ids(1), ids(3)])
    rarity.count("b", [ids(1, 3)])  # b changed its card: counted once
    assert (rarity.n, len(rarity), "b" in rarity) == (2, 2, True)
    rarity.forget("b")
    rarity.forget("nobody")
    assert (rarity.n, rarity.weights(ids(1, 2, 3)).tolist()) == (1, before)


def test_on_a_small_hub_the_prior_keeps_weights_near_equal() -> None:
    rarity = TokenRarity()  # the hub's prior of 1,000 fields that hold none of the tokens
    rarity.count("a", [ids(1, 2), ids(1)])
    every, once = rarity.weights(ids(1, 2))
    assert 0.8 < every / once < 1.0
    assert TokenRarity().weights(ids()).shape == (0,)


def test_a_cards_vectors_lean_to_its_rare_tokens() -> None:
    rarity = TokenRarity(prior=0)
    rarity.count("other", [ids(7), ids(7), ids(7, 9)])
    common_row, rare_row = np.eye(2, dtype=np.float32)
    field = TokenRows(ids(7, 8), np.stack([common_row, rare_row]))
    empty = TokenRows(ids(), np.zeros((0, 2), dtype=np.float32))
    rarity.count("card", [field.ids, empty.ids])
    (vector,) = card_vectors([field, empty], rarity)  # the empty field is left out
    assert vector[1] > 3 * vector[0]
    assert np.linalg.norm(vector) == pytest.approx(1.0)

"""The labelled discovery set is what it claims: big enough, labelled, and its paraphrase half
really shares no word with the cards it should find (after the hub's own text analysis)."""

from __future__ import annotations

from collections import Counter

from environments.discoveryset import CARDS, QUERIES, cards_by_id
from ioa.hub.analysis import analyze, card_terms
from protocols import AgentCard


def test_the_set_has_enough_cards_skills_and_queries() -> None:
    assert len(CARDS) >= 200
    assert len({card.id for card in CARDS}) == len(CARDS)
    assert len({skill.name for card in CARDS for skill in card.skills}) >= 150
    for spec in CARDS:
        assert AgentCard.model_validate(spec.as_dict()).id == spec.id
    assert len(QUERIES) >= 100
    assert sum(q.paraphrase for q in QUERIES) >= len(QUERIES) / 2
    by_id = cards_by_id()
    for query in QUERIES:
        assert query.relevant
        assert query.relevant <= by_id.keys()
    tools = {"calculator-1", "units-1", "lookup-1"}
    assert tools <= by_id.keys()


def test_paraphrases_share_no_word_with_their_cards_and_keyword_queries_do() -> None:
    by_id = {key: AgentCard.model_validate(spec.as_dict()) for key, spec in cards_by_id().items()}
    for query in QUERIES:
        terms = set(analyze(query.text))
        assert terms, query.text
        card_words: Counter[str] = Counter()
        for card_id in query.relevant:
            card_words.update(card_terms(by_id[card_id]))
        shared = terms & card_words.keys()
        if query.paraphrase:
            assert not shared, (query.text, sorted(shared))
        else:
            assert shared, query.text

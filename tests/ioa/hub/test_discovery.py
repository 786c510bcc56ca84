"""The discovery index: BM25 ranking, filters, incremental updates and the optional hybrid."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest

from ioa.hub.discovery import (
    K1,
    B,
    DiscoveryIndex,
    Hit,
    InvalidQuery,
    InvalidVector,
    analyze,
    card_terms,
)
from ioa.hub.vectors import MAX_FIELDS, SOFTMAX_T, quantize
from protocols.card import AgentCard, Skill


def make_card(
    name: str, description: str = "", skills: list[tuple[str, str, list[str]]] | None = None
) -> AgentCard:
    return AgentCard(
        name=name,
        description=description,
        skills=[Skill(name=n, description=d, tags=t) for n, d, t in skills or []],
    )


TEAM = {
    "reviewer": make_card(
        "Code Reviewer",
        "Reads pull requests and points out bugs, style problems and missing tests.",
        [("review pull requests", "Comments line by line on a diff.", ["review", "Python"])],
    ),
    "developer": make_card(
        "Python Developer",
        "Writes and refactors Python programs and their unit tests.",
        [("write python", "Implements features from a specification.", ["python", "coding"])],
    ),
    "robot": make_card(
        "Robot Arm Controller",
        "Plans grasps and moves a six-axis arm to pick and place blocks on a table.",
        [("pick and place", "Moves objects between positions.", ["robot", "manipulation"])],
    ),
    "chef": make_card(
        "Chef",
        "Suggests recipes and cooking times for what is in the fridge.",
        [("plan meals", "Weekly menus within a budget.", ["cooking"])],
    ),
    "translator": make_card(
        "Translator",
        "Translates documents between French, German and English.",
        [("translate text", "Keeps the tone of the original.", ["language", "french"])],
    ),
    "analyst": make_card(
        "Data Analyst",
        "Summarizes sales spreadsheets into charts and a short report.",
        [("analyze data", "Statistics over tables and CSV files.", ["data", "python"])],
    ),
    "writer": make_card(
        "Technical Writer",
        "Writes user guides and API documentation from source code.",
        [("write documentation", "Tutorials, references and READMEs.", ["docs"])],
    ),
}


@pytest.fixture
def index() -> DiscoveryIndex:
    built = DiscoveryIndex()
    for agent_id, card in TEAM.items():
        built.upsert(agent_id, card)
    return built


def ids(hits: list[Hit]) -> list[str]:
    return [hit.agent_id for hit in hits]


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("reviewing code", "reviewer"),
        ("someone to write python programs", "developer"),
        ("pick up blocks with a robot arm", "robot"),
        ("translate a document into French", "translator"),
        ("summarize sales data in a chart", "analyst"),
        ("cooking recipes for dinner", "chef"),
        ("API documentation writer", "writer"),
    ],
)
def test_the_right_agent_ranks_first(index: DiscoveryIndex, query: str, best: str) -> None:
    hits = index.search(query, k=3)
    assert hits[0].agent_id == best
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))


def test_inflected_query_words_meet_the_card_and_are_reported(index: DiscoveryIndex) -> None:
    hit = index.search("reviewing code", k=1)[0]
    assert hit.agent_id == "reviewer"
    assert hit.matched_terms == ("reviewing", "code")
    assert hit.score > 0


def test_analysis_folds_case_plurals_and_verb_forms() -> None:
    assert analyze("Reviewing the code reviewers") == ["review", "cod", "review"]
    assert analyze("planning plans planner") == ["plan", "plan", "plan"]
    assert analyze("libraries library class classes") == ["library", "library", "class", "class"]
    assert analyze("GPT4 runs on x86_64") == ["gpt4", "run", "x86", "64"]
    assert analyze("the and of") == []


def test_name_and_tags_weigh_more_than_description() -> None:
    index = DiscoveryIndex()
    index.upsert("in-name", make_card("Welder", "Joins metal parts."))
    index.upsert("in-text", make_card("Fabricator", "Cuts, bends and sometimes acts as welder."))
    index.upsert("in-tag", make_card("Metal shop", "Joins parts.", [("join", "", ["welder"])]))
    index.upsert("other", make_card("Painter", "Paints walls."))
    hits = index.search("welder", k=5)
    assert ids(hits)[-1] == "in-text"
    assert set(ids(hits)[:2]) == {"in-name", "in-tag"}


def test_scores_are_okapi_bm25() -> None:
    cards = {
        "a": make_card("Alpha", "python python robot"),
        "b": make_card("Beta", "robot arm"),
        "c": make_card("Gamma", "cooking"),
    }
    index = DiscoveryIndex()
    for agent_id, card in cards.items():
        index.upsert(agent_id, card)
    terms = {agent_id: card_terms(card) for agent_id, card in cards.items()}
    n = len(terms)
    avgdl = sum(sum(t.values()) for t in terms.values()) / n

    def expected(agent_id: str, query_terms: list[str]) -> float:
        total = 0.0
        for term in query_terms:
            df = sum(term in t for t in terms.values())
            tf = terms[agent_id].get(term, 0)
            if tf:
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                dl = sum(terms[agent_id].values())
                total += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avgdl))
        return total

    hits = {hit.agent_id: hit.score for hit in index.search("python robot", k=10)}
    assert set(hits) == {"a", "b"}
    for agent_id, score in hits.items():
        assert score == pytest.approx(expected(agent_id, ["python", "robot"]), rel=1e-12)


def test_tags_filter_requires_every_tag_case_insensitively(index: DiscoveryIndex) -> None:
    assert set(ids(index.search("python", k=10, tags=["PYTHON"]))) == {
        "reviewer",
        "developer",
        "analyst",
    }
    assert ids(index.search("python", k=10, tags=[" python ", "Data"])) == ["analyst"]
    assert index.search("python", k=10, tags=["python", "cooking"]) == []
    assert index.search("python", k=10, tags=["no-such-tag"]) == []


def test_empty_query_with_tags_lists_the_tagged_agents_by_id(index: DiscoveryIndex) -> None:
    hits = index.search("", k=10, tags=["python"])
    assert ids(hits) == ["analyst", "developer", "reviewer"]
    assert all(hit.score == 0.0 and hit.matched_tags == ("python",) for hit in hits)
    assert ids(index.search("the of and", k=2, tags=["python"])) == ["analyst", "developer"]


def test_empty_or_garbage_query_without_filters_finds_nothing(index: DiscoveryIndex) -> None:
    for query in ["", "   ", "the and of", "!!! ;;; ---", "🤖💥", "\x00\x01", "x" * 500]:
        assert index.search(query) == []


def test_online_filter_follows_presence(index: DiscoveryIndex) -> None:
    index.set_online("developer", True)
    index.set_online("analyst", True)
    assert set(ids(index.search("python", k=10, online_only=True))) == {"developer", "analyst"}
    index.set_online("analyst", False)
    assert ids(index.search("python", k=10, online_only=True)) == ["developer"]
    assert ids(index.search("", k=10, online_only=True)) == ["developer"]
    assert len(index.search("python", k=10)) == 3


def test_presence_may_arrive_before_the_card_and_removal_clears_it() -> None:
    index = DiscoveryIndex()
    index.set_online("late", True)
    index.upsert("late", make_card("Late Welder"))
    assert ids(index.search("welder", online_only=True)) == ["late"]
    index.remove("late")
    index.upsert("late", make_card("Late Welder"))
    assert index.search("welder", online_only=True) == []


def test_upsert_replaces_the_old_card(index: DiscoveryIndex) -> None:
    terms_before = index.term_count
    index.upsert("chef", make_card("Welder", "Joins steel frames.", [("weld", "", ["metal"])]))
    assert len(index) == len(TEAM)
    assert index.search("cooking recipes") == []
    assert index.search("", tags=["cooking"]) == []
    assert ids(index.search("welding steel")) == ["chef"]
    assert ids(index.search("", tags=["metal"])) == ["chef"]
    index.upsert("chef", TEAM["chef"])
    assert index.term_count == terms_before
    assert index.search("welding steel") == []


def test_remove_forgets_the_agent_and_its_terms(index: DiscoveryIndex) -> None:
    terms_before = index.term_count
    index.remove("robot")
    assert "robot" not in index
    assert len(index) == len(TEAM) - 1
    assert index.search("robot arm grasp") == []
    assert index.search("", tags=["manipulation"]) == []
    assert index.term_count < terms_before
    index.remove("robot")
    index.remove("never-registered")
    index.upsert("robot-2", TEAM["robot"])
    assert ids(index.search("robot arm grasp")) == ["robot-2"]
    assert index.term_count == terms_before


def test_exclude_skips_agents(index: DiscoveryIndex) -> None:
    ranked = ids(index.search("python", k=10))
    assert ids(index.search("python", k=10, exclude=[ranked[0], "unknown"])) == ranked[1:]
    assert ids(index.search("", k=10, tags=["python"], exclude={"analyst"})) == [
        "developer",
        "reviewer",
    ]
    with pytest.raises(InvalidQuery):
        index.search("python", exclude="analyst")


def test_ties_are_broken_by_agent_id() -> None:
    index = DiscoveryIndex()
    for agent_id in ["delta", "bravo", "charlie", "alpha"]:
        index.upsert(agent_id, make_card("Welder", "Welds steel."))
    hits = index.search("welder", k=3)
    assert ids(hits) == ["alpha", "bravo", "charlie"]
    assert len({hit.score for hit in hits}) == 1


def test_results_do_not_depend_on_insertion_order() -> None:
    forward, backward = DiscoveryIndex(), DiscoveryIndex()
    for agent_id in TEAM:
        forward.upsert(agent_id, TEAM[agent_id])
    for agent_id in reversed(list(TEAM)):
        backward.upsert(agent_id, TEAM[agent_id])
    for query in ["python tests", "write documentation", "robot", "data chart report"]:
        assert forward.search(query, k=10) == backward.search(query, k=10)
        assert forward.search(query, k=10) == forward.search(query, k=10)


def test_unicode_cards_and_queries() -> None:
    index = DiscoveryIndex()
    index.upsert("de", make_card("Übersetzer", "Übersetzt Verträge ins Französische."))
    index.upsert("zh", make_card("翻译助手", "把英文文档翻译成中文"))
    index.upsert("ru", make_card("Переводчик", "Перевод технических текстов"))
    assert ids(index.search("UBERSETZER")) == ["de"]
    assert ids(index.search("vertrage")) == ["de"]
    assert ids(index.search("翻译")) == ["zh"]
    assert ids(index.search("переводчик")) == ["ru"]
    assert index.search("ﷺ 𝕏 ̈ ‮") == []


def test_bad_arguments_raise_typed_errors(index: DiscoveryIndex) -> None:
    for k in [0, -1, True, 2.5, "5"]:
        with pytest.raises(InvalidQuery, match="k must be"):
            index.search("python", k=k)  # type: ignore[arg-type]
    with pytest.raises(InvalidQuery, match="longer than"):
        index.search("python " * 3000)
    with pytest.raises(InvalidQuery) as raised:
        index.search(None)  # type: ignore[arg-type]
    assert raised.value.code == "invalid_query"
    with pytest.raises(InvalidQuery):
        index.search("python", tags="python")
    with pytest.raises(InvalidQuery):
        index.search("python", tags=[3])  # type: ignore[list-item]


def test_a_long_query_keeps_its_rarest_terms() -> None:
    index = DiscoveryIndex()
    common = [f"common{i}" for i in range(40)]
    for i in range(20):
        index.upsert(f"a{i:02d}", make_card(f"Agent {i}", " ".join(common)))
    index.upsert("needle", make_card("Zeta specialist", " ".join(common[:5])))
    query = " ".join([*common, "zeta", "unknownword"]) * 3
    hits = index.search(query, k=3)
    assert hits[0].agent_id == "needle"
    assert hits[0].matched_terms == ("zeta",)  # its five common words are the most frequent
    assert len(index.search(query, k=100)) == 21


def test_large_k_returns_every_match_once(index: DiscoveryIndex) -> None:
    hits = index.search("write python code tests data", k=1_000_000)
    assert len(hits) == len(set(ids(hits)))
    assert {"developer", "reviewer", "analyst", "writer"} <= set(ids(hits))
    assert "chef" not in ids(hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_multi_search_deduplicates_keeping_the_best_hit(index: DiscoveryIndex) -> None:
    queries = ["python", "review pull requests", "python code review"]
    hits = index.multi_search(queries, k=2)
    assert len(ids(hits)) == len(set(ids(hits)))
    singles = {q: index.search(q, k=2) for q in queries}
    union = {hit.agent_id for found in singles.values() for hit in found}
    assert set(ids(hits)) == union
    for hit in hits:
        found = [h for f in singles.values() for h in f if h.agent_id == hit.agent_id]
        assert hit == max(found, key=lambda h: h.score)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert index.multi_search([], k=3) == []
    with pytest.raises(InvalidQuery):
        index.multi_search("python")


def random_card(rng: random.Random, words: list[str], tags: list[str]) -> AgentCard:
    skills = [
        (" ".join(rng.sample(words, 2)), " ".join(rng.choices(words, k=6)), rng.sample(tags, 2))
        for _ in range(rng.randint(0, 3))
    ]
    return make_card(" ".join(rng.sample(words, 2)), " ".join(rng.choices(words, k=8)), skills)


WORDS = [f"w{i}" for i in range(60)] + ["robot", "python", "review", "cooking", "data"]
TAGS = ["common", "rare", "python", "robot", "x", "y", "z", "q"]


def test_filtered_search_equals_unfiltered_search_restricted() -> None:
    """Both strategies (scan postings, or probe the few admitted agents) rank the same."""
    rng = random.Random(3)
    index = DiscoveryIndex()
    cards = {f"a{i:03d}": random_card(rng, WORDS, TAGS) for i in range(300)}
    for i, (agent_id, card) in enumerate(cards.items()):
        if i % 40 == 0:
            needle = Skill(name="find", tags=["needle"])
            card = cards[agent_id] = card.model_copy(update={"skills": [*card.skills, needle]})
        index.upsert(agent_id, card)
        index.set_online(agent_id, i % 3 == 0)
    for query in ["w1 w2", "robot python w7", "w30", "data review cooking w59"]:
        everything = index.search(query, k=1000)
        for tags in [["python"], ["python", "robot"], ["q", "x"], ["needle"], ["needle", "x"]]:
            expected = [
                h.agent_id
                for h in everything
                if {t.lower() for s in cards[h.agent_id].skills for t in s.tags} >= set(tags)
            ]
            assert ids(index.search(query, k=1000, tags=tags)) == expected
        online = [h.agent_id for h in everything if int(h.agent_id[1:]) % 3 == 0]
        assert ids(index.search(query, k=1000, online_only=True)) == online


def test_incremental_updates_match_a_fresh_build() -> None:
    rng = random.Random(11)
    live: dict[str, AgentCard] = {}
    index = DiscoveryIndex()
    for _ in range(600):
        agent_id = f"a{rng.randrange(120):03d}"
        if rng.random() < 0.3:
            index.remove(agent_id)
            live.pop(agent_id, None)
        else:
            live[agent_id] = random_card(rng, WORDS, TAGS)
            index.upsert(agent_id, live[agent_id])
    fresh = DiscoveryIndex()
    for agent_id in sorted(live):
        fresh.upsert(agent_id, live[agent_id])
    assert len(index) == len(fresh) == len(live)
    assert index.term_count == fresh.term_count
    for query in ["w1 w2", "robot python", "w30 data", "w59"]:
        got, want = index.search(query, k=50), fresh.search(query, k=50)
        assert ids(got) == ids(want)
        assert [h.score for h in got] == pytest.approx([h.score for h in want], rel=1e-12)
    assert ids(index.search("", k=500, tags=["rare"])) == ids(
        fresh.search("", k=500, tags=["rare"])
    )


CONCEPTS = {
    "software": {"python", "program", "programs", "code", "software", "developer", "writes"},
    "food": {"chef", "recipes", "cooking", "dinner", "meal", "cook", "kitchen"},
    "robots": {"robot", "arm", "grasp", "blocks", "machine"},
}


def fake_embed(texts: list[str]) -> list[list[float]]:
    """A stand-in for the local embedding model: one dimension per concept, plus a bias."""
    vectors = []
    for text in texts:
        words = set(text.lower().replace(".", " ").split())
        vectors.append([0.05] + [float(len(words & vocab)) for vocab in CONCEPTS.values()])
    return vectors


def test_hybrid_ranking_finds_a_semantic_match_without_shared_words() -> None:
    cards = {
        "developer": make_card("Python Developer", "Writes Python code."),
        "chef": make_card("Chef", "Cooking and recipes."),
        "robot": make_card("Robot Arm", "Grasp blocks."),
    }
    index = DiscoveryIndex(semantic_weight=0.5)
    vectors = fake_embed([card.search_text() for card in cards.values()])
    for (agent_id, card), vector in zip(cards.items(), vectors, strict=True):
        index.upsert(agent_id, card, vector=vector)
    query = "someone to prepare a meal in the kitchen"
    assert index.search(query) == []
    hits = index.search(query, k=1, query_vector=fake_embed([query])[0])
    assert ids(hits) == ["chef"]
    assert hits[0].matched_terms == ()
    both = index.search("python developer", k=3, query_vector=fake_embed(["python program"])[0])
    assert both[0].agent_id == "developer"
    plain = index.search("python developer", k=3)
    assert ids(plain) == ["developer"]
    assert plain[0].score > 1.0
    # BM25 is scaled by the query's bound: both terms (df 1 of 3 cards) at saturation
    bound = 2 * math.log(1.0 + (3 - 1 + 0.5) / (1 + 0.5)) * (K1 + 1.0)
    lexical = plain[0].score / bound
    assert 0.0 < lexical < 1.0
    expected = 0.5 * lexical**3 + 0.5 * fake_cos("python program", cards)
    assert both[0].score == pytest.approx(expected, rel=1e-3)  # card rows are kept as int8
    assert index.search("python developer", k=3, mode="bm25", query_vector=[1.0] * 4) == plain


def test_modes_rank_by_words_by_meaning_or_both() -> None:
    index = DiscoveryIndex(semantic_weight=0.5)
    index.upsert("chef", make_card("Chef", "Cooking and recipes."), vector=[0.0, 1.0, 0.0])
    index.upsert("coder", make_card("Coder", "Writes kitchen software."), vector=[1.0, 0.0, 0.0])
    meal = [0.1, 1.0, 0.0]
    assert ids(index.search("kitchen", mode="bm25", query_vector=meal)) == ["coder"]
    vector_hits = index.search("kitchen", mode="vector", query_vector=meal)
    assert ids(vector_hits) == ["chef", "coder"]
    assert vector_hits[0].score == pytest.approx(1.0 / math.sqrt(1.01))
    assert ids(index.search("kitchen", mode="hybrid", query_vector=meal))[0] == "chef"
    with pytest.raises(InvalidQuery, match="mode must be one of"):
        index.search("kitchen", mode="semantic", query_vector=meal)
    with pytest.raises(InvalidQuery, match="needs a query vector"):
        index.search("kitchen", mode="vector")
    index.set_vector("chef", None)
    assert not index.has_vector("chef")
    assert ids(index.search("kitchen", mode="vector", query_vector=meal)) == ["coder"]


def fake_cos(query: str, cards: dict[str, AgentCard]) -> float:
    q, d = fake_embed([query, cards["developer"].search_text()])
    dot = sum(a * b for a, b in zip(q, d, strict=True))
    return dot / math.sqrt(sum(a * a for a in q) * sum(b * b for b in d))


def test_hybrid_respects_filters_and_upserts_without_vector() -> None:
    index = DiscoveryIndex()
    index.upsert("chef", make_card("Chef", "recipes", [("cook", "", ["food"])]), vector=[0, 1, 0])
    index.upsert("cook", make_card("Cook", "meals"), vector=[0, 0.9, 0.1])
    query_vector = [0.0, 1.0, 0.0]
    assert ids(index.search("kitchen", k=5, query_vector=query_vector)) == ["chef", "cook"]
    assert ids(index.search("kitchen", k=5, query_vector=query_vector, tags=["food"])) == ["chef"]
    assert ids(index.search("kitchen", k=5, query_vector=query_vector, exclude=["chef"])) == [
        "cook"
    ]
    index.upsert("chef", make_card("Chef", "recipes"))
    assert ids(index.search("kitchen", k=5, query_vector=query_vector)) == ["cook"]


@pytest.mark.parametrize("vector", [[0.0, 0.0, 0.0], [1.0, 2.0], [[1.0]], ["a", "b", "c"], []])
def test_bad_vectors_raise_invalid_vector(vector: list[float]) -> None:
    index = DiscoveryIndex()
    index.upsert("a", make_card("A"), vector=[1.0, 0.0, 0.0])
    with pytest.raises(InvalidVector):
        index.upsert("b", make_card("B"), vector=vector)
    with pytest.raises(InvalidVector):
        index.search("a", query_vector=vector)
    with pytest.raises(InvalidVector):
        index.upsert("c", make_card("C"), vector=[math.nan, 1.0, 0.0])
    assert "b" not in index


def test_hybrid_top_k_equals_the_blend_computed_for_every_card() -> None:
    rng = random.Random(3)
    words = ["python", "code", "cook", "meal", "robot", "arm", "plan", "trip", "tax", "law"]
    index = DiscoveryIndex(semantic_weight=0.7)
    cards: dict[str, tuple[AgentCard, list[float]]] = {}
    for i in range(300):
        text = " ".join(rng.choices(words, k=rng.randint(1, 5)))
        vector = [rng.gauss(0, 1) for _ in range(8)]
        card = make_card(f"agent {i}", text)
        cards[f"a{i:03d}"] = (card, vector)
        index.upsert(f"a{i:03d}", card, vector=vector)
        index.set_online(f"a{i:03d}", i % 3 != 0)
    for _ in range(20):
        query = " ".join(rng.sample(words, 2))
        qv = [rng.gauss(0, 1) for _ in range(8)]
        excluded = [f"a{rng.randrange(300):03d}"]
        got = index.search(query, k=5, query_vector=qv, online_only=True, exclude=excluded)
        plain = {
            h.agent_id: h.score
            for h in index.search(query, k=300, online_only=True, exclude=excluded, mode="bm25")
        }
        terms = set(analyze(query))
        n = len(index)
        bound = sum(
            math.log(1 + (n - df + 0.5) / (df + 0.5)) * (K1 + 1)
            for term in terms
            if (df := sum(term in card_terms(c) for c, _ in cards.values()))
        )
        q = [x / math.sqrt(sum(y * y for y in qv)) for x in qv]
        expected = {}
        for agent_id, (_, vector) in cards.items():
            if int(agent_id[1:]) % 3 == 0 or agent_id in excluded:
                continue
            unit = np.asarray([vector]) / math.sqrt(sum(y * y for y in vector))
            values, scale = quantize(unit)  # rows are kept as int8 with a scale
            stored = (values[0] * scale[0]).tolist()
            cosine = max(sum(a * b for a, b in zip(q, stored, strict=True)), 0.0)
            lexical = plain.get(agent_id, 0.0) / bound
            expected[agent_id] = 0.3 * lexical**3 + 0.7 * cosine
        best = sorted(expected.items(), key=lambda item: (-item[1], item[0]))[:5]
        assert [h.agent_id for h in got] == [a for a, _ in best]
        assert [h.score for h in got] == pytest.approx([s for _, s in best], rel=1e-4)


def test_a_card_scores_the_soft_maximum_of_its_fields() -> None:
    index = DiscoveryIndex(semantic_weight=1.0)
    fields = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    index.upsert("two-things", make_card("Chef and coder"), vector=fields)
    index.upsert("blurred", make_card("Blurred"), vector=[1.0, 1.0, 0.0])
    query = [0.0, 1.0, 0.2]
    hits = index.search("", k=2, query_vector=query, mode="vector")
    assert ids(hits) == ["two-things", "blurred"]
    cosines = [0.0, 1.0 / math.sqrt(1.04)]
    want = SOFTMAX_T * math.log(sum(math.exp(c / SOFTMAX_T) for c in cosines))
    assert hits[0].score == pytest.approx(want, rel=1e-3)
    assert hits[1].score == pytest.approx(1.0 / math.sqrt(2 * 1.04), rel=1e-3)
    with pytest.raises(InvalidVector, match="at most"):
        index.upsert("many", make_card("Many"), vector=[[1.0, 0.0, 0.0]] * (MAX_FIELDS + 1))
    with pytest.raises(InvalidVector, match="flat"):
        index.search("x", query_vector=fields, mode="vector")


def random_units(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    values = rng.standard_normal((rows, dim))
    return values / np.linalg.norm(values, axis=1, keepdims=True)


def test_candidates_by_projection_give_the_exact_top_k_when_nothing_is_lost() -> None:
    """With 8 dimensions the projection keeps everything, so ranking 16 candidates must give
    what scoring every card gives, filters and hybrid included."""
    rng = np.random.default_rng(5)
    words = ["python", "code", "cook", "meal", "robot", "arm", "plan", "trip"]
    exact = DiscoveryIndex(semantic_weight=0.7)
    staged = DiscoveryIndex(semantic_weight=0.7, candidates=16)
    vectors = random_units(rng, 400, 8)
    for i, vector in enumerate(vectors):
        card = make_card(f"agent {i}", " ".join(rng.choice(words, 3)))
        for index in (exact, staged):
            index.upsert(f"a{i:03d}", card, vector=vector)
            index.set_online(f"a{i:03d}", i % 2 == 0)
    for _ in range(25):
        query = " ".join(rng.choice(words, 2))
        qv = rng.standard_normal(8)
        for mode in ("vector", "hybrid"):
            for online in (False, True):
                got = staged.search(query, query_vector=qv, mode=mode, online_only=online)
                want = exact.search(query, query_vector=qv, mode=mode, online_only=online)
                assert ids(got) == ids(want)


def test_candidates_by_projection_find_a_near_duplicate_among_many_cards() -> None:
    """384 dimensions, 64 projected: a query close to one card's field finds that card, also
    for cards added after the projection was fitted and after it is fitted again."""
    rng = np.random.default_rng(9)
    index = DiscoveryIndex(candidates=64)
    fields = [random_units(rng, int(rng.integers(1, 5)), 384) for _ in range(1200)]
    for i, rows in enumerate(fields[:200]):
        index.upsert(f"a{i:04d}", make_card(f"agent {i}"), vector=rows)
    for i in rng.choice(200, 10, replace=False):
        near = fields[i][-1] + 0.2 * random_units(rng, 1, 384)[0]
        assert ids(index.search("", k=1, query_vector=near, mode="vector")) == [f"a{i:04d}"]
    for i, rows in enumerate(fields[200:], start=200):
        index.upsert(f"a{i:04d}", make_card(f"agent {i}"), vector=rows)
    for i in rng.choice(1200, 20, replace=False):
        near = fields[i][0] + 0.2 * random_units(rng, 1, 384)[0]
        assert ids(index.search("", k=1, query_vector=near, mode="vector")) == [f"a{i:04d}"]

"""The bundled sentence-embedding model: its GGUF conversion checked against a numpy forward pass
of the same weights, and `Embedder` on real llama.cpp (plus its scripted twin)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from ioa import cli
from ioa.llm import EngineClosed, ModelFileError
from ioa.llm.bert_gguf import (
    CACHE_DIR_ENV,
    EMBED_MODEL_ENV,
    BertBundle,
    ConversionFailed,
    bundled_embedding_source,
    embedding_model_path,
    read_bundle,
)
from ioa.llm.bert_reference import reference_embed, wordpiece_ids
from ioa.llm.embedder import (
    MAX_BATCH,
    EmbeddingInputError,
    LlamaCppEmbedder,
    TokenRows,
    load_embedder,
    pool,
)
from ioa.llm.scripted_embedder import ScriptedEmbedder

SENTENCES = [
    "Evaluates arithmetic expressions such as (17 + 5) * 3.",
    "add 17 and 25 then explain",
    "Héllo, wörld! The robot's gripper can't reach the blue-green cube.",
    "Converts quantities between units of length, mass, volume and time",
]


@pytest.fixture(scope="module")
def bundle() -> BertBundle:
    source = bundled_embedding_source()
    assert source is not None
    return read_bundle(source)


@pytest.fixture
async def embedder(minilm_gguf: Path) -> LlamaCppEmbedder:
    running = await LlamaCppEmbedder(minilm_gguf).start()
    yield running  # type: ignore[misc]
    await running.close()


async def test_the_gguf_agrees_with_a_numpy_forward_pass_of_the_same_weights(
    minilm_gguf: Path, bundle: BertBundle, embedder: LlamaCppEmbedder
) -> None:
    assert bundle.max_tokens == 256
    vectors = await embedder.embed(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 384)
    for sentence, vector in zip(SENTENCES, vectors, strict=True):
        reference = reference_embed(bundle, sentence)
        assert float(vector @ reference) >= 0.999, sentence
    # and the vocabulary: llama.cpp's WordPiece gives the reference tokenizer's ids
    llm = embedder._llm
    for sentence in SENTENCES:
        assert llm.tokenize(sentence.encode()) == wordpiece_ids(bundle, sentence)


async def test_batched_vectors_equal_single_ones_and_rank_by_meaning(
    embedder: LlamaCppEmbedder,
) -> None:
    texts = ["add two numbers together", "sum 17 and 25", "bake a chocolate cake"]
    batch = await embedder.embed(texts)
    for text, row in zip(texts, batch, strict=True):
        single = await embedder.embed_one(text)
        assert float(single @ row) > 0.999
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-4)
    assert float(batch[0] @ batch[1]) > float(batch[0] @ batch[2])
    long_text = "word " * 5000  # cut to the model's length, not refused
    assert (await embedder.embed_one(long_text)).shape == (384,)


async def test_a_big_batch_is_packed_into_several_decodes_in_order(
    embedder: LlamaCppEmbedder,
) -> None:
    texts = [f"skill {i}: " + "plans trips and books hotels " * (i % 9) for i in range(40)]
    texts[7] = "word " * 5000
    assert len(embedder._packed(texts)) > 5  # short decodes: cheaper per text than one big one
    batch = await embedder.embed(texts)
    for text, row in zip(texts, batch, strict=True):
        assert float((await embedder.embed_one(text)) @ row) > 0.999


async def test_token_vectors_of_every_text_of_one_decode_are_its_own(
    embedder: LlamaCppEmbedder, bundle: BertBundle
) -> None:
    texts = ["add two numbers together", "sum 17 and 25", "bake a chocolate cake"]
    assert len(embedder._packed(texts)) == 1  # all three in one llama.cpp decode
    together = await embedder.tokens(texts)
    ids = await embedder.token_ids(texts)
    for text, tokens, only_ids in zip(texts, together, ids, strict=True):
        (alone,) = await embedder.tokens([text])
        assert tokens.ids.tolist() == wordpiece_ids(bundle, text)[1:-1]  # no [CLS]/[SEP]
        assert only_ids.tolist() == tokens.ids.tolist()
        assert tokens.rows.shape == (len(tokens.ids), 384)
        assert np.allclose(np.linalg.norm(tokens.rows, axis=1), 1.0, atol=1e-4)
        assert np.allclose(tokens.rows, alone.rows, atol=1e-3)
    means = [pool(tokens) for tokens in together]
    assert float(means[0] @ means[1]) > float(means[0] @ means[2])
    assert float(means[0] @ (await embedder.embed_one(texts[0]))) > 0.9  # near the model's own


def test_pooling_weighs_tokens_and_an_empty_text_pools_to_zero() -> None:
    rows = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    tokens = TokenRows(np.array([5, 9], dtype=np.int32), rows)
    assert np.allclose(pool(tokens), [2**-0.5, 2**-0.5])
    assert np.allclose(pool(tokens, np.array([3.0, 1.0])), np.array([3.0, 1.0]) / 10**0.5)
    assert not pool(tokens, np.zeros(2)).any()
    assert not pool(TokenRows(np.zeros(0, np.int32), np.zeros((0, 2), np.float32))).any()


async def test_bad_input_is_a_typed_error_and_a_closed_embedder_says_so(
    embedder: LlamaCppEmbedder,
) -> None:
    for bad in ("one string", [], ["ok", 3], ["x"] * (MAX_BATCH + 1)):
        for call in (embedder.embed, embedder.tokens, embedder.token_ids):
            with pytest.raises(EmbeddingInputError):
                await call(bad)  # type: ignore[operator]
    await embedder.close()
    for call in (embedder.embed, embedder.tokens, embedder.token_ids):
        with pytest.raises(EngineClosed):
            await call(["late"])  # type: ignore[operator]


async def test_one_model_per_process_and_bad_files_are_model_file_errors(
    minilm_gguf: Path, tmp_path: Path
) -> None:
    first, second = await asyncio.gather(load_embedder(minilm_gguf), load_embedder(minilm_gguf))
    assert first is second
    await first.close()
    assert not second.closed  # one user left
    await second.close()
    assert second.closed
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf at all")
    with pytest.raises(ModelFileError):
        await load_embedder(junk)
    with pytest.raises(ModelFileError):
        await load_embedder(tmp_path / "missing.gguf")


def test_the_cache_holds_the_conversion_and_env_vars_point_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, minilm_gguf: Path
) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(EMBED_MODEL_ENV, raising=False)
    planned = embedding_model_path(convert=False)
    assert planned.is_relative_to(tmp_path / "cache")
    assert not planned.exists()
    monkeypatch.setenv(EMBED_MODEL_ENV, str(minilm_gguf))
    assert embedding_model_path() == minilm_gguf
    monkeypatch.setenv(EMBED_MODEL_ENV, str(tmp_path / "nope.gguf"))
    with pytest.raises(ModelFileError, match=EMBED_MODEL_ENV):
        embedding_model_path()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK not really")
    with pytest.raises(ConversionFailed):
        read_bundle(broken)


def test_models_list_shows_the_embedding_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(EMBED_MODEL_ENV, raising=False)
    monkeypatch.setenv("IOA_MODELS_DIR", str(tmp_path / "models"))
    assert cli.main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "Embedding model" in out
    assert "all-MiniLM-L6-v2" in out
    assert str(tmp_path / "cache") in out


async def test_the_scripted_twin_is_deterministic_and_checks_like_the_real_one() -> None:
    twin = ScriptedEmbedder({"exact": [1.0] + [0.0] * 15})
    rows = await twin.embed(["exact", "python code", "python code", "cooking"])
    assert rows.shape == (4, 16)
    assert float(rows[0][0]) == pytest.approx(1.0)
    assert float(rows[1] @ rows[2]) == pytest.approx(1.0)
    assert twin.batches == [["exact", "python code", "python code", "cooking"]]
    with pytest.raises(EmbeddingInputError):
        await twin.embed([])
    with pytest.raises(EmbeddingInputError):
        ScriptedEmbedder({"short": [1.0, 2.0]})
    await twin.close()
    with pytest.raises(EngineClosed):
        await twin.embed(["x"])


async def test_the_scripted_twin_gives_a_token_per_word() -> None:
    twin = ScriptedEmbedder({"exact text": [1.0] + [0.0] * 15})
    exact, words = await twin.tokens(["exact text", "Python code python"])
    assert len(exact.ids) == 1
    assert float(pool(exact)[0]) == pytest.approx(1.0)
    assert len(words.ids) == 3
    assert words.ids[0] == words.ids[2] != words.ids[1]
    ids = await twin.token_ids(["exact text", "Python code python"])
    assert [row.tolist() for row in ids] == [exact.ids.tolist(), words.ids.tolist()]
    assert np.allclose(np.linalg.norm(words.rows, axis=1), 1.0)

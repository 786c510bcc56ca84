"""Model files: the tiny test GGUFs are what llama.cpp needs, synthesized shapes are labelled, and
every kind of bad file is a typed error naming the file, never a crashed process."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from pathlib import Path

import gguf
import numpy as np
import pytest

from ioa.llm import (
    LlamaCppEngine,
    ModelFileError,
    ModelLoadFailed,
    ModelNotFound,
    NotAGGUF,
    QuantizeFailed,
    TruncatedGGUF,
    UnknownShape,
    UnsafeVocabulary,
    UnsupportedArchitecture,
    inspect_gguf,
    load_engine,
    synth_model,
    write_tiny_gguf,
)
from ioa.llm.synth import ModelShape


@pytest.mark.parametrize("arch", ["minicpm", "minicpm3"])
def test_tiny_gguf_has_what_llama_cpp_needs(arch: str, tmp_path: Path) -> None:
    path = write_tiny_gguf(tmp_path / f"{arch}.gguf", arch)  # type: ignore[arg-type]
    reader = gguf.GGUFReader(path)
    fields = reader.fields
    assert fields["general.architecture"].contents() == arch
    tokens = fields["tokenizer.ggml.tokens"].contents()
    types = fields["tokenizer.ggml.token_type"].contents()
    byte_tokens = {t for t, kind in zip(tokens, types, strict=True) if kind == gguf.TokenType.BYTE}
    assert byte_tokens == {f"<0x{b:02X}>" for b in range(256)}
    assert len(set(tokens)) == len(tokens)
    assert f"{arch}.attention.layer_norm_rms_epsilon" in fields
    for key in ("embedding_scale", "residual_scale", "logit_scale"):
        assert f"{arch}.{key}" in fields
    assert "<|im_start|>" in fields["tokenizer.chat_template"].contents()
    assert fields[f"{arch}.embedding_length"].contents() == 64
    assert fields[f"{arch}.block_count"].contents() == 2
    assert path.stat().st_size < 1_000_000


@pytest.mark.llama
async def test_synthesized_shape_is_quantized_and_labelled(tmp_path: Path) -> None:
    shape = ModelShape("small", "minicpm", 256, 2, 4, 2, 512, 2000, 1024)
    path = synth_model(shape, tmp_path / "small.gguf", quant="Q4_K_M", threads=1)
    facts = inspect_gguf(path)
    assert facts.quant == "Q4_K_M"
    assert facts.synthetic
    assert facts.name is not None
    assert "RANDOM WEIGHTS" in facts.name
    assert facts.vocab_size == 2000
    leftovers = await asyncio.to_thread(lambda: list(tmp_path.glob("*.tmp")))
    assert not leftovers, "the F16 intermediate is removed"
    async with LlamaCppEngine(path, n_threads=1) as engine:
        reply = await engine.chat([{"role": "user", "content": "hi"}], agent="a", max_tokens=4)
        assert reply.completion_tokens >= 1


def test_synth_rejects_unknown_shapes_and_quants(tmp_path: Path) -> None:
    with pytest.raises(UnknownShape, match=r"minicpm4-0\.5b"):
        synth_model("gpt-5", tmp_path / "x.gguf")
    with pytest.raises(QuantizeFailed, match="Q9_X"):
        synth_model("tiny-minicpm", tmp_path / "x.gguf", quant="Q9_X")


def write_gguf(path: Path, arch: str, vocab: list[str], *, rms_eps: bool = True) -> Path:
    """A minimal one-layer GGUF for bad-input cases."""
    w = gguf.GGUFWriter(path, arch)
    w.add_context_length(128)
    w.add_embedding_length(32)
    w.add_block_count(1)
    w.add_feed_forward_length(64)
    w.add_head_count(2)
    w.add_head_count_kv(2)
    if rms_eps:
        w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("llama")
    w.add_token_list(vocab)
    w.add_token_types([gguf.TokenType.NORMAL] * len(vocab))
    w.add_tensor("token_embd.weight", np.zeros((len(vocab), 32), dtype=np.float32))
    w.add_tensor("output_norm.weight", np.ones(32, dtype=np.float32))
    p = "blk.0."
    for name, shape in [("attn_q", (32, 32)), ("attn_k", (32, 32)), ("attn_v", (32, 32)),
                        ("attn_output", (32, 32)), ("ffn_gate", (64, 32)), ("ffn_up", (64, 32)),
                        ("ffn_down", (32, 64))]:  # fmt: skip
        w.add_tensor(f"{p}{name}.weight", np.zeros(shape, dtype=np.float32))
    for name in ("attn_norm", "ffn_norm"):
        w.add_tensor(f"{p}{name}.weight", np.ones(32, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


SAFE_VOCAB = ["<unk>", "<s>", "</s>", *(f"<0x{b:02X}>" for b in range(256)), "a", "b"]


def cut(source: Path, size: int) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        target = tmp / "cut.gguf"
        target.write_bytes(source.read_bytes()[:size])
        return target

    return make


BAD_FILES: dict[str, tuple[Callable[[Path, Path], Path], type[ModelFileError], str]] = {
    "missing": (lambda tmp, _: tmp / "absent.gguf", ModelNotFound, "no such model file"),
    "directory": (lambda tmp, _: tmp, NotAGGUF, "not a regular file"),
    "empty": (lambda tmp, _: _touch(tmp / "empty.gguf", b""), NotAGGUF, "only 0 bytes"),
    "text": (lambda tmp, _: _touch(tmp / "notes.gguf", b"hello world\n" * 9), NotAGGUF, "magic"),
    "garbage counts": (
        lambda tmp, _: _touch(tmp / "g.gguf", b"GGUF" + (3).to_bytes(4, "little") + b"\xff" * 16),
        NotAGGUF,
        "implausible",
    ),
    "cut in header": (lambda tmp, tiny: cut(tiny, 500)(tmp), TruncatedGGUF, "header"),
    "cut in data": (
        lambda tmp, tiny: cut(tiny, tiny.stat().st_size - 1000)(tmp),
        TruncatedGGUF,
        "1000 bytes short",
    ),
    "unknown arch": (
        lambda tmp, _: write_gguf(tmp / "arch.gguf", "notanarch", SAFE_VOCAB),
        UnsupportedArchitecture,
        "'notanarch'",
    ),
    "missing rms key": (
        lambda tmp, _: write_gguf(tmp / "rms.gguf", "minicpm", SAFE_VOCAB, rms_eps=False),
        ModelLoadFailed,
        "layer_norm_rms_epsilon",
    ),
    "no byte tokens": (
        lambda tmp, _: write_gguf(tmp / "bytes.gguf", "llama", ["<unk>", "<s>", "</s>", "a"]),
        UnsafeVocabulary,
        "byte-fallback",
    ),
    "duplicate tokens": (
        lambda tmp, _: write_gguf(tmp / "dup.gguf", "llama", [*SAFE_VOCAB, "a"]),
        UnsafeVocabulary,
        "1 duplicate",
    ),
}


def _touch(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.llama
@pytest.mark.parametrize("case", list(BAD_FILES))
async def test_bad_model_files_are_typed_errors_naming_the_file(
    case: str, tmp_path: Path, tiny_minicpm: Path
) -> None:
    make, error, words = BAD_FILES[case]
    path = make(tmp_path, tiny_minicpm)
    with pytest.raises(error, match=words) as raised:
        await load_engine(path, n_threads=1)
    assert str(path) in raised.value.message
    assert raised.value.code == error.code
    async with LlamaCppEngine(tiny_minicpm, n_threads=1) as fine:
        reply = await fine.chat(
            [{"role": "user", "content": "still alive?"}], agent="a", max_tokens=2
        )
        assert reply.completion_tokens >= 1


def test_inspect_reads_facts_without_loading(tiny_minicpm3: Path) -> None:
    facts = inspect_gguf(tiny_minicpm3)
    assert facts.arch == "minicpm3"
    assert facts.quant == "F16"
    assert facts.context_length == 2048
    assert facts.missing_byte_tokens == 0
    assert facts.duplicate_tokens == 0
    assert facts.chatml_tokens
    assert not facts.synthetic
    assert facts.n_params == sum(math.prod(t.shape) for t in gguf.GGUFReader(tiny_minicpm3).tensors)

"""Write GGUFs with random weights: tiny MiniCPM test models and real-shape speed-test models.

Random weights produce noise, but they load, tokenize and compute exactly like trained ones, at
exactly the same speed. So tests run real llama.cpp on a 0.2 MB file written in milliseconds, and
speed can be measured on a MiniCPM shape without downloading anything.

Two details decide whether such a file works at all (measured with llama-cpp-python 0.3.36):

- A SentencePiece vocabulary must hold all 256 byte tokens `<0x00>`...`<0xFF>`; without them the
  first character outside the vocabulary aborts the whole process inside llama.cpp.
- `minicpm` needs `minicpm.attention.layer_norm_rms_epsilon`; the three MiniCPM scale keys
  (embedding, residual, logit) are written too, since older llama.cpp builds require them.

Speed-test files are labelled: `general.name` says "RANDOM WEIGHTS" and `ioa.synthetic` is true.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import llama_cpp
import numpy as np
from gguf import GGUFWriter
from gguf.constants import LlamaFileType, TokenType

from ioa.llm._llama_log import capture_log, last_error
from ioa.llm.errors import QuantizeFailed, UnknownShape
from ioa.llm.gguf_file import SYNTHETIC_KEY
from ioa.llm.system import default_threads

__all__ = ["CHATML_JINJA", "SHAPES", "ModelShape", "synth_model", "write_tiny_gguf"]

CHATML_JINJA = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

Arch = Literal["minicpm", "minicpm3"]


@dataclass(frozen=True)
class ModelShape:
    name: str
    arch: Arch
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    n_ff: int
    n_vocab: int
    n_ctx: int
    q_lora_rank: int = 0
    """minicpm3 (MLA attention) only, like the four fields below."""
    kv_lora_rank: int = 0
    qk_nope_dim: int = 0
    qk_rope_dim: int = 0
    v_head_dim: int = 0
    note: str = ""


SHAPES: dict[str, ModelShape] = {
    s.name: s
    for s in (
        ModelShape(
            "minicpm4-0.5b", "minicpm", 1024, 24, 16, 2, 4096, 73440, 32768,
            note="0.5B-class MiniCPM4 shape (the exact MiniCPM4-0.5B config is unpublished)",
        ),
        ModelShape("minicpm-1b", "minicpm", 1536, 52, 24, 8, 3840, 73440, 4096),
        ModelShape(
            "minicpm3-4b", "minicpm3", 2560, 62, 40, 40, 6400, 73448, 32768,
            q_lora_rank=768, kv_lora_rank=256, qk_nope_dim=64, qk_rope_dim=32, v_head_dim=64,
        ),
        ModelShape("tiny-minicpm", "minicpm", 64, 2, 4, 2, 128, 0, 2048, note="test model"),
        ModelShape(
            "tiny-minicpm3", "minicpm3", 64, 2, 4, 4, 128, 0, 2048,
            q_lora_rank=32, kv_lora_rank=16, qk_nope_dim=16, qk_rope_dim=8, v_head_dim=16,
            note="test model",
        ),
    )
}  # fmt: skip
"""Shapes `ioa models synth` knows; n_vocab 0 means the smallest safe vocabulary (~340 tokens)."""

_POOL = 1 << 20
"""Random values generated once per file; tensors are slices or repeats of it (speed is the same
and a 4B-parameter file does not need 4B random draws)."""


def write_tiny_gguf(
    path: str | Path,
    arch: Arch = "minicpm",
    *,
    chat_template: bool = True,
    seed: int = 0,
) -> Path:
    """A ~0.2 MB random-weight `minicpm` or `minicpm3` GGUF (2 layers, hidden 64) for tests.

    It has the 256 byte tokens, the rms-epsilon key, the three scale keys and, unless
    `chat_template` is False, a ChatML template. Its replies are noise.
    """
    return _write(Path(path), SHAPES[f"tiny-{arch}"], seed=seed, template=chat_template)


def synth_model(
    shape: str | ModelShape,
    path: str | Path,
    *,
    quant: str = "Q4_K_M",
    seed: int = 0,
    threads: int | None = None,
) -> Path:
    """Write a random-weight GGUF with a real MiniCPM shape, for speed measurements only.

    Written in F16, then quantized by llama.cpp itself (`gguf-py` cannot write K-quants).
    Needs free disk for the F16 intermediate: about 2 bytes per parameter.
    """
    if isinstance(shape, str):
        if shape not in SHAPES:
            raise UnknownShape(f"no shape {shape!r}; known: {', '.join(SHAPES)}")
        shape = SHAPES[shape]
    path = Path(path)
    quant = quant.upper()
    if quant == "F16":
        return _write(path, shape, seed=seed, template=True, synthetic=True)
    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{quant}", None)
    if ftype is None:
        raise QuantizeFailed(f"unknown quantisation {quant!r} (try Q4_K_M, Q4_0, Q8_0, F16)")
    f16 = path.with_name(path.name + ".f16.tmp")
    try:
        _write(f16, shape, seed=seed, template=True, synthetic=True)
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = ftype
        params.nthread = threads or default_threads()
        with capture_log() as log:
            failed = llama_cpp.llama_model_quantize(
                str(f16).encode(), str(path).encode(), ctypes.byref(params)
            )
        if failed:
            raise QuantizeFailed(f"{path}: {last_error(log)}")
    finally:
        f16.unlink(missing_ok=True)
    return path


def _vocab(n_vocab: int) -> tuple[list[str], list[float], list[int]]:
    """SentencePiece-style vocabulary: specials, 256 byte tokens, ChatML markers, then pieces
    (characters, word-initial characters, a few words, letter pairs and triples, fillers)."""
    tokens = ["<unk>", "<s>", "</s>", *(f"<0x{b:02X}>" for b in range(256))]
    tokens += ["<|im_start|>", "<|im_end|>"]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL]
    types += [TokenType.BYTE] * 256 + [TokenType.CONTROL] * 2
    letters = "abcdefghijklmnopqrstuvwxyz"
    pieces = [*letters, *(f"▁{c}" for c in letters), *"0123456789", *'{}[]":,._-!?']
    pieces += ["▁the", "▁to", "▁and", "▁you", "▁agent", "▁task", "▁hello"]
    if n_vocab > len(tokens) + len(pieces):
        pieces += [a + b for a in letters for b in letters]
        pieces += [f"▁{a}{b}" for a in letters for b in letters]
        pieces += [a + b + c for a in letters for b in letters for c in letters]
        pieces += [f"▁{a}{b}{c}" for a in letters for b in letters for c in letters]
    pieces = list(dict.fromkeys(pieces))  # llama.cpp aborts on a duplicate token
    target = max(n_vocab, len(tokens) + 1) if n_vocab else len(tokens) + len(pieces)
    pieces = pieces[: target - len(tokens)]
    pieces += [f"▁w{i}" for i in range(target - len(tokens) - len(pieces))]
    scores = [0.0] * len(tokens) + [-float(i) for i in range(len(pieces))]
    return tokens + pieces, scores, [int(t) for t in types] + [int(TokenType.NORMAL)] * len(pieces)


def _tensor_specs(s: ModelShape, n_vocab: int) -> list[tuple[str, tuple[int, ...]]]:
    """(name, numpy shape) of every tensor; 1-D ones are norms. The output is tied to the
    token embedding, as in MiniCPM."""
    specs: list[tuple[str, tuple[int, ...]]] = [
        ("token_embd.weight", (n_vocab, s.n_embd)),
        ("output_norm.weight", (s.n_embd,)),
    ]
    head = s.n_embd // s.n_head
    for i in range(s.n_layer):
        p = f"blk.{i}."
        specs.append((p + "attn_norm.weight", (s.n_embd,)))
        if s.arch == "minicpm":
            specs += [
                (p + "attn_q.weight", (s.n_head * head, s.n_embd)),
                (p + "attn_k.weight", (s.n_head_kv * head, s.n_embd)),
                (p + "attn_v.weight", (s.n_head_kv * head, s.n_embd)),
                (p + "attn_output.weight", (s.n_embd, s.n_head * head)),
            ]
        else:
            qk = s.qk_nope_dim + s.qk_rope_dim
            specs += [
                (p + "attn_q_a.weight", (s.q_lora_rank, s.n_embd)),
                (p + "attn_q_a_norm.weight", (s.q_lora_rank,)),
                (p + "attn_q_b.weight", (s.n_head * qk, s.q_lora_rank)),
                (p + "attn_kv_a_mqa.weight", (s.kv_lora_rank + s.qk_rope_dim, s.n_embd)),
                (p + "attn_kv_a_norm.weight", (s.kv_lora_rank,)),
                (
                    p + "attn_kv_b.weight",
                    (s.n_head * (s.qk_nope_dim + s.v_head_dim), s.kv_lora_rank),
                ),
                (p + "attn_output.weight", (s.n_embd, s.n_head * s.v_head_dim)),
            ]
        specs += [
            (p + "ffn_norm.weight", (s.n_embd,)),
            (p + "ffn_gate.weight", (s.n_ff, s.n_embd)),
            (p + "ffn_up.weight", (s.n_ff, s.n_embd)),
            (p + "ffn_down.weight", (s.n_embd, s.n_ff)),
        ]
    return specs


def _write(
    path: Path, s: ModelShape, *, seed: int, template: bool, synthetic: bool = False
) -> Path:
    tokens, scores, types = _vocab(s.n_vocab)
    w = GGUFWriter(path, s.arch)
    w.add_name(f"{s.name}-shape RANDOM WEIGHTS (speed tests only)" if synthetic else s.name)
    if synthetic:
        w.add_bool(SYNTHETIC_KEY, True)
    w.add_context_length(s.n_ctx)
    w.add_embedding_length(s.n_embd)
    w.add_block_count(s.n_layer)
    w.add_feed_forward_length(s.n_ff)
    w.add_head_count(s.n_head)
    w.add_head_count_kv(s.n_head_kv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_vocab_size(len(tokens))
    w.add_file_type(LlamaFileType.MOSTLY_F16)
    w.add_embedding_scale(12.0)
    w.add_residual_scale(1.4 / math.sqrt(s.n_layer))
    w.add_logit_scale(s.n_embd / 256)
    if s.arch == "minicpm":
        w.add_rope_dimension_count(s.n_embd // s.n_head)
    else:
        w.add_q_lora_rank(s.q_lora_rank)
        w.add_kv_lora_rank(s.kv_lora_rank)
        w.add_key_length(s.qk_nope_dim + s.qk_rope_dim)
        w.add_value_length(s.v_head_dim)
        w.add_rope_dimension_count(s.qk_rope_dim)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(tokens.index("<|im_end|>"))
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    if template:
        w.add_chat_template(CHATML_JINJA)
    specs = _tensor_specs(s, len(tokens))
    for name, shape in specs:
        dtype = np.float32 if len(shape) == 1 else np.float16
        w.add_tensor_info(name, shape, np.dtype(dtype), math.prod(shape) * np.dtype(dtype).itemsize)
    rng = np.random.default_rng(seed)
    pool = (rng.standard_normal(_POOL, dtype=np.float32) * 0.02).astype(np.float16)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for _, shape in specs:
        if len(shape) == 1:
            w.write_tensor_data(np.ones(shape, dtype=np.float32))
            continue
        start = int(rng.integers(_POOL))
        w.write_tensor_data(np.resize(np.roll(pool, -start), shape))
    w.close()
    return path

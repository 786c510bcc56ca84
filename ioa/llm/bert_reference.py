"""A plain numpy BERT forward pass: the reference the GGUF conversion is checked against.

It shares nothing with llama.cpp (its own WordPiece tokenizer, its own attention in float32), so
when the two agree on the cosine of sentence embeddings, the conversion kept the weights, the
vocabulary and the pooling. Slow and only for checking: `Embedder` is what the hub runs.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from ioa.llm.bert_gguf import BertBundle

__all__ = ["reference_embed", "wordpiece_ids"]


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _basic_words(text: str) -> list[str]:
    """BERT's basic tokenizer, uncased: lower, strip accents, split on spaces and punctuation."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    words: list[str] = []
    current: list[str] = []
    for char in text:
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf"):
            if current:
                words.append("".join(current))
                current = []
        elif _is_punctuation(char) or 0x4E00 <= ord(char) <= 0x9FFF:
            if current:
                words.append("".join(current))
                current = []
            words.append(char)
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


def wordpiece_ids(bundle: BertBundle, text: str) -> list[int]:
    """`[CLS]` + greedy longest-match WordPiece ids + `[SEP]`, cut to the model's length."""
    index = {piece: i for i, piece in enumerate(bundle.vocab)}
    unk = index["[UNK]"]
    ids = [index["[CLS]"]]
    for word in _basic_words(text):
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in index:
                    found = index[piece]
                    break
                end -= 1
            if found is None:
                pieces = [unk]
                break
            pieces.append(found)
            start = end
        ids.extend(pieces)
    return [*ids[: bundle.max_tokens - 1], index["[SEP]"]]


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(var + eps) * weight + bias)


def _gelu(x: np.ndarray) -> np.ndarray:
    from math import erf, sqrt

    erf_v = np.vectorize(erf, otypes=[np.float64])
    return np.asarray(0.5 * x * (1.0 + erf_v(x / sqrt(2.0))))


def reference_embed(bundle: BertBundle, text: str) -> np.ndarray:
    """The unit-length mean-pooled sentence embedding of `text`, in float64."""
    t = {name.removeprefix("bert."): a.astype(np.float64) for name, a in bundle.tensors.items()}
    config = bundle.config
    eps = float(config["layer_norm_eps"])
    heads = int(config["num_attention_heads"])
    ids = wordpiece_ids(bundle, text)
    n = len(ids)
    x = (
        t["embeddings.word_embeddings.weight"][ids]
        + t["embeddings.position_embeddings.weight"][:n]
        + t["embeddings.token_type_embeddings.weight"][0]
    )
    x = _layer_norm(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"], eps)
    dim = x.shape[1]
    head_dim = dim // heads
    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}."

        def dense(h: np.ndarray, name: str, prefix: str = p) -> np.ndarray:
            return np.asarray(h @ t[prefix + name + ".weight"].T + t[prefix + name + ".bias"])

        q = dense(x, "attention.self.query").reshape(n, heads, head_dim).transpose(1, 0, 2)
        k = dense(x, "attention.self.key").reshape(n, heads, head_dim).transpose(1, 0, 2)
        v = dense(x, "attention.self.value").reshape(n, heads, head_dim).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(head_dim)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(n, dim)
        attended = dense(context, "attention.output.dense")
        x = _layer_norm(
            x + attended,
            t[p + "attention.output.LayerNorm.weight"],
            t[p + "attention.output.LayerNorm.bias"],
            eps,
        )
        hidden = _gelu(dense(x, "intermediate.dense"))
        x = _layer_norm(
            x + dense(hidden, "output.dense"),
            t[p + "output.LayerNorm.weight"],
            t[p + "output.LayerNorm.bias"],
            eps,
        )
    pooled = x.mean(axis=0)
    return np.asarray(pooled / np.linalg.norm(pooled))

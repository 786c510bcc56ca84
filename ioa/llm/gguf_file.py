"""Read a GGUF file's header and check it before llama.cpp sees it.

llama.cpp reports most bad files by failing to load, but says why only in its log; and a
SentencePiece vocabulary without the 256 byte-fallback tokens aborts the whole process at the first
unknown character, a duplicate token aborts it at load. So the engine inspects the file first:
missing, not a GGUF, truncated (data shorter than the tensor table says: an interrupted download)
and unsafe vocabularies become typed errors that name the file. The reader walks only the header
(metadata and tensor table), through `mmap`, so it is fast even for multi-gigabyte models.
"""

from __future__ import annotations

import math
import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType, LlamaFileType

from ioa.llm.errors import ModelFileError, ModelNotFound, NotAGGUF, TruncatedGGUF

__all__ = ["GGUFFacts", "inspect_gguf"]

MAGIC = b"GGUF"
SYNTHETIC_KEY = "ioa.synthetic"
"""Set to true in GGUFs `ioa models synth` writes: random weights, for speed measurements only."""

_SCALARS: dict[int, str] = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9
_MAX_COUNT = 1 << 32
"""No sane GGUF has more keys, tensors or dimensions than this; garbage after the magic does."""


@dataclass(frozen=True)
class GGUFFacts:
    """What a GGUF says about itself, read from its header."""

    path: Path
    size_bytes: int
    version: int
    arch: str
    name: str | None
    quant: str | None
    """Quantisation label such as "Q4_K_M", from `general.file_type` or the dominant tensor type."""
    n_params: int
    n_tensors: int
    context_length: int | None
    chat_template: str | None
    tokenizer_model: str | None
    vocab_size: int
    missing_byte_tokens: int
    """How many of the 256 byte-fallback tokens a SentencePiece vocabulary lacks (0 is safe)."""
    duplicate_tokens: int
    """Tokens whose text repeats an earlier one; llama.cpp aborts the process on any."""
    chatml_tokens: bool
    """The vocabulary has `<|im_start|>` and `<|im_end|>`, the markers of the ChatML format."""
    synthetic: bool
    """True for random-weight files written by `ioa models synth`."""
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)
    """Every scalar metadata value (arrays are left out)."""


class _Cursor:
    """Sequential little-endian reads over a memory map; reading past the end means truncation."""

    def __init__(self, data: mmap.mmap, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise TruncatedGGUF(self.path, "the file ends inside its header (truncated?)")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def count(self, what: str) -> int:
        value = int(self.unpack("<Q"))
        if value > _MAX_COUNT:
            raise NotAGGUF(self.path, f"implausible {what} count {value}: not a valid GGUF")
        return value

    def string(self) -> str:
        return self.take(self.count("string length")).decode("utf-8", errors="replace")

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        raise NotAGGUF(self.path, f"unknown metadata value type {vtype}")


def inspect_gguf(path: str | Path) -> GGUFFacts:
    """Check that `path` is a complete GGUF and return its facts, or raise `ModelFileError`."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelNotFound(path)
    if not path.is_file():
        raise NotAGGUF(path, "not a regular file")
    size = path.stat().st_size
    if size < len(MAGIC):
        raise NotAGGUF(path, f"only {size} bytes long, not a GGUF file")
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if data[: len(MAGIC)] != MAGIC:
            raise NotAGGUF(path, "does not start with the GGUF magic bytes")
        return _read(_Cursor(data, path), size)


def _read(cur: _Cursor, size: int) -> GGUFFacts:
    path = cur.path
    cur.take(len(MAGIC))
    version = int(cur.unpack("<I"))
    if version not in (2, 3):
        raise NotAGGUF(path, f"unsupported GGUF version {version}")
    n_tensors, n_kv = cur.count("tensor"), cur.count("metadata")
    metadata: dict[str, Any] = {}
    tokens: list[str] = []
    for _ in range(n_kv):
        key, vtype = cur.string(), int(cur.unpack("<I"))
        if vtype != _ARRAY:
            metadata[key] = cur.value(vtype)
            continue
        item_type, n_items = int(cur.unpack("<I")), cur.count("array item")
        if key == "tokenizer.ggml.tokens" and item_type == _STRING:
            tokens = [cur.string() for _ in range(n_items)]
        elif item_type in _SCALARS:
            cur.take(struct.calcsize(_SCALARS[item_type]) * n_items)
        else:
            for _ in range(n_items):
                cur.value(item_type)
    n_params, data_bytes = 0, 0
    type_bytes: dict[int, int] = {}
    for _ in range(n_tensors):
        name = cur.string()
        n_dims = int(cur.unpack("<I"))
        if n_dims > 8:
            raise NotAGGUF(path, f"tensor {name!r} claims {n_dims} dimensions")
        dims = [cur.count("dimension") for _ in range(n_dims)]
        ggml_type, offset = int(cur.unpack("<I")), int(cur.unpack("<Q"))
        nbytes = _tensor_bytes(path, name, ggml_type, dims)
        n_params += math.prod(dims)
        data_bytes = max(data_bytes, offset + nbytes)
        type_bytes[ggml_type] = type_bytes.get(ggml_type, 0) + nbytes
    alignment = int(metadata.get("general.alignment", 32)) or 32
    data_start = -(-cur.pos // alignment) * alignment
    if data_start + data_bytes > size:
        missing = data_start + data_bytes - size
        raise TruncatedGGUF(path, f"the tensor data is {missing} bytes short (truncated download?)")
    arch = str(metadata.get("general.architecture", ""))
    if not arch:
        raise NotAGGUF(path, "no general.architecture in the metadata")
    tokenizer_model = metadata.get("tokenizer.ggml.model")
    vocab = set(tokens)
    context = metadata.get(f"{arch}.context_length")
    return GGUFFacts(
        path=path,
        size_bytes=size,
        version=version,
        arch=arch,
        name=metadata.get("general.name"),
        quant=_quant_label(metadata.get("general.file_type"), type_bytes),
        n_params=n_params,
        n_tensors=n_tensors,
        context_length=int(context) if context is not None else None,
        chat_template=metadata.get("tokenizer.chat_template"),
        tokenizer_model=tokenizer_model,
        vocab_size=len(tokens),
        missing_byte_tokens=_missing_byte_tokens(vocab) if tokenizer_model == "llama" else 0,
        duplicate_tokens=len(tokens) - len(vocab),
        chatml_tokens={"<|im_start|>", "<|im_end|>"} <= vocab,
        synthetic=bool(metadata.get(SYNTHETIC_KEY, False)),
        metadata=metadata,
    )


def _tensor_bytes(path: Path, name: str, ggml_type: int, dims: list[int]) -> int:
    try:
        block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
    except (ValueError, KeyError):
        raise ModelFileError(path, f"tensor {name!r} has unknown type {ggml_type}") from None
    return math.prod(dims) // block * type_size


def _quant_label(file_type: Any, type_bytes: dict[int, int]) -> str | None:
    if isinstance(file_type, int):
        try:
            return LlamaFileType(file_type).name.removeprefix("MOSTLY_").removeprefix("ALL_")
        except ValueError:
            pass
    if not type_bytes:
        return None
    return GGMLQuantizationType(max(type_bytes, key=type_bytes.__getitem__)).name


def _missing_byte_tokens(vocab: set[str]) -> int:
    """llama.cpp's SentencePiece byte fallback looks up `<0xXX>`, then the raw one-byte string."""
    return sum(
        1 for b in range(256) if f"<0x{b:02X}>" not in vocab and not (b < 0x80 and chr(b) in vocab)
    )

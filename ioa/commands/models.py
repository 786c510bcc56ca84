"""`ioa models list|pull|synth|info`: see, fetch, fabricate and inspect local models."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

MB = 1 << 20


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "models", help="local models: list, pull a MiniCPM, synthesize a speed-test GGUF, info"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    actions.add_parser(
        "list", help="models IoA can use (IOA_MODEL, the models folder, the bundled default)"
    ).set_defaults(handler=_list)

    pull = actions.add_parser("pull", help="download a catalog MiniCPM GGUF from Hugging Face")
    pull.add_argument("name", help="catalog name, e.g. minicpm5-1b (see `ioa models list`)")
    pull.add_argument("--dir", type=Path, help="target folder (default: the models folder)")
    pull.add_argument("--endpoint", help="Hugging Face endpoint (default: HF_ENDPOINT or the Hub)")
    pull.set_defaults(handler=_pull)

    synth = actions.add_parser(
        "synth", help="write a random-weight GGUF with a real MiniCPM shape (speed tests only)"
    )
    synth.add_argument("shape", help="minicpm4-0.5b, minicpm-1b, minicpm3-4b, tiny-minicpm...")
    synth.add_argument(
        "--out", type=Path, help="file to write (default: ./SHAPE-random-QUANT.gguf)"
    )
    synth.add_argument("--quant", default="Q4_K_M", help="Q4_K_M (default), Q4_0, Q8_0, F16...")
    synth.add_argument("--seed", type=int, default=0, help="seed of the random weights (default 0)")
    synth.set_defaults(handler=_synth)

    info = actions.add_parser(
        "info", help="llama.cpp system info (SIMD kernels, threads) and a model's facts"
    )
    info.add_argument("path", nargs="?", type=Path, help="a GGUF (default: the default model)")
    info.set_defaults(handler=_info)


def _list(args: argparse.Namespace) -> int:
    from ioa.llm.catalog import CATALOG, list_models, models_dir

    print("Models (* = default):")
    entries = list_models()
    for entry in entries:
        mark = "*" if entry.is_default else " "
        if entry.facts is None:
            print(f"{mark} {entry.source:<9} {entry.path}  UNUSABLE: {entry.problem}")
            continue
        f = entry.facts
        label = "  RANDOM WEIGHTS (speed tests only)" if f.synthetic else ""
        print(
            f"{mark} {entry.source:<9} {f.path.name}  {f.arch}  {f.quant or '?'}  "
            f"{f.size_bytes / MB:.0f} MB{label}\n              {f.path}"
        )
    if not entries:
        print("  (none)")
    folder = models_dir()
    print(f"\nCatalog (`ioa models pull NAME` downloads into {folder}):")
    for c in CATALOG:
        pulled = "  [pulled]" if (folder / c.filename).is_file() else ""
        print(f"  {c.name:<14} {c.repo_id}/{c.filename}  ~{c.size_mb} MB{pulled}\n      {c.note}")
    _list_embedding()
    return 0


def _list_embedding() -> None:
    """The discovery model: where its GGUF is (or will be, once the hub first converts it)."""
    from ioa.llm.bert_gguf import EMBED_MODEL_ENV, bundled_embedding_source, embedding_model_path
    from ioa.llm.errors import ModelFileError

    print("\nEmbedding model (hub discovery by meaning):")
    try:
        path = embedding_model_path(convert=False)
    except ModelFileError as exc:
        print(f"  none: {exc.message}")
        return
    source = bundled_embedding_source()
    if os.environ.get(EMBED_MODEL_ENV) or source is None:
        print(f"  {EMBED_MODEL_ENV}  {path}")
    elif path.is_file():
        print(f"  bundled  all-MiniLM-L6-v2 (384 dims, mean pooling), converted: {path}")
    else:
        print(f"  bundled  all-MiniLM-L6-v2 (384 dims), converted to {path} on first use")


def _pull(args: argparse.Namespace) -> int:
    from ioa.llm.catalog import pull

    path = pull(args.name, folder=args.dir, endpoint=args.endpoint)
    print(f"pulled {args.name}: {path} ({path.stat().st_size / MB:.0f} MB)")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from ioa.llm.synth import synth_model

    out = args.out or Path(f"{args.shape}-random-{args.quant.lower()}.gguf")
    path = synth_model(args.shape, out, quant=args.quant, seed=args.seed)
    print(
        f"wrote {path} ({path.stat().st_size / MB:.1f} MB): {args.shape} shape, {args.quant}, "
        "RANDOM WEIGHTS: for speed measurements only, its text is noise"
    )
    return 0


def _info(args: argparse.Namespace) -> int:
    from ioa.llm.catalog import default_model_path
    from ioa.llm.errors import EngineError
    from ioa.llm.gguf_file import inspect_gguf
    from ioa.llm.system import system_info
    from ioa.llm.templates import select_template

    sysinfo = system_info()
    print(f"llama.cpp: {sysinfo.text}")
    print(f"CPU features: {', '.join(sysinfo.simd) or 'none reported'}")
    print(
        f"threads: {sysinfo.physical_cores} (physical cores; {sysinfo.logical_cpus} logical CPUs "
        "available)"
    )
    path = args.path or default_model_path()
    f = inspect_gguf(path)
    try:
        template = select_template(f).name
    except EngineError as exc:
        template = f"none ({exc.message})"
    print(f"model: {f.path}")
    print(f"  name: {f.name or '?'}{'  RANDOM WEIGHTS (speed tests only)' if f.synthetic else ''}")
    print(f"  arch: {f.arch}   quant: {f.quant or '?'}   size: {f.size_bytes / MB:.1f} MB")
    print(f"  parameters: {f.n_params / 1e6:.1f} M   training context: {f.context_length or '?'}")
    print(f"  chat template: {template}   vocabulary: {f.vocab_size} tokens")
    return 0

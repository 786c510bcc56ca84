"""Options several commands share, spelled and explained once, and how their defaults resolve.

Defaults that depend on the environment or on the stored logins are resolved when a command
runs, not when the parser is built: `ioa --help` reads no file, and a test that sets IOA_HUB
after building a parser still gets what it set.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

__all__ = [
    "DEFAULT_HUB",
    "add_hub_options",
    "add_model_options",
    "at_least",
    "hub_token",
    "hub_url",
]

DEFAULT_HUB = "http://127.0.0.1:8765"
LAST_LOGIN = "the hub of your last `ioa login`"


def at_least(low: int) -> Callable[[str], int]:
    """An argparse `type` for whole numbers of at least `low`, with a message that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {value}")
        return value

    return parse


def add_model_options(
    parser: argparse.ArgumentParser,
    *,
    threads_default: int | None = None,
    threads_help: str = "llama.cpp threads (default: the physical cores)",
    remote: bool = False,
) -> None:
    """`--model` and `--threads`: every command that loads a model takes both (`remote`: the
    command also takes an OpenAI-compatible endpoint as its model)."""
    model_help = "GGUF file (default: IOA_MODEL, else the bundled model)"
    if remote:
        model_help += "; or openai:MODEL@URL, a remote OpenAI-compatible endpoint"
    parser.add_argument("--model", metavar="GGUF" if not remote else "MODEL", help=model_help)
    parser.add_argument(
        "--threads", type=at_least(1), default=threads_default, metavar="N", help=threads_help
    )


def add_hub_options(
    parser: argparse.ArgumentParser, *, token: bool = True, hub_help: str | None = None
) -> None:
    """`--hub` (and `--token`), resolved by `hub_url` and `hub_token` when the command runs."""
    parser.add_argument(
        "--hub",
        metavar="URL[,URL...]",
        help=(hub_help or f"the hub (default: IOA_HUB, else {LAST_LOGIN}, else {DEFAULT_HUB})")
        + "; several hubs of one cluster, comma-separated, are tried in turn",
    )
    if token:
        parser.add_argument(
            "--token",
            help="agent token for the hub (default: IOA_TOKEN, else the one `ioa login` stored "
            "for that hub)",
        )


def hub_url(given: str | None) -> str:
    """`--hub` if given, else IOA_HUB, else the hub last logged in to, else the local default:
    one URL or a comma-separated list of them, checked (`HubUrlError` names a bad one) and
    spelled one way (the key of its stored login)."""
    from ioa.hub_list import HubList
    from ioa.logins import load_logins

    chosen = given or os.environ.get("IOA_HUB") or load_logins().default_hub or DEFAULT_HUB
    return str(HubList.parse(chosen))


def hub_token(given: str | None, hub: str) -> str | None:
    """`--token` if given, else IOA_TOKEN, else the token `ioa login` stored for `hub`."""
    from ioa.logins import load_logins

    return given or os.environ.get("IOA_TOKEN") or load_logins().token_for(hub)

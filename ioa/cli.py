"""The `ioa` command: the composition root, which may import everything.

Each command lives in `ioa/commands/<name>.py` with `register(subparsers)`, imported here by
name so the tree of commands reads in one place. Command modules import only the standard
library and their own small helpers at the top; each handler imports the heavy parts it needs
(the hub, llama.cpp, LangGraph) when it runs, so `ioa --help` stays fast (a test checks which
modules building the parser loads).

An ordinary condition (a refused request, an unreachable hub, a missing file, Ctrl-C, a reader
that stopped reading our output) ends the command with one line on stderr naming the problem
and a non-zero exit, never a traceback; `-v` adds the traceback for whoever wants to see it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType

from ioa import logs
from ioa.commands import (
    agent,
    agents,
    bench,
    company,
    demo,
    hub,
    lab,
    login,
    models,
    quarantine,
    run,
    schema,
)
from ioa.errors import IoAError

__all__ = ["COMMANDS", "EXIT_BROKEN_PIPE", "EXIT_ERROR", "EXIT_INTERRUPTED", "build_parser", "main"]

COMMANDS: tuple[ModuleType, ...] = (
    hub,
    quarantine,
    agents,
    login,
    schema,
    models,
    run,
    demo,
    agent,
    bench,
    lab,
    company,
)
"""The command modules, in the order `ioa --help` lists them."""

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports for a program whose reader went away."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ioa",
        description="Internet of Agents: local-model agents on a hub that discover each other, "
        "form teams and collaborate under an enforced protocol.",
    )
    _add_verbosity(parser, default=0)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(subparsers)
    _add_verbosity_below(parser)
    return parser


def _add_verbosity(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default,
        help="show more of the logs (repeat for more: -vv); with -v an error shows its traceback",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=default,
        help="show less: fewer logs, and only the outcome where a command prints progress",
    )


def _add_verbosity_below(parser: argparse.ArgumentParser) -> None:
    """`-v`/`-q` after any (sub-)command too: `ioa hub -v` as well as `ioa -v hub`.

    Below the top they default to SUPPRESS, so a sub-command that does not repeat them keeps
    the values given before it.
    """
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                _add_verbosity(sub, default=argparse.SUPPRESS)
                _add_verbosity_below(sub)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    verbosity = args.verbose - args.quiet
    logs.configure(logs.level_for(getattr(args, "log_level", logging.WARNING), verbosity))
    failure: BaseException
    try:
        result = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit where it cannot be caught
        return result
    except BrokenPipeError as exc:
        _discard_stdout()
        problem = "the output was closed before it was all written"
        failure, code = exc, EXIT_BROKEN_PIPE
    except KeyboardInterrupt as exc:
        failure, problem, code = exc, "interrupted", EXIT_INTERRUPTED
    except IoAError as exc:
        failure, problem, code = exc, exc.message, EXIT_ERROR
    except OSError as exc:
        failure, problem, code = exc, _os_problem(exc), EXIT_ERROR
    if verbosity > 0:
        traceback.print_exception(failure)
    print(f"ioa {args.command}: {problem}", file=sys.stderr, flush=True)
    return code


def _os_problem(exc: OSError) -> str:
    """A missing file, a port in use, a refused connection: in one line."""
    if isinstance(exc, TimeoutError) and not str(exc):
        return "timed out"
    text = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {text}" if exc.filename else text


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush cannot fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())

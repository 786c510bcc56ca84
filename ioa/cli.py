"""The `ioa` command: the composition root, which may import everything (lazily).

Each command lives in `ioa/commands/<name>.py` with `register(subparsers)`; handlers import
what they need when they run, so `ioa --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ioa.errors import IoAError

COMMANDS = ["hub", "agents", "schema", "models", "run", "demo", "agent", "bench", "company"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ioa",
        description="Internet of Agents: local-model agents on a hub that discover each other, "
        "form teams and collaborate under an enforced protocol.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"ioa.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.handler(args)
    except IoAError as exc:
        print(f"ioa {args.command}: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())

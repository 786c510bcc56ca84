"""`ioa bench`: the benchmarks of IoA's uses, each a sub-command registered by its own package.

`ioa bench roco` lives in `agents.robots.bench`, `ioa bench company` in `agents.software.bench`;
each module offers `register(subparsers)`.
"""

from __future__ import annotations

import argparse
import importlib

SUITES = {"roco": "agents.robots.bench", "company": "agents.software.bench"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="run a benchmark (robot teams, software company)",
        description="Benchmarks of IoA's uses, on local models. Each prints a table, saves "
        "JSON/Markdown next to its transcripts, and ends with one line `RESULT {json}`.",
    )
    suites = parser.add_subparsers(dest="suite", metavar="SUITE", required=True)
    for module in SUITES.values():
        try:
            loaded = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise
            continue  # that suite is not installed in this checkout yet
        loaded.register(suites)

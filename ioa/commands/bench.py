"""`ioa bench`: the benchmarks of IoA's uses, one sub-command each.

`ioa bench roco` is `ioa.commands.bench_roco`, `ioa bench company` is `ioa.commands.bench_company`;
each offers `register(suites)` and runs its library half (`agents.robots.bench`,
`agents.software.bench`) with the model and hub it sets up.
"""

from __future__ import annotations

import argparse

from ioa.commands import bench_company, bench_roco

__all__ = ["SUITES", "register"]

SUITES = (bench_roco, bench_company)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="run a benchmark (robot teams, software company)",
        description="Benchmarks of IoA's uses, on local models. Each prints a table, saves "
        "JSON/Markdown next to its transcripts, and ends with one line `RESULT {json}`.",
    )
    suites = parser.add_subparsers(dest="suite", metavar="SUITE", required=True)
    for suite in SUITES:
        suite.register(suites)

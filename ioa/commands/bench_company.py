"""`ioa bench company`: the company benchmark (`agents.software.bench`) from the command line.

This module is the benchmark's composition: it picks the requirements, loads the model and
hands `agents.software.bench.bench` a launcher of loopback hubs, one per run folder.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from pathlib import Path

from ioa.commands._options import add_model_options, at_least
from ioa.commands.company import (
    CODE_FORMATS,
    TOPOLOGIES,
    add_lever_options,
    lever_overrides,
)

__all__ = ["register", "run"]


def register(suites: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = suites.add_parser(
        "company",
        help="the software company on ~10 small requirements",
        description="Run the software company on the small requirements shipped with IoA and "
        "measure executability, correctness, completeness (by syntax tree), tests passed, time "
        "and tokens. Prints a table, saves results.json and results.md next to the runs, and "
        "ends with one line `RESULT {json}`.",
    )
    add_model_options(parser)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run these requirements only")
    parser.add_argument("--limit", type=int, help="run the first N requirements only")
    parser.add_argument("--tasks", type=Path, help="a YAML list of requirements instead")
    parser.add_argument("--config", type=Path, help="a company YAML (default: the shipped one)")
    parser.add_argument("--cycles", type=int, help="cap every loop at this many cycles")
    parser.add_argument(
        "--code-format",
        choices=CODE_FORMATS,
        help="ask for files as grammar-constrained JSON (default) or as Markdown code fences",
    )
    parser.add_argument(
        "--topology", choices=TOPOLOGIES, help="replace the review loop by a MacNet network"
    )
    add_lever_options(parser)
    parser.add_argument(
        "--n-ctx", type=at_least(1), help="context window of the model (default 4096)"
    )
    parser.add_argument(
        "--runs-dir", type=Path, help="where to put the runs (default: $IOA_HOME/runs)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from agents.software import CompanyError
    from agents.software.bench import load_tasks

    tasks = load_tasks(args.tasks)
    if args.only:
        unknown = sorted(set(args.only) - {t.name for t in tasks})
        if unknown:
            raise CompanyError(f"no benchmark requirement named {unknown}")
        tasks = [t for t in tasks if t.name in args.only]
    if args.limit is not None:
        if args.limit < 1:
            raise CompanyError("--limit must be at least 1")
        tasks = tasks[: args.limit]

    async def main() -> None:
        from agents.software import load_config
        from agents.software.bench import bench
        from agents.software.roster import load_engines
        from agents.software.runfolder import default_runs_dir
        from ioa.commands.local_hub import local_hub

        base = load_config(args.config).with_overrides(
            topology=args.topology,
            cycles=args.cycles,
            code_format=args.code_format,
            levers=lever_overrides(args),
        )
        runs = args.runs_dir or default_runs_dir()
        out = runs / f"bench-company-{time.strftime('%Y%m%d-%H%M%S')}"
        async with contextlib.AsyncExitStack() as stack:
            engines = await load_engines(
                base, args.model, stack, n_ctx=args.n_ctx, n_threads=args.threads
            )
            await bench(tasks, engines, base, out, local_hub)

    asyncio.run(main())
    return 0

"""`ioa company`: a virtual software company turns a requirement into a small program.

    ioa company "a command-line tool that reverses the words of a sentence"
    ioa company --resume RUN          # continue a run that was killed
    ioa company replay RUN            # show a run's stored transcript and metrics

A hub (loopback, over the run folder's own database), the company's role agents and the sandbox
start locally; the local model is the bundled one unless `--model` or IOA_MODEL names a GGUF (a
MiniCPM, for instance). `-q` prints only the summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
from typing import Any

from ioa.commands._options import add_model_options, at_least

__all__ = [
    "CODE_FORMATS",
    "LEVERS_OFF",
    "TOPOLOGIES",
    "add_lever_options",
    "lever_overrides",
    "register",
    "run",
]

TOPOLOGIES = ("chain", "star", "tree", "layered", "random")
"""`agents.software.topology`'s networks, by name (named here so the parser loads nothing)."""
CODE_FORMATS = ("json", "fences")
LEVERS_OFF: dict[str, Any] = {
    "file_scoped": False,
    "syntax_retries": 0,
    "candidates": 1,
    "keep_running": False,
}
"""`agents.software.config.Levers` as ChatDev has them: the whole program in one answer."""


def add_lever_options(parser: argparse.ArgumentParser) -> None:
    """The code-writing levers (`levers:` of the company YAML) from the command line."""
    parser.add_argument(
        "--levers",
        choices=("on", "off"),
        help="off: ChatDev's way (the whole program in one answer, no compile retries, one "
        "candidate); on: the config's levers (default)",
    )
    parser.add_argument(
        "--syntax-retries",
        type=at_least(0),
        metavar="N",
        help="new tries per file that does not compile (file-scoped writing)",
    )
    parser.add_argument(
        "--candidates",
        type=at_least(1),
        metavar="K",
        help="versions of the entry file to write; the first the sandbox runs is kept",
    )


def lever_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The lever settings the options ask for (empty: the config's own)."""
    chosen: dict[str, Any] = dict(LEVERS_OFF) if args.levers == "off" else {}
    if args.syntax_retries is not None:
        chosen["syntax_retries"] = args.syntax_retries
    if args.candidates is not None:
        chosen["candidates"] = args.candidates
    return chosen


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "company",
        help="a virtual software company writes a small program for a requirement",
        description="Roles (CEO, CPO, CTO, Programmer, Reviewer, Tester) on the local model turn "
        "a one-line requirement into a program with tests, phase by phase, each phase a "
        "conversation on a local hub; generated code only runs in the sandbox. "
        "`ioa company replay RUN` shows a finished or stopped run.",
    )
    parser.add_argument(
        "words", nargs="*", metavar="REQUIREMENT", help='the requirement, or "replay RUN"'
    )
    parser.add_argument(
        "--resume", metavar="RUN", help="continue RUN (id or folder) from its last step"
    )
    add_model_options(parser)
    parser.add_argument(
        "--runs-dir", type=Path, help="where run folders live (default: $IOA_HOME/runs)"
    )
    parser.add_argument("--config", type=Path, help="a company YAML (default: the shipped one)")
    parser.add_argument(
        "--topology", choices=TOPOLOGIES, help="replace the review loop by a MacNet network"
    )
    parser.add_argument("--cycles", type=int, help="cap every loop at this many cycles")
    parser.add_argument(
        "--code-format",
        choices=CODE_FORMATS,
        help="ask for files as grammar-constrained JSON (default) or as Markdown code fences",
    )
    add_lever_options(parser)
    parser.add_argument("--name", help="a short name for the run folder")
    parser.add_argument(
        "--n-ctx", type=at_least(1), help="context window of the model (default 4096)"
    )
    parser.add_argument(
        "--no-isolation",
        action="store_true",
        help="run the generated code without namespace isolation where the machine has none "
        "(it then sees the host's files and the runner's environment; see "
        "`python -m environments.workspace --isolation none`)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from agents.software import CompanyError

    words: list[str] = list(args.words)
    if words[:1] == ["replay"] and len(words) == 2 and not args.resume:
        return replay(words[1], args.runs_dir)
    if args.resume and words:
        raise CompanyError("give either a requirement or --resume RUN, not both")
    if not args.resume and not " ".join(words).strip():
        raise CompanyError(
            'the requirement is empty: say what to build, ioa company "a tool that ..."'
        )
    overrides = (
        args.config,
        args.topology,
        args.cycles,
        args.code_format,
        args.levers,
        args.syntax_retries,
        args.candidates,
    )
    if args.resume and any(o is not None for o in overrides):
        raise CompanyError(
            "a resumed run keeps its own config: drop --config/--topology/--cycles/--code-format"
            "/--levers/--syntax-retries/--candidates"
        )
    if args.cycles is not None and args.cycles < 0:
        raise CompanyError("--cycles must be 0 or more")
    return asyncio.run(_work(args, " ".join(words)))


def replay(run: str, runs_dir: Path | None) -> int:
    from agents.software import RunFolder, replay_lines

    for line in replay_lines(RunFolder.find(run, runs_dir)):
        print(line)
    return 0


async def _work(args: argparse.Namespace, requirement: str) -> int:
    from agents.software import Company, RunFolder, load_config
    from agents.software.roster import load_engines
    from agents.software.run_view import event_lines, summary_lines
    from ioa.commands.local_hub import local_hub

    if args.resume:
        config = RunFolder.find(args.resume, args.runs_dir).config()
    else:
        config = load_config(args.config).with_overrides(
            topology=args.topology,
            cycles=args.cycles,
            code_format=args.code_format,
            levers=lever_overrides(args),
        )

    def show(event: dict[str, Any]) -> None:
        if args.quiet <= 0:
            for line in event_lines(event):
                print(line, flush=True)

    async with contextlib.AsyncExitStack() as stack:
        print("loading the local model…", flush=True)
        engines = await load_engines(
            config, args.model, stack, n_ctx=args.n_ctx, n_threads=args.threads
        )
        sandbox = None
        if args.no_isolation:
            from environments.workspace import Sandbox, SandboxLimits

            limits = SandboxLimits(timeout_s=config.run.timeout_s)
            sandbox = Sandbox(limits, isolation="none")
        company = Company(
            engines,
            hub=local_hub,
            config=config,
            runs_dir=args.runs_dir,
            sandbox=sandbox,
            on_event=show,
        )
        if args.resume:
            print(f"resuming {args.resume}", flush=True)
            summary = await company.resume(args.resume)
        else:
            summary = await company.start(requirement, name=args.name)
    for line in summary_lines(summary.metrics):
        print(line)
    print(f"run folder: {summary.folder.path}")
    return 0 if summary.status == "done" else 1

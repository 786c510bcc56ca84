"""The `ioa` parser: every option explained, the same model options everywhere, `-v`/`-q` on
every command, and building it (what `ioa --help` does) loads nothing heavy."""

from __future__ import annotations

import argparse
import ast
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import get_args

import pytest

from ioa import cli
from tests.ioa.commands.cli_kit import ROOT, ioa_env

HEAVY = ("langgraph", "langchain_core", "llama_cpp", "sqlalchemy", "aiohttp", "networkx", "gguf")


def parsers(
    parser: argparse.ArgumentParser, path: str = "ioa"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser of the tree, with the command line that reaches it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, f"{path} {name}")


def test_every_option_and_command_has_help() -> None:
    missing = []
    for path, parser in parsers(cli.build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{path} {a.dest}" for a in action._choices_actions if not a.help]
            elif not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "a goal"],
        ["agent", "--card", "card.json"],
        ["demo"],
        ["company", "a tool"],
        ["bench", "roco"],
        ["bench", "company"],
    ],
)
def test_every_command_that_loads_a_model_takes_threads_and_model(argv: list[str]) -> None:
    args = cli.build_parser().parse_args([*argv, "--threads", "1", "--model", "m.gguf"])
    assert (args.threads, args.model) == (1, "m.gguf")


def test_threads_below_one_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.build_parser().parse_args(["run", "a goal", "--threads", "0"])
    assert exit_info.value.code == 2
    assert "--threads: must be at least 1, not 0" in capsys.readouterr().err


def test_every_command_takes_verbose_and_quiet() -> None:
    lacking = [
        path
        for path, parser in parsers(cli.build_parser())
        if not {"-v", "-q"} <= {s for a in parser._actions for s in a.option_strings}
    ]
    assert lacking == []


@pytest.mark.parametrize(
    ("argv", "level"),
    [
        (["schema"], logging.WARNING),
        (["-v", "schema"], logging.INFO),
        (["schema", "-vv"], logging.DEBUG),
        (["-q", "schema"], logging.ERROR),
    ],
)
def test_verbosity_sets_the_log_level_once(
    argv: list[str], level: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 0
    assert logging.getLogger().level == level
    assert json.loads(capsys.readouterr().out)["$defs"]


def test_building_the_parser_loads_no_heavy_module() -> None:
    code = (
        "import json, sys\n"
        "from ioa.cli import build_parser\n"
        "build_parser().format_help()\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=ioa_env(ROOT), capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout))
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_help_runs_in_a_process_of_its_own() -> None:
    for argv in (["--help"], ["bench", "--help"], ["agents", "--help"]):
        done = subprocess.run(
            [sys.executable, "-m", "ioa", *argv],
            env=ioa_env(ROOT),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert "--token" in done.stdout
    assert "the hub (default: IOA_HUB" in done.stdout


@pytest.mark.parametrize("path", ["ioa/cli.py", "ioa/commands/bench.py"])
def test_commands_are_imported_by_name_not_by_string(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "importlib" not in imported


def test_the_parsers_copies_of_library_names_match_the_library() -> None:
    """The parsers name tasks, modes and defaults without importing the heavy packages."""
    from agents.robots import MODES, ModeSettings
    from agents.robots.bench import DEFAULT_MODES
    from agents.robots.modes import DECODINGS, HUB_MODES, MODEL_FREE
    from agents.robots.options import PRIORS
    from agents.robots.runner import DEFAULT_ATTEMPTS
    from agents.software.config import CodeFormat, Topology
    from environments.rocobench import TASKS
    from ioa.commands import bench_roco, company

    assert tuple(TASKS) == bench_roco.TASKS
    assert bench_roco.MODES == MODES
    assert bench_roco.DEFAULT_MODES == DEFAULT_MODES
    settings = ModeSettings()
    assert {
        "attempts": DEFAULT_ATTEMPTS,
        "max_calls": settings.max_calls,
        "text_max": settings.text_max,
        "temperature": settings.temperature,
        "hub_turns": settings.hub_turns,
        "decoding": settings.decoding,
        "prior": settings.prior,
        "random_prior": settings.random_prior,
    } == bench_roco.DEFAULTS
    assert set(bench_roco.MODEL_FREE) == MODEL_FREE
    assert set(bench_roco.HUB_MODES) == HUB_MODES
    assert bench_roco.DECODINGS == DECODINGS
    assert bench_roco.PRIORS == PRIORS
    assert get_args(Topology) == company.TOPOLOGIES
    assert get_args(CodeFormat) == company.CODE_FORMATS

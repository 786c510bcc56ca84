"""`ioa lab` end to end: real hubs, worker processes, a tiny MiniCPM GGUF, a real run folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from agents.lab import expand, parse_experiment, run_experiment
from ioa import cli
from ioa.commands.lab import LocalResources
from ioa.llm import write_tiny_gguf
from protocols.conversation import PROTOCOLS

pytestmark = pytest.mark.llama

ROOT = Path(__file__).resolve().parents[3]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny_minicpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny-minicpm.gguf", "minicpm")


def experiment(model: Path, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "small",
        "tasks": ["roco:sort", "goals:add", "tools:lyon"],
        "protocols": ["central", "ioa"],
        "topologies": ["complete", "chain"],
        "models": [str(model)],
        "baselines": ["oracle", "random"],
        "seeds": 2,
        "budgets": {"max_turns": 3, "max_steps": 1, "attempts": 1, "timeout": 120},
    }
    return data | changes


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def lab(*argv: str | Path) -> subprocess.Popen[str]:
    """`ioa lab` as a user runs it, in its own process group (so a test can kill all of it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "ioa.cli", "lab", *map(str, argv)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def result_line(stdout: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1
    assert stdout.rstrip().endswith(lines[0])
    found: dict[str, Any] = json.loads(lines[0].removeprefix("RESULT "))
    return found


@pytest.mark.timeout(300)
def test_a_small_experiment_runs_every_cell_in_parallel_workers_and_writes_its_outputs(
    tiny_minicpm: Path, tmp_path: Path
) -> None:
    data = experiment(tiny_minicpm)
    cells = expand(parse_experiment(data)).cells
    out = tmp_path / "run"
    process = lab(write(tmp_path / "small.yaml", data), "--out", out, "--jobs", "2")
    stdout, stderr = process.communicate(timeout=280)
    assert process.returncode == 0, stderr

    result = result_line(stdout)
    assert result["cells"] == result["finished"] == result["ran"] == len(cells) == 22
    saved = json.loads((out / "results.json").read_text())
    assert len(saved["cells"]) == len(cells)
    rows = {(r["task"], r["arm"], r["protocol"], r["topology"]): r for r in result["rows"]}
    # 2 seeds each: oracle and random per task, random per protocol × topology on the goals
    assert {k for k in rows if k[1] != "model"} == {
        ("roco:sort", "oracle", "—", "—"),
        ("roco:sort", "random", "—", "—"),
        ("goals:add", "oracle", "—", "—"),
        ("goals:add", "random", "ioa", "complete"),
        ("goals:add", "random", "ioa", "chain"),
        ("tools:lyon", "random", "—", "—"),
    }
    assert rows[("goals:add", "oracle", "—", "—")]["success"] == 1.0
    assert all(r["illegal"] == 0 for r in result["rows"])
    model_rows = [r for r in saved["rows"] if r["arm"] == "model"]
    assert {(r["task"], r["protocol"], r["topology"]) for r in model_rows} == {
        ("sort", "central", "—"),
        ("sort", "ioa", "—"),
        ("add", "ioa", "complete"),
        ("add", "ioa", "chain"),
        ("lyon", "ioa", "—"),
    }
    tokens = {(r["task"], r["protocol"]): (r["tokens_coordination"], r["tokens_work"])
              for r in model_rows}  # fmt: skip
    assert tokens[("sort", "central")][0] == 0  # a single planner talks to nobody
    assert tokens[("sort", "central")][1] > 0
    assert tokens[("add", "ioa")][0] > 0  # the members' moves
    assert tokens[("lyon", "ioa")][0] > 0
    assert "| roco:sort | oracle |" in (out / "results.md").read_text()
    for chart in ("success_steps.png", "tokens.png"):
        body = (out / chart).read_bytes()
        assert body.startswith(PNG)
        assert len(body) > 2000
    for cell in cells:
        assert (out / "transcripts" / f"{cell.id}.json").is_file()
        assert (out / "transcripts" / f"{cell.id}.txt").read_text().strip()
    assert (
        "#  4 Lead  CONCLUSION: 17 + 25 = 42"
        in (out / "transcripts" / "goals.add.oracle.na.na.none.s0.txt").read_text()
    )


@pytest.mark.timeout(300)
def test_an_interrupted_experiment_resumes_without_redoing_its_finished_cells(
    tiny_minicpm: Path, tmp_path: Path
) -> None:
    data = experiment(
        tiny_minicpm,
        tasks=["roco:sort"],
        protocols=["ioa"],
        topologies=["complete"],
        baselines=[],
        seeds=[0, 1, 2, 3, 4, 5],
        budgets={"max_turns": 4, "max_steps": 2, "attempts": 1, "timeout": 120},
    )
    path = write(tmp_path / "resume.yaml", data)
    out = tmp_path / "run"
    cells_dir = out / "cells"
    first = lab(path, "--out", out, "--jobs", "1")
    deadline = time.monotonic() + 200
    while len(list(cells_dir.glob("*.json"))) < 2:
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.communicate()
    finished = {p.name: json.loads(p.read_text())["started"] for p in cells_dir.glob("*.json")}
    assert 2 <= len(finished) < 6

    second = lab(path, "--out", out, "--jobs", "1")
    stdout, stderr = second.communicate(timeout=250)
    assert second.returncode == 0, stderr
    result = result_line(stdout)
    assert (result["reused"], result["ran"]) == (len(finished), 6 - len(finished))
    assert f"6 cells, {len(finished)} finished earlier" in stdout
    for name, started in finished.items():
        assert json.loads((cells_dir / name).read_text())["started"] == started
    assert len(list(cells_dir.glob("*.json"))) == 6
    assert not list(cells_dir.glob(".*.tmp"))

    third = lab(path, "--out", out, "--fresh")
    stdout, _ = third.communicate(timeout=250)
    assert (result_line(stdout)["reused"], result_line(stdout)["ran"]) == (0, 6)


@pytest.fixture
def ioa_lab(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str]]:
    def run(*argv: str | Path) -> tuple[int, str]:
        code = cli.main(["lab", *map(str, argv)])
        return code, capsys.readouterr().err

    return run


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"budgets": {"max_turns": 0}}, "budgets.max_turns"),
        ({"budgets": {"turns": 3}}, "budgets.turns: unknown field"),
        ({"topologies": ["ring"]}, "topologies: unknown topology 'ring'"),
        ({"topologies": ["random[1.5, 2]"]}, "topologies: random edge probability 1.5"),
        ({"tasks": ["roco:juggle"]}, "tasks: roco has no task 'juggle'"),
        ({"tasks": ["chess"]}, "tasks: no task set 'chess'"),
        ({"protocols": ["telepathy"]}, "protocols: 'telepathy' applies to none of the tasks"),
        ({"baselines": ["human"]}, "baselines: unknown baseline 'human'"),
        ({"seeds": [1, 1]}, "seeds"),
        ({"name": "two words"}, "name"),
    ],
)
def test_a_bad_field_is_one_line_that_names_it(
    ioa_lab: Callable[..., tuple[int, str]],
    tiny_minicpm: Path,
    tmp_path: Path,
    change: dict[str, Any],
    named: str,
) -> None:
    path = write(tmp_path / "bad.yaml", experiment(tiny_minicpm, **change))
    code, err = ioa_lab(path, "--out", tmp_path / "run")
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("ioa lab: bad.yaml: ")
    assert named in err
    assert not (tmp_path / "run").exists()


def test_a_file_that_is_not_yaml_says_where(
    ioa_lab: Callable[..., tuple[int, str]], tmp_path: Path
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ntasks: [roco\n")
    code, err = ioa_lab(path)
    assert code == 2
    assert err.startswith("ioa lab: broken.yaml: not YAML at line")


@pytest.mark.timeout(300)
def test_stopping_the_lab_stops_its_workers_and_keeps_what_they_finished(
    tiny_minicpm: Path, tmp_path: Path
) -> None:
    data = experiment(
        tiny_minicpm,
        tasks=["roco:sort"],
        protocols=["central"],
        baselines=[],
        seeds=list(range(40)),
        budgets={"max_steps": 3, "attempts": 1, "timeout": 120},
    )
    out = tmp_path / "run"
    process = lab(write(tmp_path / "stop.yaml", data), "--out", out, "--jobs", "2")
    deadline = time.monotonic() + 200
    while not list((out / "cells").glob("*.json")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    workers = psutil.Process(process.pid).children(recursive=True)
    assert len([w for w in workers if "spawn_main" in " ".join(w.cmdline())]) == 2
    process.terminate()  # SIGTERM to the lab alone, as a service manager would send it
    process.communicate(timeout=60)
    _gone, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive
    kept = len(list((out / "cells").glob("*.json")))
    time.sleep(3)  # an orphaned worker would go on writing cells
    assert len(list((out / "cells").glob("*.json"))) == kept < 40
    for path in (out / "cells").glob("*.json"):
        assert json.loads(path.read_text())["cell"]["protocol"] == "central"


@pytest.mark.timeout(300)
def test_a_company_cell_runs_the_chain_in_its_own_folder_and_splits_its_tokens(
    tiny_minicpm: Path, tmp_path: Path
) -> None:
    data = experiment(
        tiny_minicpm,
        tasks=["company:reverse_words"],
        protocols=["company_plain"],
        topologies=["complete"],
        seeds=1,
        budgets={"cycles": 1, "timeout": 250},
    )
    out = tmp_path / "run"
    process = lab(write(tmp_path / "company.yaml", data), "--out", out)
    stdout, stderr = process.communicate(timeout=280)
    assert process.returncode == 0, stderr
    (row,) = result_line(stdout)["rows"]
    assert (row["arm"], row["protocol"], row["topology"]) == ("model", "company_plain", "complete")
    (cell,) = [json.loads(p.read_text()) for p in (out / "cells").glob("*.json")]
    assert cell["error"] is None
    assert Path(cell["figures"]["run"]).is_relative_to(out / "runs")
    assert (Path(cell["figures"]["run"]) / "metrics.json").is_file()
    assert cell["tokens_work"] > 0
    assert cell["tokens_coordination"] > 0
    assert "company: success = executability" in (out / "results.md").read_text()


PROTOCOL_MOVES = {name: set(protocol.table) for name, protocol in PROTOCOLS.items()}
"""Each protocol's message types, from its own table: nothing else may appear in its groups."""


@pytest.mark.timeout(300)
def test_every_group_protocol_runs_in_a_lab_cell_with_local_model_agents_and_a_topology(
    tiny_minicpm: Path, tmp_path: Path
) -> None:
    data = experiment(
        tiny_minicpm,
        tasks=["goals:add"],
        protocols=list(PROTOCOL_MOVES),
        topologies=["chain"],
        baselines=["random"],
        seeds=1,
        budgets={"max_turns": 6, "timeout": 120},
    )
    out = tmp_path / "run"
    process = lab(write(tmp_path / "protocols.yaml", data), "--out", out, "--jobs", "2")
    stdout, stderr = process.communicate(timeout=280)
    assert process.returncode == 0, stderr
    rows = {(r["arm"], r["protocol"]): r for r in result_line(stdout)["rows"]}
    assert set(rows) == {(a, p) for a in ("model", "random") for p in PROTOCOL_MOVES}
    assert all(r["illegal"] == 0 for r in rows.values())
    for arm in ("model", "random"):
        for protocol, moves in PROTOCOL_MOVES.items():
            stem = (
                f"goals.add.{arm}.{protocol}.chain.{'tiny-minicpm' if arm == 'model' else 'none'}"
            )
            cell = json.loads((out / "cells" / f"{stem}.s0.json").read_text())
            assert cell["error"] is None, (protocol, cell["error"])
            events = json.loads((out / "transcripts" / f"{stem}.s0.json").read_text())["events"]
            members = cell["figures"]["members"]
            assert cell["figures"]["links"] == {
                m: sorted(members[i] for i in (k - 1, k + 1) if 0 <= i < len(members))
                for k, m in enumerate(members)
            }
            sent = {e["payload"]["type"] for e in events if e["sender"] != "hub"}
            assert sent, protocol
            assert sent <= moves | {"timeout"}, (protocol, sent)
            for e in events:  # the chain: a member addresses its neighbours (or itself) only
                if e["sender"] in members:
                    linked = {e["sender"], *cell["figures"]["links"][e["sender"]]}
                    assert set(e["to"]) <= linked, e
    assert "execute" in _types(out, "goals.add.random.dialectic.chain.none.s0")
    assert "ballot" in _types(out, "goals.add.random.voting.chain.none.s0")


def _types(out: Path, stem: str) -> set[str]:
    events = json.loads((out / "transcripts" / f"{stem}.json").read_text())["events"]
    return {e["payload"]["type"] for e in events}


@pytest.mark.timeout(300)
def test_cells_run_at_once_through_one_batched_model_give_the_results_they_give_alone(
    tiny_minicpm: Path, tmp_path: Path
) -> None:
    """RoCo cells (planners and a dialectic team on one model) four at a time in one worker:
    every result and every transcript line as when the cells run one after another."""
    data = experiment(
        tiny_minicpm,
        tasks=["roco:sort", "roco:sweep"],
        protocols=["central", "dialog", "ioa"],
        baselines=[],
        seeds=2,
    )
    runs = {}
    for concurrent in (1, 4):
        out = tmp_path / f"at-once-{concurrent}"
        run_experiment(
            parse_experiment(data | {"concurrent": concurrent}), out, LocalResources, jobs=1
        )
        rows = json.loads((out / "results.json").read_text())["rows"]
        lines = {
            path.name: [line for line in path.read_text().splitlines() if "new group" not in line]
            for path in sorted((out / "transcripts").glob("*.txt"))
        }
        runs[concurrent] = ([{k: v for k, v in r.items() if k != "seconds"} for r in rows], lines)
    assert len(runs[1][1]) >= 8
    assert runs[4] == runs[1]

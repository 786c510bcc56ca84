"""`ioa company` and `ioa bench company`: replay, errors, and end-to-end runs on a tiny GGUF."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agents.software import load_config
from agents.software.bench import Row, load_tasks, summarise, table
from ioa.cli import main
from ioa.llm import write_tiny_gguf
from tests.agents.software.scripted import REQUIREMENT, Script, company
from tests.agents.software.test_tiny_model import ANSWERS


@pytest.fixture(scope="module")
def tiny_minicpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny-minicpm.gguf", "minicpm")


@pytest.fixture
def small_config(tmp_path: Path) -> Path:
    """The shipped company with tiny answer caps, for noise-weight models."""
    data = load_config().with_overrides(cycles=0).model_dump(mode="json")
    data["answers"] = {**data["answers"], **ANSWERS}
    data["levers"] = {**data["levers"], "file_tokens": ANSWERS["files"], "candidates": 2}
    data["run"] = {**data["run"], "timeout_s": 2.0}
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


async def test_replay_prints_the_stored_transcript_and_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = await company(Script(), tmp_path).start(REQUIREMENT)
    capsys.readouterr()
    assert main(["company", "replay", summary.folder.id, "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"run {summary.folder.id}: {REQUIREMENT}")
    assert "== coding: Chief Technology Officer instructs Programmer" in out
    assert "Programmer → Chief Technology Officer  says:" in out
    assert "-> wrote main.py" in out
    assert "-- final check: PASS" in out
    assert "phases done: demand_analysis, language_choice, coding" in out
    assert "result: runs yes" in out
    by_path = capsys.readouterr()
    assert main(["company", "replay", str(summary.folder.path)]) == 0
    assert capsys.readouterr().out.count("CONCLUSION") == 6 == out.count("CONCLUSION")
    assert by_path.out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["company"], "the requirement is empty"),
        (["company", "   "], "the requirement is empty"),
        (["company", "replay", "no-such-run"], "no run 'no-such-run'"),
        (["company", "--resume", "x", "build it"], "not both"),
        (["company", "--resume", "x", "--topology", "star"], "keeps its own config"),
        (["company", "--resume", "x", "--code-format", "json"], "keeps its own config"),
        (["company", "--resume", "x", "--levers", "off"], "keeps its own config"),
        (["company", "a tool", "--cycles", "-1"], "--cycles must be 0 or more"),
        (["company", "a tool", "--config", "/nonexistent.yaml"], "cannot read"),
        (["bench", "company", "--only", "nothing"], "no benchmark requirement named"),
    ],
)
def test_bad_invocations_get_a_clear_message(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("IOA_HOME", str(tmp_path))
    monkeypatch.setenv("IOA_MODEL", str(tmp_path / "no-model.gguf"))
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_the_benchmark_ships_ten_requirements() -> None:
    tasks = load_tasks()
    assert len(tasks) == 10
    assert len({t.name for t in tasks}) == 10
    reverse = next(t for t in tasks if t.name == "reverse_words")
    assert reverse.args == ["the quick brown fox"]
    assert reverse.correct("Result: Fox brown quick the\n")
    assert not reverse.correct("the quick brown fox")
    assert all(t.expect for t in tasks)


def test_benchmark_rates_and_table() -> None:
    rows = [
        Row("a", "done", True, True, 1.0, True, True, "1/1", 10.0, 100, 5, "r1"),
        Row("b", "done", True, False, 0.5, False, False, "0/2", 20.0, 300, 7, "r2", None, 2, 3),
        Row("c", "failed", False, False, 0.0, False, False, "-", 0.0, 0, 0, "", "engine: x"),
    ]
    result = summarise(rows, model="m")
    assert result["requirements"] == 3
    assert (result["executability"], result["completeness"], result["tests_passed"]) == (
        0.667,
        0.333,
        0.333,
    )
    assert (result["failed_runs"], result["tokens"], result["calls"]) == (1, 400, 12)
    assert (result["syntax_retries"], result["sandbox_runs"]) == (2, 3)
    assert result["correct"] == 0.333
    assert "| b | yes | no | no (0.50) | 0/2 | 7 | 2 | 3 | 300 | 20 |" in table(rows)


@pytest.mark.llama
def test_ioa_company_runs_end_to_end_on_a_tiny_model(
    tmp_path: Path, small_config: Path, tiny_minicpm: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    argv = ["company", REQUIREMENT, "--model", str(tiny_minicpm), "--config", str(small_config),
            "--runs-dir", str(runs), "--n-ctx", "1024", "--name", "tiny",
            "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "== coding: Chief Technology Officer instructs Programmer" in out
    assert "model calls:" in out
    (folder,) = runs.iterdir()
    assert folder.name.startswith("tiny-")
    for name in ("transcript.jsonl", "metrics.json", "requirements.txt", "company.yaml"):
        assert (folder / name).is_file(), name
    assert main(["company", "--resume", folder.name, "--runs-dir", str(runs),
                 "--model", str(tiny_minicpm), "--n-ctx", "1024"]) == 0  # fmt: skip
    assert "run " in capsys.readouterr().out


@pytest.mark.llama
def test_ioa_bench_company_ends_with_a_result_line(
    tmp_path: Path, small_config: Path, tiny_minicpm: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "company", "--model", str(tiny_minicpm), "--config", str(small_config),
            "--only", "reverse_words", "fizzbuzz", "--runs-dir", str(tmp_path),
            "--n-ctx", "1024", "--threads", "1", "--levers", "off"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("RESULT ")
    result = json.loads(out[-1][len("RESULT ") :])
    assert result["requirements"] == 2
    assert result["levers"]["file_scoped"] is False
    assert result["levers"]["candidates"] == 1
    assert (result["syntax_retries"], result["sandbox_runs"]) == (0, 0)
    (written,) = tmp_path.glob("bench-company-*/results.json")
    assert json.loads(written.read_text())["summary"] == result
    for key in ("executability", "completeness", "tests_passed"):
        assert 0.0 <= result[key] <= 1.0
    assert "| reverse_words |" in "\n".join(out)
    (bench,) = tmp_path.glob("bench-company-*")
    saved = json.loads((bench / "results.json").read_text())
    assert saved["summary"] == result
    assert [r["name"] for r in saved["requirements"]] == ["reverse_words", "fizzbuzz"]

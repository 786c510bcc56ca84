"""The company config: the shipped one is valid and every prompt renders fully; mistakes are
reported with their place when the file loads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from agents.software import ConfigError, load_config
from agents.software.config import dump_config, load_config_data
from agents.software.phase_prompts import instruction


def _data() -> dict[str, Any]:
    return load_config().model_dump(mode="json")


def _load(data: dict[str, Any]) -> None:
    load_config_data(data, "test.yaml")


def test_the_shipped_config_has_chatdevs_chain() -> None:
    config = load_config()
    assert config.step_names() == [
        "demand_analysis", "language_choice", "coding", "code_complete_all", "code_review",
        "test", "environment_doc", "manual",
    ]  # fmt: skip
    assert set(config.roles) == {"ceo", "cpo", "cto", "programmer", "reviewer", "tester"}
    loops = {s.name: s.until for s in config.chain if s.kind == "loop"}
    assert loops == {
        "code_complete_all": "no_stubs",
        "code_review": "approved",
        "test": "tests_pass",
    }


def test_every_phase_prompt_renders_without_unfilled_placeholders() -> None:
    config = load_config()
    state = {
        "task": "a tool",
        "files": {"main.py": "def f():\n    return 1\n"},
        "focus": ["main.py"],
        "notes": {"modality": "command-line tool", "test_reports": "main.py: ok"},
        "history": ["coding: wrote main.py"],
    }
    for name, phase in config.phases.items():
        text = instruction(config, phase, state, 10_000)
        assert not re.search(r"\{[a-z_]+\}", text), name
        if "{codes}" in phase.prompt:
            assert "def f():" in text, name


def test_a_config_round_trips_through_the_run_folder_snapshot() -> None:
    config = load_config().with_overrides(topology="random", cycles=1, args=["x"])
    assert load_config_data(yaml.safe_load(dump_config(config)), "snapshot") == config
    assert config.run.args == ["x"]
    assert all(s.cycles <= 1 for s in config.chain if s.kind == "loop")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["phases"]["coding"].update(assistant="janitor"), "unknown role 'janitor'"),
        (lambda d: d["phases"]["coding"].update(instructor="programmer"), "must be different"),
        (lambda d: d["phases"]["coding"].update(prompt="Write {nonsense}"), "['nonsense']"),
        (lambda d: d["phases"]["coding"].update(prompt="Write {"), "phases.coding.prompt"),
        (lambda d: d["roles"]["ceo"].update(prompt="{codes}"), "roles.ceo.prompt"),
        (
            lambda d: d["chain"].append({"kind": "phase", "phase": "lunch"}),
            "unknown phase(s) ['lunch']",
        ),
        (lambda d: d["chain"].append({"kind": "phase", "phase": "coding"}), "used twice"),
        (
            lambda d: d["chain"].append(
                {"kind": "loop", "name": "x", "until": "approved", "phases": ["coding"]}
            ),
            "needs a phase with a verdict",
        ),
        (
            lambda d: d["chain"].append(
                {"kind": "network", "name": "x", "critic": "coding", "actor": "coding"}
            ),
            "critic gives a verdict",
        ),
        (
            lambda d: d["phases"]["manual"]["artifact"].update(into="run.json"),
            "must be a .txt or .md",
        ),
        (lambda d: d["phases"]["demand_analysis"]["artifact"].update(choices=[]), "needs choices"),
        (lambda d: d["formats"].pop("files"), "no answer instruction"),
        (lambda d: d["phases"]["coding"].update(turns=0), "phases.coding.turns"),
        (lambda d: d["chain"][4].update(cycles=-1), "chain.4"),
        (lambda d: d.update(surprise=1), "surprise"),
        (lambda d: d["phases"].update({"Bad.Name": d["phases"]["coding"]}), "['Bad.Name']"),
        (
            lambda d: d["chain"].append(
                {"kind": "loop", "name": "finish", "until": "none", "phases": ["coding"]}
            ),
            "'finish'",
        ),
    ],
)
def test_mistakes_are_reported_with_their_place(change: Any, message: str) -> None:
    data = _data()
    change(data)
    with pytest.raises(ConfigError) as caught:
        _load(data)
    assert message in caught.value.message
    assert caught.value.message.startswith("test.yaml")


def test_a_config_file_that_is_not_yaml_or_missing_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("roles: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(listed)


def test_an_edited_copy_of_the_shipped_file_loads(tmp_path: Path) -> None:
    data = _data()
    data["chain"] = [s for s in data["chain"] if s.get("name") != "test"]
    data["phases"]["coding"]["turns"] = 3
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data))
    config = load_config(path)
    assert "test" not in config.step_names()
    assert config.phases["coding"].turns == 3

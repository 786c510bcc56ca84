"""What the quick start (`pip install -e .`) installs is enough for what IoA runs by itself."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_quick_start_installs_the_sandboxs_test_runner() -> None:
    """The company's sandbox runs generated tests with `python -m pytest` when pytest is
    importable, else with unittest, which finds 0 tests in pytest-style files."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "pytest" in requirement_names(project["dependencies"])
    sandbox = (ROOT / "environments" / "workspace" / "sandbox.py").read_text()
    assert '"-m", "pytest"' in sandbox  # what it runs: nothing but pytest itself

"""The protocol playground runs end to end on a tiny generated model: a sub-team, a conclusion,
and no frame refused by the hub."""

from __future__ import annotations

import pytest

from examples.protocol_playground import play

pytestmark = pytest.mark.llama


async def test_playground_concludes_with_a_sub_team_and_no_refusals() -> None:
    lines: list[str] = []
    outcome = await play(tiny=True, max_turns=6, timeout=100, out=lines.append)
    assert outcome.status == "done"
    assert outcome.conclusion.startswith(
        "Total checked by the calculator: 6 * 12.50 * 1.15 = 86.25"
    )
    assert len(outcome.sub_teams) == 1
    assert outcome.rejections == 0
    assert lines[0].startswith("goal: Plan a team lunch")
    assert any("sub-team of Planner (depth 1)" in line for line in lines)
    concluded = next(
        i for i, line in enumerate(lines) if line.startswith("    | ") and "CONCLUSION" in line
    )
    reported = next(
        i for i, line in enumerate(lines) if line.startswith("#") and "Planner  reports" in line
    )
    assert concluded < reported  # the sub-team's conclusion is the Planner's task result
    assert lines[-1] == f"\nDONE: {outcome.conclusion}"

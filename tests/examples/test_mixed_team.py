"""The mixed team (local model with a cascade, cloud model, MCP tool, a2a-sdk agent, script)
concludes a goal with no refused frame, on a tiny generated model and a loopback
`llama_cpp.server` "cloud"."""

from __future__ import annotations

import pytest

from examples.mixed_team import play

pytestmark = pytest.mark.llama


async def test_a_mixed_team_concludes_with_no_refusals() -> None:
    lines: list[str] = []
    outcome = await play(tiny=True, timeout=200, out=lines.append)
    assert outcome.status == "done"
    assert outcome.rejections == 0
    order = "For 6 people: 3 large pizzas, 2 salads, 6 drinks."
    assert outcome.conclusion.startswith(f"The bill: 6 * 12.5 = 75.0. {order}")
    assert outcome.roster == [
        "Reviewer (scripted)", "Edge (llm)", "Cloud (llm)", "arith (tool)", "Caterer (remote)"
    ]  # fmt: skip
    assert any("arith [tool]  reports: [t2] 75.0" in line for line in lines)
    assert any(f"Caterer [remote]  reports: [t3] {order}" in line for line in lines)
    assert outcome.escalations >= 1  # the goal names the Edge's hard skill: the cloud goes first
    assert outcome.remote_calls >= 1

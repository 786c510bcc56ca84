"""The environment checker: a model-free member of the robots' group that runs `env.check`.

The group names it in meta `checker`, so the hub makes every proposed plan wait for its
`check_result` and lets a conclusion carry only a plan whose check passed (check before commit:
RoCo's feedback loop moved inside the conversation, so a plan that would fail never costs an
environment attempt). Its reasons are the environment's failures, each led by the robots it
concerns (`Bob: rule: ...`), which is how the robots know who must change what.
"""

from __future__ import annotations

from typing import Any

from agents.brain import Brain, Turn
from agents.fallback import fallback_move
from agents.robots.options import plan_from_texts
from environments.rocobench import PlanError, RocoEnv

CHECKER_NAME = "checker"
REASON_MAX = 300
REASONS_MAX = 8


class EnvChecker(Brain):
    """Answers every check the group owes it; otherwise makes the most neutral legal move."""

    def __init__(self, env: RocoEnv) -> None:
        self.env = env
        self.checks = 0
        self.failed = 0

    async def move(self, turn: Turn) -> dict[str, Any]:
        spec = turn.legal.spec("check_result")
        if spec is None or not spec.proposal_ids:
            return fallback_move(turn.legal, "I check the plans you propose.") or {}
        proposal_id = spec.proposal_ids[0]
        record = turn.state.proposal(proposal_id)
        content = record.content if record is not None else {}
        passed, reasons = self.verdict(content)
        self.checks += 1
        self.failed += not passed
        return {
            "type": "check_result",
            "proposal_id": proposal_id,
            "passed": passed,
            "reasons": reasons,
        }

    def verdict(self, content: dict[str, Any]) -> tuple[bool, list[str]]:
        """Whether the plan in `content` (robot → action text) passes, and why not."""
        texts = {r: str(v) for r, v in content.items() if r in self.env.robots}
        try:
            feedback = self.env.check(plan_from_texts(self.env, texts))
        except PlanError as exc:
            who = exc.robot or ", ".join(self.env.robots)
            return False, [f"{who}: parse: {exc.message}"[:REASON_MAX]]
        reasons = [
            f"{', '.join(f.robots) or 'all'}: {f.kind.value}: "
            f"{f.where + ': ' if f.where else ''}{f.detail}"[:REASON_MAX]
            for f in feedback.failures[:REASONS_MAX]
        ]
        return feedback.passed, reasons

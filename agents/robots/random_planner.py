"""The random legal-action baseline: every robot picks uniformly among its legal actions.

Model-free and seeded. Each step, each robot draws one of `env.legal_options(robot)` (as the
alternatives of `env.action_schema(robot)`), then each of the action's slots (and path waypoints,
where the task plans paths) uniformly among the names and grid points its schema allows. The
plan is therefore always parseable; whether it passes the task's rules, reach and collision
checks is chance. A model's row means something only where it beats this one.
"""

from __future__ import annotations

import random

from agents.random_brain import random_instance
from agents.robots.planner import PlanContext, Planner, Proposal, Said
from agents.robots.record import Emit
from environments.rocobench import plan_from_json


class RandomPlanner(Planner):
    mode = "random"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rng = random.Random(seed)

    async def propose(self, ctx: PlanContext, emit: Emit) -> Proposal:
        env = ctx.env
        actions = {r: random_instance(env.action_schema(r), self.rng, ("",)) for r in env.robots}
        plan = plan_from_json(env, actions)
        return Proposal(plan=plan, chat=(Said("random", "plan", "", plan),))

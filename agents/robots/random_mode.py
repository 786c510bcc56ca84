"""The random-legal baseline: each robot draws uniformly among its concrete legal actions.

Model-free, seeded per episode and step, so a row means something only where a model beats it.
With `prior` it draws from what that prior leaves (`options.by_prior`, each action's effect
judged on its own): at the model's level, the two rows differ only in who chooses.
In path mode the plan gets its waypoints from the same motion helper the IoA mode uses
(`options.complete_plan`), so the two rows differ only in who chooses the actions.
"""

from __future__ import annotations

import random

from agents.robots.options import Prior, action_options, by_prior, complete_plan
from agents.robots.planner import PlanContext, Planner, Proposal, Said
from agents.robots.record import Emit, Event
from environments.rocobench import Action, RocoEnv
from environments.rocobench.effects import effect


class RandomPlanner(Planner):
    mode = "random"

    def __init__(self, seed: int = 0, prior: Prior = "none") -> None:
        self.seed = seed
        self.prior = prior

    async def propose(self, ctx: PlanContext, emit: Emit) -> Proposal:
        env = ctx.env
        rng = random.Random(f"random:{self.seed}:{env.name}:{env.seed}:{ctx.step}:{ctx.attempt}")
        actions = {r: rng.choice(self.options(env, r)) for r in env.robots}
        plan = complete_plan(env, actions).text()
        emit(Event("say", ctx.step, ctx.attempt, "random", "", {"type": "plan", "plan": plan}))
        return Proposal(plan=plan, chat=(Said("random", "plan", "", plan),))

    def options(self, env: RocoEnv, robot: str) -> list[Action]:
        actions = action_options(env, robot)
        if self.prior == "none":
            return actions
        return by_prior(actions, {a.text: effect(env, a) for a in actions}, self.prior)

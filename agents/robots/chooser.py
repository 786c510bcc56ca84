"""A robot's action chosen among its legal actions by the model: scored, judged, or sampled.

Decoders over the same finite list (`options.action_options`), so the lab can compare them:

- `score` (the default): `Engine.choose` — each option's mean log-probability per token as the
  robot's reply; nothing is sampled, and with the robot's KV prefix cached each option costs only
  its own tokens.
- `grammar`: `Engine.structured` under an enum of the option texts — one sample, constrained.
- `judge`: each option asked about on its own ("Move: X / Effect: Y / Does this move help reach
  the goal?"), scored by `Engine.choose` over `Yes`/`No`; the option with the largest
  log P(Yes) − log P(No) wins (ties: the earlier). One call per option, but the prompts share the
  task context and the step memory, so with the robot's KV prefix each costs only the move's own
  tokens. Listing every option in one prompt leaves a 135M model to compare a dozen clauses at
  once, and it mostly follows the wording of the action; asked one at a time, it reads the effect.
- `judge-calibrated`: `judge`, each margin minus the same move's margin with its effect
  `unknown` (contextual calibration), so what the action's words alone make the model say cancels
  out and only what the effect adds remains. Two calls per option.
- `judge-shots` and `score-shots`: `judge` and `score` with a few worked examples of the task in
  the system prompt ("Bob: <effect> / Helps? Yes|No"), generated from the environment's grades on
  dev seeds only (`demonstrations`); a small model copies examples better than it follows
  instructions. They come before anything that changes, so each robot prefills them once. In the
  default `inline` style the judge scores the whole example line for the move, ending in Yes and
  in No, so the answer follows the effect's own words exactly as in the examples (as a separate
  question and answer, `turns`, or with the action's words in the line, the 135M model copied
  less: 0.57 and 0.68 of dev decisions right against 0.74; `benchmarks/roco_decisions.py`).

Before the model sees anything, the framework does what a 135M model cannot: options a robot
already saw fail the environment's check are left out first (the conversation moves on instead of
proposing the same conflict again); every remaining option is described by its effect under the
task's rules (`environments.rocobench.effects`), and the prior (`options.by_prior`) prunes them:
`best` keeps only the best grade (progress toward the visible goal state before idling, idling
before moving away), `safe` only refuses moving away, `none` keeps all. The model then chooses
among what is left, reading each one's effect and the step memory (what is done, what remains);
when one option is left, no model call is made.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from agents.robots import prompts
from agents.robots.demonstrations import Shot, demonstrations
from agents.robots.options import Prior, by_prior
from environments.rocobench import Action, RocoEnv
from environments.rocobench.effects import Effect, effect, progress
from environments.rocobench.prompts import TASK_CONTEXT
from ioa.llm import Engine, EngineError

Decoding = Literal["score", "grammar", "judge", "judge-calibrated", "judge-shots", "score-shots"]
DECODINGS: tuple[Decoding, ...] = (
    "score",
    "grammar",
    "judge",
    "judge-calibrated",
    "judge-shots",
    "score-shots",
)
JUDGES: frozenset[Decoding] = frozenset({"judge", "judge-calibrated", "judge-shots"})
SHOTS = 8
"""Demonstrations per prompt in the `*-shots` decoders (`demonstrations`; tuned on dev seeds)."""
ShotStyle = Literal["turns", "system", "inline"]


@dataclass(frozen=True)
class Chosen:
    action: Action
    calls: int
    """Model calls it took (0 when only one option was left)."""


class ActionChooser:
    """Chooses for one robot, as the engine agent `agent` (one KV prefix per robot)."""

    def __init__(
        self,
        engine: Engine,
        env: RocoEnv,
        robot: str,
        *,
        decoding: Decoding = "score",
        prior: Prior = "best",
        shots: int = SHOTS,
        shot_style: ShotStyle = "inline",
    ) -> None:
        self.engine, self.env, self.robot, self.decoding = engine, env, robot, decoding
        self.prior = prior
        """What the effect grades leave for the model to choose among (`options.by_prior`)."""
        self.shots: tuple[Shot, ...] = ()
        """The worked examples in the prompt (only for the `*-shots` decodings)."""
        if decoding.endswith("-shots"):
            self.shots = demonstrations(env.name, shots)
        self.shot_style = shot_style
        """`judge-shots`: each example as a question and its answer (`turns`), or all of them
        as lines of the system prompt (`system`; `score-shots` always does this)."""

    @property
    def agent(self) -> str:
        return f"robot:{self.robot}"

    async def choose(
        self,
        actor: str,
        options: list[Action],
        context: str,
        avoid: Collection[str] = (),
        partners: Mapping[str, Action] | None = None,
    ) -> Chosen:
        """`actor`'s action among `options` (texts in `avoid` only if nothing else is left),
        beside the teammates' actions `partners` in the plan under discussion."""
        fresh = [a for a in options if a.text not in avoid] or options
        effects = {a.text: effect(self.env, a, partners) for a in fresh}
        fresh = by_prior(fresh, effects, self.prior)
        if len(fresh) == 1:
            return Chosen(fresh[0], 0)
        texts = [a.text for a in fresh]
        if self.decoding in JUDGES:
            return await self.judged(actor, fresh, effects)
        messages = self.messages(actor, context, {t: effects[t] for t in texts})
        try:
            if self.decoding != "grammar":
                choice = await self.engine.choose(messages, texts, agent=self.agent)
                return Chosen(fresh[choice.index], 1)
            schema = {
                "type": "object",
                "properties": {"action": {"enum": texts}},
                "required": ["action"],
                "additionalProperties": False,
            }
            value, _ = await self.engine.structured(messages, agent=self.agent, schema=schema)
            return Chosen(fresh[texts.index(value["action"])], 1)
        except (EngineError, ValueError, KeyError, TypeError, json.JSONDecodeError):
            return Chosen(fresh[0], 1)  # garbage from a model never stops the team

    async def judged(
        self, actor: str, options: list[Action], effects: Mapping[str, Effect]
    ) -> Chosen:
        """The option whose own question gets the most confident Yes (`margins`)."""
        margins = await self.margins(actor, options, effects)
        calls = len(options)
        if self.decoding == "judge-calibrated":
            unknown = {a.text: Effect(prompts.JUDGE_UNKNOWN, 0.0) for a in options}
            bias = await self.margins(actor, options, unknown)
            margins = [m - b if math.isfinite(b) else m for m, b in zip(margins, bias, strict=True)]
            calls *= 2
        best = max(range(len(options)), key=lambda i: (margins[i], -i))
        return Chosen(options[best], calls)

    async def margins(
        self, actor: str, options: list[Action], effects: Mapping[str, Effect]
    ) -> list[float]:
        """log P(Yes) − log P(No) for each option, asked on its own (−inf if the call failed)."""
        goal = prompts.JUDGE_GOAL.format(progress=progress(self.env))
        lead = self.judge_lead()
        inline = self.shot_style == "inline" and bool(self.shots)
        out = []
        for a in options:
            said = {"robot": actor, "action": a.text, "effect": effects[a.text].text}
            if inline:  # the same question; the answers are the example line, ending Yes or No
                question = prompts.JUDGE_INLINE
                answers = [
                    prompts.SHOT_LINE.format(**said, answer=y) for y in prompts.JUDGE_ANSWERS
                ]
            else:
                question = prompts.JUDGE_MOVE.format(**said)
                answers = list(prompts.JUDGE_ANSWERS)
            messages = [*lead, {"role": "user", "content": f"{goal}\n\n{question}"}]
            try:
                choice = await self.engine.choose(messages, answers, agent=self.agent)
            except EngineError:
                out.append(-math.inf)  # garbage from a model never stops the team
                continue
            yes, no = choice.scores
            out.append(yes.logprob - no.logprob)
        return out

    def judge_lead(self) -> list[dict[str, str]]:
        """The judge's messages before the question: the system prompt and the examples (the
        same every call, so they stay in the robot's KV prefix)."""
        system = prompts.JUDGE_SYSTEM.format(context=TASK_CONTEXT[self.env.name])
        if self.shot_style != "turns" and self.shots:
            return [{"role": "system", "content": system + "\n\n" + self.examples()}]
        lead = [{"role": "system", "content": system}]
        for shot in self.shots:
            move = prompts.JUDGE_MOVE.format(
                robot=shot.robot, action=shot.action, effect=shot.effect
            )
            lead += [
                {"role": "user", "content": move},
                {"role": "assistant", "content": shot.answer},
            ]
        return lead

    def examples(self) -> str:
        """The examples as lines of a system prompt."""
        listed = "\n\n".join(
            prompts.SHOT_LINE.format(
                robot=s.robot, action=s.action, effect=s.effect, answer=s.answer
            )
            for s in self.shots
        )
        return prompts.SHOTS_HEADER.format(examples=listed)

    def messages(
        self, actor: str, context: str, effects: Mapping[str, Effect]
    ) -> list[dict[str, str]]:
        system = prompts.CHOOSE_SYSTEM.format(context=TASK_CONTEXT[self.env.name])
        if self.shots:
            system += "\n\n" + self.examples()
        ask = (
            prompts.CHOOSE_MINE.format(robot=self.robot)
            if actor == self.robot
            else prompts.CHOOSE_OTHER.format(robot=actor)
        )
        listed = "\n".join(
            prompts.CHOOSE_OPTION.format(action=t, effect=e.text) for t, e in effects.items()
        )
        parts = [context, progress(self.env), prompts.CHOOSE_OPTIONS.format(options=listed), ask]
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": "\n\n".join(p for p in parts if p)},
        ]

"""`RobotBrain`: a robot's moves in a checked group, from its own observation.

The model makes one kind of decision: which of a robot's legal actions to take (or to expect of a
teammate), by likelihood scoring or grammar sampling (`chooser`). Everything else is protocol:

- under `ioa` (the IoA mode), the talk is proposals of joint plans, the checker's verdicts,
  objections carrying its reasons, acceptances, and a conclusion that names a checked proposal
  (`negotiation.decide`);
- under `dialectic` (RoCo's dialog through the hub), each robot in turn says what it will do
  (`proceed`) and, once everyone spoke, one EXECUTEs the joint plan of the stated intentions; a
  plan that fails the check does not end the talk, and the robots it names choose again.

The conclusion's text is the EXECUTE plan, which the runner executes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agents.brain import Brain, Line, Turn
from agents.robots import prompts
from agents.robots.chooser import ActionChooser, Decoding
from agents.robots.negotiation import Decision, Seen, concerned, decide, failed_actions
from agents.robots.options import Prior, action_options, complete_plan, plan_from_texts
from environments.rocobench import Action, Plan, PlanError, RocoEnv
from ioa.llm import Engine

SAY_MAX = 290
INTENT = re.compile(r"I will (.+?)\.(?:\s|$)")


class RobotBrain(Brain):
    """The brain of robot `robot` in `env` (read-only: the runner steps the environment)."""

    def __init__(
        self,
        engine: Engine,
        env: RocoEnv,
        robot: str,
        *,
        decoding: Decoding = "score",
        prior: Prior = "best",
    ) -> None:
        self.env = env
        self.robot = robot
        self.chooser = ActionChooser(engine, env, robot, decoding=decoding, prior=prior)
        self.calls = 0

    async def move(self, turn: Turn) -> dict[str, Any]:
        if (owed := turn.legal.spec("conclusion")) is not None:
            return self._conclusion(turn, owed.proposal_ids)
        if turn.legal.protocol == "dialectic":
            return await self._dialectic(turn)
        return await self._negotiate(turn)

    # ---- ioa: proposals, checks, objections, acceptances ---------------------------------------

    async def _negotiate(self, turn: Turn) -> dict[str, Any]:
        seen = seen_proposals(turn, self.env.robots)
        mine = {p.actions.get(self.robot) for p in seen if p.author == self.robot}
        owned = bool(seen) and seen[-1].actions.get(self.robot) in mine
        preferred = None
        if seen and seen[-1].passed and not owned and self.robot not in seen[-1].endorsed:
            preferred = (await self._choose(self.robot, turn, seen)).text
        conclude = turn.legal.spec("conclude")
        can_conclude = conclude is not None and bool(seen) and seen[-1].id in conclude.proposal_ids
        decision = decide(
            self.robot,
            self.env.robots,
            seen,
            owned=owned,
            preferred=preferred,
            can_conclude=can_conclude,
        )
        move = await self._act(turn, decision, seen)
        types = set(turn.legal.types)
        if move["type"] in types:
            return move
        if conclude is not None:  # the turn cap: only a conclusion is left
            passed = next((p.id for p in reversed(seen) if p.passed), None)
            ok = passed is not None and passed in conclude.proposal_ids
            return {
                "type": "conclude",
                "text": prompts.CONCLUDE_TEXT if ok else prompts.CONCLUDE_NONE,
                "proposal_id": passed if ok else None,
            }
        return move

    async def _act(self, turn: Turn, decision: Decision, seen: list[Seen]) -> dict[str, Any]:
        ids = {name: member for member, name in turn.names.items()}
        nxt = ids.get(decision.to or "")
        target = decision.proposal
        if decision.kind == "propose":
            actions = {self.robot: await self._choose(self.robot, turn, seen)}
            for robot in self.env.robots:
                if robot not in actions:
                    actions[robot] = await self._placeholder(robot, turn, seen)
            return self._proposal(complete_plan(self.env, actions), nxt, prompts.PROPOSE_TEXT)
        if decision.kind == "amend" and target is not None:
            mine = await self._choose(self.robot, turn, seen)
            base = self._bare(target)
            base[self.robot] = mine
            text = prompts.AMEND_TEXT.format(robot=self.robot, action=mine.text)
            return self._proposal(complete_plan(self.env, base), nxt, text)
        if decision.kind == "object" and target is not None:
            named = concerned(target.reasons, self.env.robots)
            return {
                "type": "objection",
                "proposal_id": target.id,
                "reason": "; ".join(target.reasons)[:SAY_MAX] or prompts.UNCHECKED,
                "conflicts": named[:4],
                "next_speaker": nxt,
            }
        if decision.kind == "conclude" and target is not None:
            return {"type": "conclude", "text": prompts.CONCLUDE_TEXT, "proposal_id": target.id}
        assert target is not None
        return {
            "type": "acceptance",
            "proposal_id": target.id,
            "text": prompts.ACCEPT_TEXT.format(plan=summary(target.actions))[:SAY_MAX],
            "next_speaker": nxt,
        }

    async def _placeholder(self, robot: str, turn: Turn, seen: list[Seen]) -> Action:
        """A teammate's line in a draft, for it to amend with its own choice: WAIT where legal
        (the proposer does not speak for it), else the proposer's guess."""
        wait = next((a for a in action_options(self.env, robot) if a.form == "WAIT"), None)
        return wait if wait is not None else await self._choose(robot, turn, seen)

    def _proposal(self, plan: Plan, nxt: str | None, text: str) -> dict[str, Any]:
        content = {a.robot: a.line().split(" ACTION ", 1)[1] for a in plan.actions}
        bare = {a.robot: a.text for a in plan.actions}
        return {
            "type": "proposal",
            "content": content,
            "text": f"{text} {summary(bare)}"[:SAY_MAX],
            "next_speaker": nxt,
        }

    def _bare(self, proposal: Seen) -> dict[str, Action]:
        out = {}
        for robot in self.env.robots:
            options = {a.text: a for a in action_options(self.env, robot)}
            text = proposal.actions.get(robot, "")
            out[robot] = options.get(text) or next(iter(options.values()))
        return out

    # ---- dialectic: PROCEED with an intent, EXECUTE the intents -------------------------------

    async def _dialectic(self, turn: Turn) -> dict[str, Any]:
        seen = seen_proposals(turn, self.env.robots)
        intents = stated_intents(self.env, turn.transcript, since=_last_failure(turn))
        mine = await self._choose(self.robot, turn, seen, dict(intents))
        types = set(turn.legal.types)
        intents[self.robot] = mine
        if "execute" in types and (set(self.env.robots) <= set(intents) or "proceed" not in types):
            for robot in self.env.robots:
                if robot not in intents:
                    intents[robot] = await self._choose(robot, turn, seen, dict(intents))
            plan = complete_plan(self.env, intents)
            content = {a.robot: a.line().split(" ACTION ", 1)[1] for a in plan.actions}
            text = prompts.EXECUTE_TEXT.format(
                plan=summary({a.robot: a.text for a in plan.actions})
            )
            return {"type": "execute", "content": content, "text": text[:SAY_MAX]}
        lead = ""
        if seen and seen[-1].passed is False:
            lead = prompts.HEARD_TEXT.format(reasons="; ".join(seen[-1].reasons)[:150]) + " "
        return {"type": "proceed", "text": f"{lead}I will {mine.text}."}

    # ---- shared ----------------------------------------------------------------------------------

    async def _choose(
        self,
        actor: str,
        turn: Turn,
        seen: list[Seen],
        partners: dict[str, Action] | None = None,
    ) -> Action:
        """`actor`'s action, judged beside its teammates' lines in the latest plan (or
        `partners`, the intentions stated so far)."""
        avoid = failed_actions(actor, self.env.robots, seen)
        if turn.legal.protocol == "dialectic":  # every line is its robot's own stated intent
            robots = self.env.robots
            avoid |= {
                p.actions[actor]
                for p in seen
                if p.passed is False and actor in p.actions and not concerned(p.reasons, robots)
            }
        if partners is None:
            partners = self._lines(seen[-1].actions, actor) if seen else {}
        chosen = await self.chooser.choose(
            actor, action_options(self.env, actor), context_text(turn, seen), avoid, partners
        )
        self.calls += chosen.calls
        return chosen.action

    def _lines(self, texts: Mapping[str, str], actor: str) -> dict[str, Action]:
        """The teammates' lines of a plan, as actions (lines no longer legal are left out)."""
        out = {}
        for robot, text in texts.items():
            if robot == actor or robot not in self.env.robots:
                continue
            match = next((a for a in action_options(self.env, robot) if a.text == text), None)
            if match is not None:
                out[robot] = match
        return out

    def _conclusion(self, turn: Turn, proposal_ids: tuple[str, ...]) -> dict[str, Any]:
        # the latest concludable plan: the one `conclude` named (decide concludes the latest)
        record = turn.state.proposal(proposal_ids[-1]) if proposal_ids else None
        if record is None:
            return {"type": "conclusion", "text": prompts.NO_CHECKED_PLAN, "proposal_id": None}
        try:
            plan = plan_from_texts(self.env, {r: str(v) for r, v in record.content.items()})
        except PlanError as exc:
            return {"type": "conclusion", "text": f"(no plan: {exc})", "proposal_id": record.id}
        return {"type": "conclusion", "text": plan.text(), "proposal_id": record.id}


def seen_proposals(turn: Turn, robots: tuple[str, ...]) -> list[Seen]:
    """The group's plans so far, with robot names and action texts without their paths."""
    out = []
    for record in turn.state.proposals:
        actions = {r: _bare_text(str(v)) for r, v in record.content.items() if r in robots}
        out.append(
            Seen(
                id=record.id,
                author=turn.names.get(record.author, record.author),
                actions=actions,
                passed=record.check,
                reasons=tuple(record.reasons),
                accepted_by=frozenset(turn.names.get(m, m) for m in record.accepted_by),
            )
        )
    return out


def stated_intents(env: RocoEnv, transcript: list[Line], since: int = 0) -> dict[str, Action]:
    """Each robot's latest `I will <action>.` since message `since`, if it is still legal."""
    out: dict[str, Action] = {}
    for line in transcript:
        if line.seq <= since or line.sender not in env.robots or line.type != "proceed":
            continue
        match = INTENT.search(line.text)
        if match is None:
            continue
        options = {a.text: a for a in action_options(env, line.sender)}
        if match.group(1) in options:
            out[line.sender] = options[match.group(1)]
    return out


def context_text(turn: Turn, seen: list[Seen]) -> str:
    """What a robot reads before choosing: the round's header (the goal's last line: the history
    before it is summed up by the step memory, `effects.progress`) and the last plan's verdict."""
    parts = [turn.goal.rstrip().rsplit("\n", 1)[-1]]
    if seen:
        last = seen[-1]
        verdict = "passed" if last.passed else "failed: " + "; ".join(last.reasons)
        parts.append(prompts.LAST_PLAN.format(plan=summary(last.actions), verdict=verdict))
    return "\n".join(parts)


def summary(actions: dict[str, str] | Any) -> str:
    return "; ".join(f"{robot} {text}" for robot, text in actions.items())


def _bare_text(text: str) -> str:
    return text.split(" PATH ", 1)[0].strip()


def _last_failure(turn: Turn) -> int:
    seqs = [line.seq for line in turn.transcript if line.type == "check_result"]
    return max(seqs, default=0)


__all__ = ["RobotBrain", "context_text", "seen_proposals", "stated_intents"]

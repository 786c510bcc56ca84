"""One phase as a conversation on the hub: the instructor instructs, the assistant answers.

Each phase is an "ioa" group of its two roster, so the hub enforces the collaboration protocol
and stores the transcript. The moves are fixed by the phase, not guessed by a model:

1. the instructor sends a `discussion` to the assistant: the phase prompt (or, in a later
   round, a request to revise);
2. the assistant's model writes its artifact under the artifact's grammar, and the assistant
   sends it back as a `discussion`;
3. with turns left, the instructor asks again when the answer held nothing usable, or, in a
   reflective phase, when its own model judges that the answer needs a change;
4. the instructor sends `conclude`, then the `conclusion`: the accepted artifact.

With `levers.file_scoped`, a files phase instead has one round per target file: the instructor
asks for that file with its scope only, the assistant writes it under the levers
(`agents.software.file_scope`: compile checks and retries, candidates chosen by the sandbox, all
counted) and sends back the text it accepted.

Both sides act on what the hub delivered to them. Every move is checked against the protocol
state before it is sent (the hub checks it again), and the group's turn cap is 2 * turns + 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agents.conversation import Conversation
from agents.software.artifacts import Answer, Artifact, ask, decide
from agents.software.config import CompanyConfig, PhaseSpec
from agents.software.errors import PhaseFailed
from agents.software.file_scope import FileOutcome, Scoped, write_file
from agents.software.prompt_budget import Gauge, fit_chat, shorten
from agents.software.roster import Seat
from ioa.client import ClientError
from ioa.llm import Completion, Engine
from protocols import Envelope
from protocols.frames import GroupInfo
from protocols.messages import TEXT_MAX

__all__ = ["DELIVERY_TIMEOUT", "OnMessage", "PhaseConversation", "PhaseResult", "system_prompt"]

DELIVERY_TIMEOUT = 30.0
"""Seconds to wait for the hub to deliver a message to the other seat."""

OnMessage = Callable[[Envelope], Awaitable[None] | None]
Render = Callable[[int], str]
"""Builds the first instruction so that it fits the given number of characters."""


def system_prompt(config: CompanyConfig, seat: Seat, task: str) -> str:
    company = config.company.format(task=task)
    return seat.spec.prompt.format(company=company, task=task, name=seat.spec.name)


def n_ctx_of(engine: Engine, default: int) -> int:
    value = getattr(engine, "n_ctx", None)
    return value if isinstance(value, int) and value > 0 else default


@dataclass
class PhaseResult:
    """What a phase conversation produced."""

    phase: str
    group: str
    artifact: Artifact
    rounds: int
    files: list[dict[str, Any]] | None = None
    """File-scoped phases: per file, what the levers did and cost (`FileOutcome.stats`)."""


class PhaseConversation:
    """Runs phase conversations for one run; `gauge` learns the model's characters per token."""

    def __init__(
        self, config: CompanyConfig, gauge: Gauge, on_message: OnMessage | None = None
    ) -> None:
        self.config = config
        self.gauge = gauge
        self.on_message = on_message
        self.max_prompt_tokens = 0
        """The longest prompt sent so far, in the model's tokens."""

    def budget(self, seat: Seat, answer_tokens: int) -> int:
        """Characters of message text `seat`'s model can read and still write its answer."""
        n_ctx = n_ctx_of(seat.engine, self.config.context.n_ctx)
        return self.gauge.chars(n_ctx - answer_tokens - self.config.context.margin_tokens)

    async def run(
        self,
        name: str,
        spec: PhaseSpec,
        instructor: Seat,
        assistant: Seat,
        *,
        task: str,
        render: Render,
        meta: dict[str, Any] | None = None,
        scoped: Scoped | None = None,
    ) -> PhaseResult:
        if scoped is not None:
            return await self._run_scoped(name, spec, instructor, assistant, task, meta, scoped)
        answers = self.config.answers
        answer_tokens = int(getattr(answers, spec.artifact.kind))
        system = system_prompt(self.config, assistant, task)
        instruction = render(self.budget(assistant, answer_tokens) - len(system))
        group = await self._open(name, spec, instructor, assistant, task, meta or {})
        talk = _Talk(group, [instructor, assistant], self.on_message)
        nothing = Artifact(spec.artifact.kind, {}, "none", "no answer")
        result = PhaseResult(name, talk.conversation.group, nothing, 0)
        chat: list[dict[str, str]] = [{"role": "system", "content": system}]
        message, best = instruction, None
        for round_number in range(1, spec.turns + 1):
            heard = await talk.say(instructor, "discussion", message, to=assistant)
            chat.append({"role": "user", "content": heard})
            artifact = (await self._ask(assistant, spec, chat, answer_tokens)).artifact
            best = _better(best, artifact)
            reply = (
                artifact.wire() if artifact.usable else f"(no usable answer: {artifact.problem})"
            )
            heard = await talk.say(assistant, "discussion", reply, to=instructor)
            chat.append(
                {"role": "assistant", "content": shorten(heard, self.config.context.answer_chars)}
            )
            result.rounds = round_number
            if round_number == spec.turns:
                break
            if not artifact.usable:
                message = self.config.retry.format(problem=artifact.problem)
                continue
            if not spec.reflect:
                break
            verdict = await self._judge(instructor, task, instruction, heard)
            if verdict is None:
                break
            message = verdict
        final = best or result.artifact
        result.artifact = final
        await talk.say(instructor, "conclude", "accepted" if final.usable else "no usable answer")
        await talk.say(
            instructor, "conclusion", final.wire() if final.usable else str(final.problem)
        )
        return result

    async def _run_scoped(
        self,
        name: str,
        spec: PhaseSpec,
        instructor: Seat,
        assistant: Seat,
        task: str,
        meta: dict[str, Any] | None,
        scoped: Scoped,
    ) -> PhaseResult:
        """One round per target file: the instructor asks for the file with its scope, the
        assistant writes it under the levers (its own compile and sandbox checks, counted) and
        sends the accepted text back."""
        levers = self.config.levers
        system = system_prompt(self.config, assistant, task)
        rounds = len(scoped.targets)
        group = await self._open(name, spec, instructor, assistant, task, meta or {}, rounds)
        talk = _Talk(group, [instructor, assistant], self.on_message)
        files = dict(scoped.files)
        accepted: dict[str, str] = {}
        outcomes: list[FileOutcome] = []

        async def complete(messages: list[dict[str, str]], temperature: float) -> Completion:
            fitted = fit_chat(messages, self.budget(assistant, levers.file_tokens))
            completion = await assistant.engine.chat(
                fitted, agent=assistant.key, max_tokens=levers.file_tokens, temperature=temperature
            )
            self._observe(fitted, completion)
            return completion

        for path in scoped.targets:
            room = self.budget(assistant, levers.file_tokens) - len(system)
            heard = await talk.say(
                instructor, "discussion", scoped.render(path, files, room), to=assistant
            )
            outcome = await write_file(
                complete,
                self.config,
                system=system,
                instruction=heard,
                path=path,
                files=files,
                probe=scoped.probe,
            )
            outcomes.append(outcome)
            if outcome.content is not None:
                files[path] = accepted[path] = outcome.content
            await talk.say(assistant, "discussion", outcome.reply(), to=instructor)
        problem = (
            None if accepted else "no file was accepted: " + "; ".join(o.note for o in outcomes)
        )
        artifact = Artifact("files", {"files": accepted}, "fence" if accepted else "none", problem)
        await talk.say(instructor, "conclude", "accepted" if accepted else "no usable answer")
        await talk.say(instructor, "conclusion", artifact.wire() if accepted else str(problem))
        return PhaseResult(
            name, talk.conversation.group, artifact, rounds, [o.stats() for o in outcomes]
        )

    async def _open(
        self,
        name: str,
        spec: PhaseSpec,
        instructor: Seat,
        assistant: Seat,
        task: str,
        meta: dict[str, Any],
        rounds: int | None = None,
    ) -> GroupInfo:
        goal = f"{name}: {task}"[:500]
        turns = 2 * max(spec.turns, rounds or 0) + 1
        settings = {"goal": goal, "initiator": instructor.id, "max_turns": turns}
        try:
            return await instructor.client.create_group(
                [assistant.id], name=name, protocol="ioa", meta={**meta, "phase": name, **settings}
            )
        except ClientError as exc:
            raise PhaseFailed(f"{name}: the hub refused the phase group: {exc.message}") from exc

    async def _ask(
        self, seat: Seat, spec: PhaseSpec, chat: list[dict[str, str]], answer_tokens: int
    ) -> Answer:
        messages = fit_chat(chat, self.budget(seat, answer_tokens))
        answer = await ask(
            seat.engine,
            agent=seat.key,
            messages=messages,
            spec=spec.artifact,
            answers=self.config.answers,
        )
        for completion in answer.completions:
            self._observe(messages, completion)
        return answer

    async def _judge(self, seat: Seat, task: str, instruction: str, answer: str) -> str | None:
        """None to accept the answer, else the revision request to send."""
        room = self.budget(seat, self.config.answers.decision)
        system = system_prompt(self.config, seat, task)
        share = max(0, (room - len(system) - len(self.config.review_answer)) // 2)
        prompt = self.config.review_answer.format(
            instruction=shorten(instruction, share), answer=shorten(answer, share)
        )
        messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
        decision = await decide(
            seat.engine, agent=seat.key, messages=messages, answers=self.config.answers
        )
        if decision.completion is not None:
            self._observe(messages, decision.completion)
        if decision.accept:
            return None
        return self.config.revise.format(comment=decision.comment or "be concrete and complete")

    def _observe(self, messages: list[dict[str, str]], completion: Completion) -> None:
        self.max_prompt_tokens = max(self.max_prompt_tokens, completion.prompt_tokens)
        if completion.dropped_messages == 0:
            self.gauge.observe(sum(len(m["content"]) for m in messages), completion.prompt_tokens)


def _better(best: Artifact | None, new: Artifact) -> Artifact:
    """The answer to keep: files accumulate over rounds (a revision returns changed files only);
    otherwise the newest usable answer wins."""
    if best is None or not best.usable:
        return new
    if not new.usable:
        return best
    if new.kind == "files":
        merged = {**best.value["files"], **new.value["files"]}
        return Artifact("files", {"files": merged}, new.method, None, new.rejected)
    return new


class _Talk:
    """One phase group's talk: its replica, advanced by each message the hub accepts."""

    def __init__(self, group: GroupInfo, roster: list[Seat], on_message: OnMessage | None):
        self.conversation = Conversation(group)
        self.roster = roster
        self.on_message = on_message

    async def say(self, seat: Seat, kind: str, text: str, *, to: Seat | None = None) -> str:
        """Send one move from `seat`; returns its text as the hub delivered it to the other."""
        move: dict[str, Any] = {"type": kind, "text": text[:TEXT_MAX]}
        if to is not None:
            move["next_speaker"] = to.id
        envelope = self.conversation.envelope(seat.id, move, summary=text[:2000])
        if envelope is None:
            raise PhaseFailed(f"{seat.label} has no legal move left")
        try:
            stamped = await seat.client.send(envelope)
            delivered = [
                await _delivery(other, stamped.id) for other in self.roster if other is not seat
            ]
        except (ClientError, TimeoutError) as exc:
            reason = exc.message if isinstance(exc, ClientError) else "delivery timed out"
            raise PhaseFailed(f"{seat.label}'s {kind} failed on the hub: {reason}") from exc
        self.conversation.fold(stamped)
        if self.on_message is not None:
            shown = self.on_message(stamped)
            if shown is not None:
                await shown
        return str(getattr(delivered[0].payload, "text", "")) if delivered else text


async def _delivery(seat: Seat, message_id: str) -> Envelope:
    """Wait until the hub delivers `message_id` to `seat` (older replays are skipped)."""
    async with asyncio.timeout(DELIVERY_TIMEOUT):
        while True:
            envelope = await seat.client.receive()
            if envelope.id == message_id:
                return envelope

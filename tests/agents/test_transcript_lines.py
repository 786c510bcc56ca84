"""Transcript lines show what a structured speech act says, not only its free text."""

from __future__ import annotations

from agents.runtime.memory import text_of
from protocols import Discussion, Envelope
from protocols.acts import Ballot, CheckResult, Objection, Proposal


def _line(payload: object) -> str:
    return text_of(Envelope.model_validate({"group": "g", "sender": "a", "payload": payload}))


def test_a_proposal_line_carries_its_id_and_plan() -> None:
    proposal = Proposal(proposal_id="p1", content={"alice": "PICK cup"}, text="let us")
    assert _line(proposal.model_dump()) == '[proposal_id=p1; plan={"alice": "PICK cup"}] let us'


def test_checks_objections_and_ballots_show_their_verdicts() -> None:
    check = CheckResult(proposal_id="p1", passed=False, reasons=["bob cannot reach"])
    assert _line(check.model_dump()) == "[proposal_id=p1; passed=False; reasons=bob cannot reach]"
    objection = Objection(proposal_id="p2", reason="collision", conflicts=["bob", "cup"])
    assert _line(objection.model_dump()) == "[proposal_id=p2; reason=collision; conflicts=bob, cup]"
    assert _line(Ballot(ranking=["p2", "p1"]).model_dump()) == "[ranking=p2, p1]"


def test_plain_moves_keep_their_text() -> None:
    assert _line(Discussion(text="hello").model_dump()) == "hello"

"""The hub refuses control characters in text shown to people, naming the field, and keeps no trace.

Raw HTTP, as a hostile client would send it: cards (register and update), group names, goals.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ioa.client import HubClient
from ioa.hub import Hub
from tests.conftest import AgentFactory, card, hub_config

REFUSED = {
    "NUL": "\x00",
    "CR": "\r",
    "ESC": "\x1b",
    "unit separator": "\x1f",
    "DEL": "\x7f",
    "C1 NEL": "\x85",
    "C1 CSI": "\x9b",
    "LRE": "\u202a",
    "RLO": "\u202e",
    "LRI": "\u2066",
    "PDI": "\u2069",
}
SURROGATES = {"lone high surrogate": "\ud800", "lone low surrogate": "\udfff"}


async def _call(
    session: aiohttp.ClientSession, hub: Hub, token: str, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = None if body is None else json.dumps(body)  # escapes every control as \uXXXX
    async with session.request(method, hub.url + path, data=data, headers=headers) as response:
        return response.status, await response.json()


async def _registry(session: aiohttp.ClientSession, hub: Hub, token: str) -> tuple[Any, Any]:
    """What a refused request must leave as it was: every agent's record and the caller's
    groups (a goal opens one)."""
    _, agents = await _call(session, hub, token, "GET", "/v1/agents")
    _, groups = await _call(session, hub, token, "GET", "/v1/groups")
    cards = sorted((a["id"], json.dumps(a["card"], sort_keys=True)) for a in agents["agents"])
    return cards, groups["groups"]


def _requests(char: str, me: str) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, body, the field the error must name) for every edge that takes such text."""
    skill = {"name": "s", "tags": ["fine", f"t{char}"]}
    return [
        ("POST", "/v1/agents", {"name": f"ev{char}il"}, "name"),
        ("POST", "/v1/agents", {"name": "ok", "description": f"d{char}"}, "description"),
        ("POST", "/v1/agents", {"name": "ok", "skills": [skill]}, "skills.0.tags.1"),
        ("PUT", f"/v1/agents/{me}", {"name": f"ev{char}il"}, "name"),
        ("PUT", f"/v1/agents/{me}", {"name": "ok", "device": {"cpu": f"x{char}"}}, "device.cpu"),
        ("POST", "/v1/groups", {"name": f"g{char}", "members": []}, "name"),
        ("POST", "/v1/goals", {"goal": f"do{char}it", "roster": [me]}, "goal"),
    ]


CASES = [(char, "invalid_request") for char in REFUSED.values()] + [
    (char, "malformed_json") for char in SURROGATES.values()
]
"""Each character and the code it meets: the text rule, or for a lone surrogate the JSON parser,
which refuses it before the rule ever sees it."""


@pytest.mark.parametrize(("char", "code"), CASES, ids=[*REFUSED, *SURROGATES])
async def test_control_characters_are_refused_naming_the_field(
    hub: Hub, make_agent: AgentFactory, char: str, code: str
) -> None:
    alice = await make_agent("alice", connect=False)
    token, me = str(alice.token), str(alice.agent_id)
    async with aiohttp.ClientSession() as session:
        before = await _registry(session, hub, token)
        for method, path, body, field in _requests(char, me):
            status, answer = await _call(session, hub, token, method, path, body)
            assert (status, answer["error"]["code"]) == (400, code), (method, path, field)
            if code == "invalid_request":
                assert answer["error"]["message"].startswith(f"{field}: "), answer
                assert f"U+{ord(char):04X}" in answer["error"]["message"]
        assert await _registry(session, hub, token) == before
        assert len(before[0]) == 1


async def test_descriptions_and_goals_keep_tabs_and_newlines(
    hub: Hub, make_agent: AgentFactory
) -> None:
    alice = await make_agent("alice", connect=False)
    token, me = str(alice.token), str(alice.agent_id)
    async with aiohttp.ClientSession() as session:
        card = {"name": "bob", "description": "first line\n\tsecond, indented"}
        status, answer = await _call(session, hub, token, "POST", "/v1/agents", card)
        assert status == 201
        assert answer["card"]["description"] == card["description"]
        goal = {"goal": "step one\nstep two", "roster": [me]}
        status, answer = await _call(session, hub, token, "POST", "/v1/goals", goal)
        assert (status, answer["goal"]) == (202, goal["goal"])
        _, group = await _call(session, hub, token, "GET", f"/v1/groups/{answer['group']}")
        assert group["name"] == "step one step two"  # a name is one line
        status, answer = await _call(session, hub, token, "POST", "/v1/agents", {"name": "a\tb"})
        assert (status, answer["error"]["code"]) == (400, "invalid_request")


async def test_a_card_stored_before_the_rule_is_scrubbed_when_the_hub_starts(
    db_path: Path,
) -> None:
    config = hub_config(db_path)
    async with Hub(config) as hub, HubClient(hub.url) as alice:
        await alice.register(card("alice"))
        token, me = str(alice.token), str(alice.agent_id)
    old = {"id": me, "name": "ev\x1b[2Jil", "description": "a\u202eb\nc"}
    with contextlib.closing(sqlite3.connect(db_path)) as db, db:  # as an older hub stored it
        db.execute("UPDATE agents SET card = ? WHERE id = ?", (json.dumps(old), me))
    async with Hub(config) as hub, HubClient(hub.url, token=token, agent_id=me) as alice:
        shown = (await alice.agent(me)).card
        assert (shown.name, shown.description) == ("ev\ufffd[2Jil", "a\ufffdb c")

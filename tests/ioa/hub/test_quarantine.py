"""A group the hub cannot restore is quarantined; the rest of the hub works; a failed start
reports its own cause and leaves nothing open."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import aiohttp
import pytest

from ioa.client import ClientError, HubClient
from ioa.hub import Hub
from ioa.store import StoreError
from protocols import Discussion, ErrorCode
from tests.conftest import card, hub_config


async def two_conversations(db_path: Path) -> tuple[str, str, str, str]:
    """Alice and Bob in two "ioa" groups, one move in each; the hub then stops."""
    async with Hub(hub_config(db_path)) as hub:
        alice, bob = HubClient(hub.url), HubClient(hub.url)
        async with alice, bob:
            await alice.register(card("alice"))
            await bob.register(card("bob"))
            await alice.connect()
            groups = []
            for _ in range(2):
                group = (await alice.create_group([bob.agent_id], protocol="ioa")).id
                await alice.say(group, Discussion(text="shall we?"), to=[bob.agent_id])
                groups.append(group)
            assert alice.token
            assert bob.token
            return groups[0], groups[1], alice.token, bob.token


def damage(db_path: Path, group_id: str) -> None:
    """What a bug, an older version or a hand edit can leave: a body that is not an envelope."""
    with sqlite3.connect(db_path) as db:
        db.execute('UPDATE messages SET body = \'{"v": "0"}\' WHERE group_id = ?', (group_id,))


async def test_a_group_that_cannot_be_restored_is_quarantined_and_the_rest_works(
    db_path: Path,
) -> None:
    broken, healthy, _, bob_token = await two_conversations(db_path)
    damage(db_path, broken)
    async with Hub(hub_config(db_path)) as hub:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {bob_token}"}) as http:
            async with http.get(f"{hub.url}/v1/groups/{broken}") as resp:
                body = await resp.json()
            assert resp.status == 503
            assert body["error"]["code"] == ErrorCode.GROUP_QUARANTINED
            assert broken in body["error"]["message"]
            assert "ValidationError" in body["error"]["message"]  # the cause, named
            async with http.get(f"{hub.url}/v1/health") as resp:
                assert (await resp.json())["quarantined"] == [broken]
            async with http.get(f"{hub.url}/v1/admin/quarantine") as resp:  # loopback operator
                assert list((await resp.json())["groups"]) == [broken]

        bob_id = hub.state.registry.authenticate(bob_token).id
        async with HubClient(hub.url, token=bob_token, agent_id=bob_id) as bob:
            await bob.connect()
            reply = await bob.say(healthy, Discussion(text="yes"), to=[])
            assert reply.seq == 2  # the healthy conversation goes on where it was
            with pytest.raises(ClientError) as refused:
                await bob.say(broken, Discussion(text="yes"))
            assert refused.value.code == ErrorCode.GROUP_QUARANTINED


async def test_a_mended_group_leaves_quarantine_on_retry(db_path: Path) -> None:
    broken, _, _, bob_token = await two_conversations(db_path)
    with sqlite3.connect(db_path) as db:
        good = db.execute("SELECT body FROM messages WHERE group_id = ?", (broken,)).fetchone()[0]
    damage(db_path, broken)
    async with Hub(hub_config(db_path)) as hub, aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {bob_token}"}
        async with http.get(f"{hub.url}/v1/groups/{broken}", headers=auth) as resp:
            assert resp.status == 503
        retry = f"{hub.url}/v1/admin/quarantine/{broken}/retry"
        async with http.post(retry) as resp:  # still damaged: still quarantined
            assert resp.status == 503
        with sqlite3.connect(db_path) as db:
            db.execute("UPDATE messages SET body = ? WHERE group_id = ?", (good, broken))
        async with http.post(retry) as resp:
            assert resp.status == 200
            assert (await resp.json())["head"] == 1
        assert hub.state.registry.quarantined == {}
        assert hub.state.registry.restoring == 0
        async with http.get(f"{hub.url}/v1/groups/{broken}", headers=auth) as resp:
            assert resp.status == 200


async def test_operator_endpoints_need_the_admin_token_when_one_is_set(db_path: Path) -> None:
    config = hub_config(db_path, admin_token="s3cret")
    async with Hub(config) as hub, aiohttp.ClientSession() as http:
        async with http.get(f"{hub.url}/v1/admin/quarantine") as resp:
            assert resp.status == 403
            assert (await resp.json())["error"]["code"] == "forbidden"
        auth = {"Authorization": "Bearer s3cret"}
        async with http.get(f"{hub.url}/v1/admin/quarantine", headers=auth) as resp:
            assert resp.status == 200


def open_files() -> set[str]:
    fds = Path("/proc/self/fd")
    return {os.readlink(fd) for fd in fds.iterdir() if fd.exists()}


async def test_a_start_that_fails_reports_its_own_cause_and_leaves_nothing_open(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "hub.db"
    db_path.write_bytes(b"this is not a database, " * 100)
    before = open_files()
    with pytest.raises(StoreError) as failed:
        await Hub(hub_config(db_path)).start()
    message = str(failed.value)
    assert "not a database" in message
    assert message.count("not a database") == 1
    assert not {f for f in open_files() - before if "hub.db" in f}


async def test_a_failure_after_the_store_opened_is_reported_not_the_cleanup(
    db_path: Path,
) -> None:
    await two_conversations(db_path)
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE agents SET card = 'garbage'")
    before = open_files()
    with pytest.raises(json.JSONDecodeError):  # the first cause, not a cleanup error after it
        await Hub(hub_config(db_path)).start()
    assert not {f for f in open_files() - before if "hub.db" in f}

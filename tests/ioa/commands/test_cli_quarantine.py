"""`ioa quarantine` shows the groups a hub could not restore and retries a mended one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ioa.hub import Hub
from tests.conftest import hub_config
from tests.ioa.commands.cli_kit import SECRET, aioa, stderr_lines
from tests.ioa.hub.test_quarantine import damage, two_conversations


async def test_an_operator_lists_and_retries_quarantined_groups(
    db_path: Path, tmp_path: Path
) -> None:
    broken, _, _, _ = await two_conversations(db_path)
    with sqlite3.connect(db_path) as db:
        good = db.execute("SELECT body FROM messages WHERE group_id = ?", (broken,)).fetchone()[0]
    damage(db_path, broken)
    home = tmp_path / "home"
    async with Hub(hub_config(db_path, registration_token=SECRET)) as hub:
        await hub.state.registry.restore_all()

        code, _, err = await aioa("quarantine", "--hub", hub.url, home=home)
        assert code == 2
        assert stderr_lines(err) == [
            "ioa quarantine: operator endpoints need the hub's admin token"
        ]

        code, out, err = await aioa(
            "quarantine", "--hub", hub.url, "--admin-token", SECRET, home=home
        )
        assert code == 0, err
        assert out.startswith(f"{broken}  ValidationError")
        assert out.strip().endswith("1 quarantined group(s)")

        with sqlite3.connect(db_path) as db:
            db.execute("UPDATE messages SET body = ? WHERE group_id = ?", (good, broken))
        code, out, err = await aioa(
            "quarantine", "--hub", hub.url, "--retry", broken, home=home, IOA_ADMIN_TOKEN=SECRET
        )
        assert code == 0, err
        assert out.strip() == f"{broken}: restored (head 1)"
        assert hub.state.registry.quarantined == {}

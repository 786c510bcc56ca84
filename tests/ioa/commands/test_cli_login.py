"""`ioa login` issues a token for a person; the hub-facing commands use it; `ioa logout`
forgets it."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ioa.client import HubClient
from ioa.hub import Hub
from tests.ioa.commands.cli_kit import SECRET, aioa, stderr_lines


async def test_login_stores_a_persons_token_that_agents_and_run_use_until_logout(
    hub_process: str, tmp_path: Path
) -> None:
    home, hub = tmp_path / "home", hub_process
    code, out, err = await aioa(
        "login", "--hub", hub + "/", "--name", "ada",
        "--registration-token", SECRET, home=home,
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith(f"logged in to {hub} as ada (agent ")

    config = home / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    stored = json.loads(config.read_text())
    assert stored["default_hub"] == hub
    login = stored["hubs"][hub]
    async with HubClient(hub, token=login["token"]) as client:
        me = await client.agent(login["agent_id"])
    assert (me.card.name, me.card.kind) == ("ada", "human")

    code, out, err = await aioa("agents", home=home)  # no --hub, no --token: the login's
    assert code == 0, err
    assert "ada" in out
    assert out.strip().endswith("1 agent(s)")

    code, out, err = await aioa(
        "run", "add 2 and 3", "--hub", hub, "--roster", login["agent_id"],
        "--timeout", "1", home=home,
    )  # fmt: skip
    assert out.startswith("goal "), err  # posted with ada's token; nobody works on it
    assert "no conclusion after 1 s" in out

    code, out, _ = await aioa("logout", home=home)
    assert code == 0
    assert out.startswith(f"logged out of {hub}")
    assert json.loads(config.read_text()) == {"hubs": {}}

    code, _, err = await aioa("agents", "--hub", hub, home=home)
    assert stderr_lines(err) == [
        f"ioa agents: an agent token is needed: run `ioa login --hub {hub}` once, "
        "or pass --token (or set IOA_TOKEN)"
    ]
    assert code == 2


async def test_a_refused_login_stores_nothing(guarded_hub: Hub, tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, _, err = await aioa("login", "--hub", guarded_hub.url, home=home)
    (line,) = stderr_lines(err)
    assert line.startswith("ioa login: ")
    assert code == 2
    assert not (home / "config.json").exists()


def test_logins_are_per_hub_and_written_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ioa.logins import Logins, load_logins, save_logins

    monkeypatch.setenv("IOA_HOME", str(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "config.json").chmod(0o644)  # as a careless editor might have left it
    logins = Logins.model_validate(
        {
            "default_hub": "http://b:2",
            "hubs": {
                "http://a:1": {"name": "ada", "agent_id": "a1", "token": "ta"},
                "http://b:2": {"name": "ada", "agent_id": "b1", "token": "tb"},
            },
        }
    )
    path = save_logins(logins)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_logins()
    assert again.token_for("http://a:1/") == "ta"
    assert again.token_for("http://b:2") == "tb"
    assert again.token_for("http://c:3") is None


def test_a_broken_config_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOA_HOME", str(tmp_path))
    (tmp_path / "config.json").write_text("{not json")
    from ioa.logins import LoginError, load_logins

    with pytest.raises(LoginError, match=r"config\.json is not a valid IoA config file"):
        load_logins()


async def test_dashboard_prints_the_link_that_signs_the_person_in(
    hub_process: str, tmp_path: Path
) -> None:
    home, hub = tmp_path / "home", hub_process
    code, _, err = await aioa("dashboard", "--hub", hub, home=home)
    assert code == 2
    assert "not logged in" in err
    code, _, err = await aioa(
        "login", "--hub", hub, "--name", "ada", "--registration-token", SECRET, home=home
    )
    assert code == 0, err
    code, out, err = await aioa("dashboard", home=home)
    assert code == 0, err
    token = json.loads((home / "config.json").read_text())["hubs"][hub]["token"]
    assert out.strip() == f"{hub}/#token={token}"

"""A person's logins to hubs, kept in `$IOA_HOME/config.json` so commands need no `--token`.

`ioa login` registers the person as a "human" agent on a hub and saves the token it gets here;
hub-facing commands (`ioa agents`, `ioa run --hub`...) read it when no `--token` is given, and
`ioa logout` forgets it. Tokens are per hub (a token is only good on the hub that issued it), and
the last hub logged in to is the default `--hub`. The file holds bearer tokens, so it is written
owner-only (mode 0600) and replaced atomically: a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ioa.config import ioa_home
from ioa.errors import IoAError

__all__ = [
    "CONFIG_FILE",
    "Login",
    "LoginError",
    "Logins",
    "config_path",
    "load_logins",
    "save_logins",
]

CONFIG_FILE = "config.json"


class LoginError(IoAError):
    code = "login"
    default_message = "the stored logins cannot be used"


class Login(BaseModel):
    """What a person needs to act on one hub."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """The name the person registered under."""
    agent_id: str
    """The id the hub gave the person's card."""
    token: str
    """The bearer token the hub issued for that id."""


class Logins(BaseModel):
    """The content of the config file."""

    model_config = ConfigDict(extra="ignore")

    default_hub: str | None = None
    """The hub commands use when neither `--hub` nor IOA_HUB says: the last one logged in to."""
    hubs: dict[str, Login] = Field(default_factory=dict)
    """Hub URL (without a trailing slash) → the login on it."""

    def token_for(self, hub: str) -> str | None:
        """The token stored for `hub`; for a list of hubs (one cluster, whose hubs share their
        tokens), the one stored for the list, else for any hub of it."""
        key = normalize(hub)
        for candidate in (key, *key.split(",")):
            login = self.hubs.get(candidate)
            if login is not None:
                return login.token
        return None


def normalize(hub: str) -> str:
    """One spelling per hub URL (or comma-separated list), so `http://h:1/` and `http://h:1`
    find the same login."""
    return ",".join(url.strip().rstrip("/") for url in hub.split(","))


def config_path() -> Path:
    return ioa_home() / CONFIG_FILE


def load_logins(path: Path | None = None) -> Logins:
    """The stored logins; none when the file does not exist yet."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Logins()
    except OSError as exc:
        raise LoginError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return Logins.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:
        raise LoginError(f"{path} is not a valid IoA config file: {exc}") from None


def save_logins(logins: Logins, path: Path | None = None) -> Path:
    """Write `logins` owner-only, replacing the file in one step."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(logins.model_dump_json(indent=1, exclude_none=True))
    os.chmod(temporary, 0o600)  # O_CREAT's mode is masked by the umask; this one is not
    os.replace(temporary, path)
    return path

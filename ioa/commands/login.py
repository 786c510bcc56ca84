"""`ioa login` and `ioa logout`: a token for a person, kept so other commands need no `--token`.

`ioa dashboard` prints the link that opens the hub's dashboard signed in as that person.

`ioa login` registers you with a hub as a "human" agent (an agent card of kind human, so teams
can tell you from a model) and stores the hub's URL and the token it issued in
`$IOA_HOME/config.json` (owner-only). `ioa agents`, `ioa run --hub` and `ioa agent` then find the
hub and the token there; `ioa logout` forgets them.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os

from ioa.commands._options import add_hub_options, hub_url

__all__ = ["register", "run_dashboard", "run_login", "run_logout"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    login = subparsers.add_parser(
        "login",
        help="register yourself with a hub and keep the token for the other commands",
        description="Register you with a hub as a person (an agent card of kind human) and "
        "store the hub's URL and your token in $IOA_HOME/config.json (mode 0600). Commands that "
        "talk to a hub use them when no --token is given, and that hub becomes their default.",
    )
    add_hub_options(
        login, token=False, hub_help="the hub to log in to (default: IOA_HUB, else the last one)"
    )
    login.add_argument("--name", help="your name on the hub (default: your login name)")
    login.add_argument(
        "--registration-token",
        help="the token the hub requires to register (`ioa hub --registration-token`; default: "
        "IOA_REGISTRATION_TOKEN)",
    )
    login.set_defaults(handler=run_login)

    logout = subparsers.add_parser(
        "logout",
        help="forget the token `ioa login` stored for a hub",
        description="Remove a hub's login from $IOA_HOME/config.json. The registration stays "
        "on the hub; only this machine forgets the token.",
    )
    add_hub_options(
        logout, token=False, hub_help="the hub to forget (default: the one logged in to last)"
    )
    logout.set_defaults(handler=run_logout)

    dashboard = subparsers.add_parser(
        "dashboard",
        help="print the link that opens the hub's dashboard as you (after `ioa login`)",
        description="Print the hub's dashboard address with your stored token in its fragment "
        "(`#token=...`): a browser never sends a fragment to the server, and the page moves the "
        "token into the tab's session storage at once. Anyone with the link can watch as you.",
    )
    add_hub_options(
        dashboard, token=False, hub_help="the hub (default: IOA_HUB, else the last logged in to)"
    )
    dashboard.set_defaults(handler=run_dashboard)


def run_login(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from ioa.client import HubClient
    from ioa.logins import Login, LoginError, load_logins, save_logins
    from protocols import AgentCard

    hub = hub_url(args.hub)
    name = args.name or _login_name()
    try:
        card = AgentCard(name=name, kind="human", description=f"{name}, a person using IoA")
    except ValidationError as exc:
        raise LoginError(f"--name {name!r}: {exc.errors()[0]['msg']}") from None
    registration_token = args.registration_token or os.environ.get("IOA_REGISTRATION_TOKEN")
    logins = load_logins()  # before registering: a broken file fails without side effects

    async def enrol() -> Login:
        async with HubClient(hub) as client:
            agent_id = await client.register(card, registration_token)
            return Login(name=name, agent_id=agent_id, token=str(client.token))

    login = asyncio.run(enrol())
    logins.hubs[hub] = login
    logins.default_hub = hub
    path = save_logins(logins)
    print(f"logged in to {hub} as {name} (agent {login.agent_id}); token stored in {path}")
    return 0


def run_logout(args: argparse.Namespace) -> int:
    from ioa.logins import load_logins, normalize, save_logins

    logins = load_logins()
    hub = normalize(args.hub) if args.hub else logins.default_hub
    if hub is None or hub not in logins.hubs:
        print(f"not logged in to {hub or 'any hub'}; nothing to forget")
        return 0
    del logins.hubs[hub]
    if logins.default_hub == hub:
        logins.default_hub = next(iter(logins.hubs), None)
    path = save_logins(logins)
    print(f"logged out of {hub}; {path} no longer holds its token")
    return 0


def run_dashboard(args: argparse.Namespace) -> int:
    from ioa.hub_list import HubList
    from ioa.logins import LoginError, load_logins

    hub = hub_url(args.hub)
    token = load_logins().token_for(hub)
    if token is None:
        raise LoginError(f"not logged in to {hub}: run `ioa login --hub {hub}` first")
    print(f"{HubList.parse(hub).current}/#token={token}")
    return 0


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container, say)
        return "person"

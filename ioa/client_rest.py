"""`HubRest`: the hub's REST API (registry, groups, discovery, history, goals) as calls.

A call goes to the hub in use; a hub that cannot be reached is left for the next one of the
list, so the first hub that answers takes it (a registration, say). A call whose connection
broke after it was sent is asked again elsewhere only if it is idempotent: a POST the dead hub
may have acted on is not made twice.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import urlencode

import aiohttp

from ioa.errors import IoAError
from ioa.hub_list import HubList
from protocols import AgentCard, Envelope
from protocols.frames import GroupInfo
from protocols.views import (
    AgentInfo,
    DiscoveryHit,
    GoalDone,
    GoalMessage,
    GoalStatus,
    Registration,
)

__all__ = ["ClientError", "HubRest", "HubsUnreachable", "unreachable"]

RESENDABLE = frozenset({"GET", "HEAD", "PUT", "DELETE"})
"""Methods another hub may be asked again after a connection broke mid-request (idempotent)."""


class ClientError(IoAError):
    """The hub refused a request or a message; `code` is the hub's error code."""

    code = "client_error"
    default_message = "the hub refused the request"

    def __init__(self, message: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


def _answer(status: int, text: str) -> Any:
    """A REST answer's JSON, or `ClientError` with the hub's code."""
    if status >= 400:
        try:
            err = json.loads(text)["error"]
            raise ClientError(err["message"], err["code"])
        except (ValueError, KeyError, TypeError):
            raise ClientError(f"HTTP {status}: {text[:200]}", "http_error") from None
    return json.loads(text) if text else None


class HubsUnreachable(ClientError):
    """No hub of the list answered within the client's budget."""

    code = "unreachable"
    default_message = "cannot reach the hub"


def unreachable(hubs: HubList, failures: dict[str, str]) -> HubsUnreachable:
    """One message naming every hub tried and why it failed (the first URL's wording kept for a
    single hub: `cannot reach the hub at URL: why`)."""
    if len(hubs) == 1:
        url = hubs.current
        return HubsUnreachable(f"cannot reach the hub at {url}: {failures.get(url, 'no answer')}")
    reasons = "; ".join(f"{url}: {failures.get(url, 'not tried')}" for url in hubs.urls)
    return HubsUnreachable(f"cannot reach any of the {len(hubs)} hubs: {reasons}")


class HubRest:
    """REST calls to the hubs of `url` (one URL, a sequence, or comma-separated text; a bad URL
    raises `HubUrlError` naming it), with a bearer `token`."""

    def __init__(
        self, url: str | Sequence[str], *, token: str | None = None, agent_id: str | None = None
    ) -> None:
        self.hubs = HubList.parse(url)
        """The hubs, and the one in use (`url`)."""
        self.token = token
        self.agent_id = agent_id
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        """The hub in use now."""
        return self.hubs.current

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def request(
        self, method: str, path: str, body: Any = None, *, token: str | None = None
    ) -> Any:
        """One REST call; raises `ClientError` with the hub's code on any error answer."""
        token = token or self.token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None if body is None else json.dumps(body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        failures: dict[str, str] = {}
        for _ in self.hubs.urls:
            url = self.url
            try:
                async with self._http().request(
                    method, url + path, data=data, headers=headers
                ) as resp:
                    return _answer(resp.status, await resp.text())
            except aiohttp.ClientConnectorError as exc:  # nothing sent: any hub may take it
                failures[url] = str(exc)
            except aiohttp.ClientConnectionError as exc:
                if method not in RESENDABLE:  # the hub may have acted on it: not twice
                    raise ClientError(f"lost the hub at {url}: {exc}", "unreachable") from exc
                failures[url] = str(exc) or type(exc).__name__
            self.hubs.advance()
        raise unreachable(self.hubs, failures)

    async def register(self, card: AgentCard, registration_token: str | None = None) -> str:
        """Register `card`; the client keeps the returned id and token."""
        body = await self.request(
            "POST", "/v1/agents", card.model_dump(mode="json"), token=registration_token
        )
        registration = Registration.model_validate(body)
        self.agent_id, self.token = registration.agent_id, registration.token
        return registration.agent_id

    async def agents(self, online: bool = False) -> list[AgentInfo]:
        body = await self.request("GET", "/v1/agents" + ("?online=true" if online else ""))
        return [AgentInfo.model_validate(a) for a in body["agents"]]

    async def agent(self, agent_id: str) -> AgentInfo:
        return AgentInfo.model_validate(await self.request("GET", f"/v1/agents/{agent_id}"))

    async def update_card(self, card: AgentCard) -> AgentInfo:
        body = await self.request(
            "PUT", f"/v1/agents/{self.agent_id}", card.model_dump(mode="json")
        )
        return AgentInfo.model_validate(body)

    async def deregister(self) -> None:
        await self.request("DELETE", f"/v1/agents/{self.agent_id}")

    async def heartbeat(self) -> None:
        await self.request("POST", f"/v1/agents/{self.agent_id}/heartbeat")

    async def create_group(
        self,
        members: list[str],
        name: str = "",
        protocol: str = "chat",
        meta: dict[str, Any] | None = None,
    ) -> GroupInfo:
        body = {"name": name, "members": members, "protocol": protocol, "meta": meta or {}}
        return GroupInfo.model_validate(await self.request("POST", "/v1/groups", body))

    async def discover(
        self,
        query: str,
        *,
        k: int = 5,
        tags: list[str] | None = None,
        online: bool = False,
        mode: str | None = None,
    ) -> list[DiscoveryHit]:
        """Agents ranked by how well their card matches `query`, best first. `mode` is `bm25`,
        `vector` or `hybrid`; by default the hub's (hybrid when its embedding model is ready)."""
        params = {"q": query, "k": str(k), "online": "true" if online else "false"}
        if tags:
            params["tags"] = ",".join(tags)
        if mode is not None:
            params["mode"] = mode
        body = await self.request("GET", "/v1/discover?" + urlencode(params))
        return [DiscoveryHit.model_validate(hit) for hit in body["hits"]]

    async def group(self, group_id: str) -> GroupInfo:
        return GroupInfo.model_validate(await self.request("GET", f"/v1/groups/{group_id}"))

    async def history(self, group_id: str, after: int = 0, limit: int = 500) -> list[Envelope]:
        body = await self.request(
            "GET", f"/v1/groups/{group_id}/messages?after={after}&limit={limit}"
        )
        return [Envelope.model_validate(m) for m in body["messages"]]

    async def history_pages(
        self, group_id: str, after: int = 0, limit: int = 500
    ) -> AsyncIterator[list[Envelope]]:
        """The group's stored messages after `after`, page by page in sequence order, to the end."""
        while page := await self.history(group_id, after=after, limit=limit):
            yield page
            after = page[-1].seq or after

    async def post_goal(
        self, goal: str, *, max_turns: int | None = None, roster: list[str] | None = None
    ) -> GoalStatus:
        """Give the hub a goal for a team (`roster`, or one the hub's leader forms)."""
        body: dict[str, Any] = {"goal": goal}
        if max_turns is not None:
            body["max_turns"] = max_turns
        if roster:
            body["roster"] = roster
        return GoalStatus.model_validate(await self.request("POST", "/v1/goals", body))

    async def goal(self, goal_id: str) -> GoalStatus:
        return GoalStatus.model_validate(await self.request("GET", f"/v1/goals/{goal_id}"))

    async def goal_events(self, goal_id: str) -> AsyncIterator[GoalMessage | GoalDone]:
        """Stream a goal's progress: a `GoalMessage` per message of its groups, then `GoalDone`."""
        headers = {"Authorization": f"Bearer {self.token}"}
        url = f"{self.url}/v1/goals/{goal_id}/events"
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with self._http().get(url, headers=headers, timeout=timeout) as resp:
            if resp.status >= 400:
                raise ClientError(f"HTTP {resp.status} streaming goal {goal_id}", "http_error")
            kind = "message"
            async for raw in resp.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                    if kind == "done":
                        yield GoalDone(goal=GoalStatus.model_validate_json(data))
                    else:
                        yield GoalMessage(envelope=Envelope.model_validate_json(data))

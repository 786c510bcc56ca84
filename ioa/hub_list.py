"""`HubList`: the hubs a client may use — one URL, or several hubs of one cluster, in turn.

Hubs on one shared store serve the same agents with the same token, so a client that loses its
hub (or never reaches it) goes on with the next one and resumes from its per-group cursors,
which any hub replays from the store. People write the list as on a command line,
`http://a:8765,http://b:8765`; it is checked whole before anything connects, so a typo is
reported naming the bad URL, not later as a connection failure.

The client starts with the first URL: spreading agents over hubs is a load balancer's (or DNS
round robin's) job, and a fixed order keeps "registration goes to the first hub that answers"
predictable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ioa.errors import IoAError

__all__ = ["HubList", "HubUrlError", "check_hub_url", "parse_hub_urls"]

SEPARATOR = ","


class HubUrlError(IoAError):
    """A hub URL (or a list of them) that cannot be used; the message names the bad one."""

    code = "bad_hub_url"
    default_message = "not a hub URL"


def check_hub_url(text: str) -> str:
    """`text` as one spelling of a hub URL (no trailing slash), or `HubUrlError` naming it."""
    url = text.strip().rstrip("/")
    if not url:
        raise HubUrlError("empty hub URL")
    if any(c.isspace() for c in url):
        raise HubUrlError(f"bad hub URL {text.strip()!r}: it contains a space")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise HubUrlError(f"bad hub URL {url!r}: it must start with http:// or https://")
    if not parts.hostname:
        raise HubUrlError(f"bad hub URL {url!r}: it names no host")
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise HubUrlError(f"bad hub URL {url!r}: bad port") from None
    if parts.username is not None or parts.password is not None:
        raise HubUrlError(f"bad hub URL {url!r}: credentials go in the token, not the URL")
    if parts.query or parts.fragment:
        raise HubUrlError(f"bad hub URL {url!r}: it has a query or a fragment")
    return url


def parse_hub_urls(given: str | Sequence[str]) -> tuple[str, ...]:
    """Every URL of `given` (comma-separated text, or a sequence of URLs), checked, in order,
    each once."""
    items = given.split(SEPARATOR) if isinstance(given, str) else list(given)
    if not items or all(not item.strip() for item in items):
        raise HubUrlError("no hub URL given")
    urls: list[str] = []
    for item in items:
        if not item.strip():
            raise HubUrlError(f"empty hub URL in the list {SEPARATOR.join(items)!r}")
        url = check_hub_url(item)
        if url not in urls:
            urls.append(url)
    return tuple(urls)


@dataclass
class HubList:
    """The hubs, and which one the client uses now."""

    urls: tuple[str, ...]
    """Checked URLs, in the order given; never empty."""
    index: int = 0
    """Position of the hub in use."""

    @classmethod
    def parse(cls, given: str | Sequence[str]) -> HubList:
        return cls(parse_hub_urls(given))

    @property
    def current(self) -> str:
        return self.urls[self.index]

    def advance(self) -> str:
        """Move to the next hub (back to the first after the last); its URL."""
        self.index = (self.index + 1) % len(self.urls)
        return self.current

    def __len__(self) -> int:
        return len(self.urls)

    def __str__(self) -> str:
        return SEPARATOR.join(self.urls)

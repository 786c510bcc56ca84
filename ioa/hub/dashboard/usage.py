"""Model use as the dashboard shows it: agents' usage reports summed per agent and per goal.

Each stored message may carry its sender's report (`Envelope.usage`, bounded at the edge). The
tally hands every counted message that has one to `UsageBook.count`, which adds it to the
sender's ledger, its group's, and (when the group works for a goal: its meta's `goal_id`, which
sub-teams inherit) the goal's and the goal's ledger of that sender. As for every other count,
this runs only while a page watches, or when someone looks (the tally reads the store back): the
reports are in the stored messages, so a restarted hub finds them again.

A sum saturates at 2**53, where JSON numbers stop being exact in a browser: however many
messages a hostile agent sends, a figure it inflates stays a number the page can show, and
other agents' figures are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ioa.config import HubConfig, TokenPrice
from protocols.usage import USAGE, Part, Spend, Sums, Where

PARTS: tuple[Part, ...] = ("coordination", "work")
WHERES: tuple[Where, ...] = ("local", "cloud")
MARK = ',"usage":'
"""What precedes a stored envelope's report, its last field."""


def usage_of(body: str) -> tuple[Spend, ...]:
    """The report a stored envelope carries; none if it has none (or a damaged one).

    Only the tail after the last `MARK` is parsed (a fifth of the cost of the whole body). A
    payload may hold the same text in its own data, but then more than the envelope's one
    closing brace follows the list and the tail is no JSON list: refused, never misread.
    """
    at = body.rfind(MARK)
    if at < 0:
        return ()
    try:
        return USAGE.validate_json(body[at + len(MARK) : -1])
    except ValidationError:
        return ()


def line_cost(sums: Sums, price: TokenPrice) -> float:
    return (sums.prompt * price.prompt + sums.generated * price.generated) / 1000


def figures(sums: Sums) -> dict[str, Any]:
    """A line as the page shows it."""
    return {
        "calls": sums.calls,
        "prompt": sums.prompt,
        "evaluated": sums.evaluated,
        "generated": sums.generated,
        "tokens": sums.tokens,
        "seconds": round(sums.seconds, 3),
    }


@dataclass(frozen=True, slots=True)
class Prices:
    """The hub's configured prices (`price_local`, `price_cloud`); none: no cost is shown."""

    local: TokenPrice | None = None
    cloud: TokenPrice | None = None

    @classmethod
    def of(cls, config: HubConfig) -> Prices:
        return cls(config.price_local, config.price_cloud)

    @property
    def any(self) -> bool:
        return self.local is not None or self.cloud is not None

    def view(self) -> dict[str, Any] | None:
        if not self.any:
            return None
        return {
            where: price.model_dump() if price is not None else None
            for where, price in (("local", self.local), ("cloud", self.cloud))
        }


@dataclass(slots=True)
class Ledger:
    """One agent's, group's or goal's model use, by part (coordination, work) and where."""

    lines: dict[tuple[Part, Where], Sums] = field(default_factory=dict)

    def add(self, spends: tuple[Spend, ...]) -> None:
        for spend in spends:
            line = self.lines.get(spend.key)
            if line is None:
                line = self.lines[spend.key] = Sums()
            line.add(spend)

    def sum(self, part: Part | None = None, where: Where | None = None) -> Sums:
        total = Sums()
        for (p, w), line in self.lines.items():
            if (part is None or p == part) and (where is None or w == where):
                total.add(line)
        return total

    def cost(self, prices: Prices) -> float | None:
        """What the priced sides cost; None when no price is configured."""
        if not prices.any:
            return None
        cost = 0.0
        for where, price in zip(WHERES, (prices.local, prices.cloud), strict=True):
            if price is not None:
                cost += line_cost(self.sum(where=where), price)
        return round(cost, 6)

    def summary(self, prices: Prices) -> dict[str, Any]:
        """One row's worth: the totals, and tokens per part and per side."""
        return figures(self.sum()) | {
            "coordination": self.sum(part="coordination").tokens,
            "work": self.sum(part="work").tokens,
            "local": self.sum(where="local").tokens,
            "cloud": self.sum(where="cloud").tokens,
            "cost": self.cost(prices),
        }

    def view(self, prices: Prices) -> dict[str, Any]:
        """Everything: each part × side, each part, each side, the total, the cost."""
        return {
            "lines": [
                {"part": p, "where": w} | figures(self.lines[(p, w)])
                for p in PARTS
                for w in WHERES
                if (p, w) in self.lines
            ],
            "parts": {p: figures(self.sum(part=p)) for p in PARTS},
            "sides": {w: figures(self.sum(where=w)) for w in WHERES},
            "total": figures(self.sum()),
            "cost": self.cost(prices),
        }


class UsageBook:
    """Every ledger the dashboard shows; filled by the tally, message by message."""

    def __init__(self) -> None:
        self.total = Ledger()
        self.agents: dict[str, Ledger] = {}
        self.groups: dict[str, Ledger] = {}
        self.goals: dict[str, Ledger] = {}
        self.goal_agents: dict[str, dict[str, Ledger]] = {}
        """goal id → agent id → what that agent spent on the goal."""

    def count(
        self, sender: str, group_id: str, goal_id: str | None, spends: tuple[Spend, ...]
    ) -> None:
        self.total.add(spends)
        _ledger(self.agents, sender).add(spends)
        _ledger(self.groups, group_id).add(spends)
        if goal_id is not None:
            _ledger(self.goals, goal_id).add(spends)
            _ledger(self.goal_agents.setdefault(goal_id, {}), sender).add(spends)


def _ledger(ledgers: dict[str, Ledger], key: str) -> Ledger:
    found = ledgers.get(key)
    if found is None:
        found = ledgers[key] = Ledger()
    return found

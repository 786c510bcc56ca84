"""`ioa agent`'s edge–cloud options: a remote model alone, or a local one that escalates to it.

`--model openai:MODEL@URL` thinks with the remote model only; `--model GGUF --remote
openai:MODEL@URL` thinks locally and escalates by the cascade's policy (`ioa.llm.cascade`).
"""

from __future__ import annotations

import argparse
from contextlib import AsyncExitStack
from typing import Any

from ioa.commands._options import at_least

__all__ = ["add_remote_options", "open_brain"]


def _price(text: str) -> tuple[float, float]:
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not IN,OUT prices: {text!r}") from None
    if len(parts) != 2 or min(parts) < 0:
        raise argparse.ArgumentTypeError(f"give two prices, IN,OUT, each >= 0: {text!r}")
    return parts[0], parts[1]


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, not {text}")
    return value


def add_remote_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "edge-cloud", "a remote OpenAI-compatible model (--model openai:MODEL@URL uses it alone)"
    )
    group.add_argument(
        "--remote",
        metavar="openai:MODEL@URL",
        help="think with the local --model first, escalate to this model by the cascade policy",
    )
    group.add_argument(
        "--remote-key-env",
        default="OPENAI_API_KEY",
        metavar="NAME",
        help="environment variable holding the remote's API key (default OPENAI_API_KEY)",
    )
    group.add_argument(
        "--remote-price",
        type=_price,
        default=(0.0, 0.0),
        metavar="IN,OUT",
        help="price of a million prompt and completion tokens, for cost accounting",
    )
    group.add_argument(
        "--remote-timeout",
        type=_non_negative,
        default=60.0,
        metavar="S",
        help="seconds one remote request may take (default 60)",
    )
    group.add_argument(
        "--remote-budget-tokens",
        type=at_least(0),
        metavar="N",
        help="remote tokens one goal may use; then the agent stays local",
    )
    group.add_argument(
        "--remote-budget-cost",
        type=_non_negative,
        metavar="X",
        help="remote cost one goal may use; then the agent stays local",
    )
    group.add_argument(
        "--min-margin",
        type=_non_negative,
        default=0.5,
        metavar="F",
        help="escalate a likelihood choice whose winner leads by less (default 0.5)",
    )


async def open_brain(args: argparse.Namespace, card: Any, stack: AsyncExitStack) -> Any:
    """The brain `ioa agent` thinks with: local, remote or a cascade, its engines on `stack`."""
    from agents.llm_brain import LLMBrain
    from ioa.llm import load_engine
    from ioa.llm.remote import PREFIX, RemoteEngine, parse_endpoint

    settings = {
        "key_env": args.remote_key_env,
        "price_in": args.remote_price[0],
        "price_out": args.remote_price[1],
        "timeout": args.remote_timeout,
    }
    model = args.model
    if model is not None and model.startswith(PREFIX):
        if args.remote is not None:
            raise _setup_error("--remote escalates from a local --model GGUF, not from a remote")
        remote = await stack.enter_async_context(RemoteEngine(parse_endpoint(model, **settings)))
        return LLMBrain(remote)
    local = await stack.enter_async_context(await load_engine(model, n_threads=args.threads))
    if args.remote is None:
        return LLMBrain(local)
    from agents.cascade import CascadeBrain, hard_terms
    from ioa.llm.cascade import CascadeEngine, EscalationPolicy

    remote = await stack.enter_async_context(RemoteEngine(parse_endpoint(args.remote, **settings)))
    policy = EscalationPolicy(
        min_margin=args.min_margin,
        budget_tokens=args.remote_budget_tokens,
        budget_cost=args.remote_budget_cost,
    )
    return CascadeBrain(CascadeEngine(local, remote, policy), hard=hard_terms(card))


def _setup_error(message: str) -> Exception:
    from ioa.commands.agent import AgentSetupError

    return AgentSetupError(message)

"""`ioa schema`: print the JSON Schema of the wire format."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of the wire format",
        description="Print one JSON Schema document describing the agent card, the envelope, "
        "every message payload and every WebSocket frame.",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from protocols.schema import wire_schema

    print(json.dumps(wire_schema(), indent=2))
    return 0

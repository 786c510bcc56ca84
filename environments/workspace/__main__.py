"""`python -m environments.workspace [--isolation auto|namespaces|none] [--json]`: print what
the sandbox enforces on this machine, in the default mode or the one named."""

from __future__ import annotations

import argparse
import json
import sys

from .sandbox import Sandbox


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m environments.workspace")
    parser.add_argument("--isolation", choices=("auto", "namespaces", "none"), default="auto")
    parser.add_argument("--json", action="store_true", help="the report as JSON")
    args = parser.parse_args(argv)
    caps = Sandbox(isolation=args.isolation).capabilities()
    print(json.dumps(caps.to_dict(), indent=2) if args.json else caps.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

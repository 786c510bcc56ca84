"""`python -m environments.workspace`: print what the sandbox enforces on this machine."""

from __future__ import annotations

import json
import sys

from .sandbox import Sandbox


def main(argv: list[str]) -> int:
    caps = Sandbox().capabilities()
    print(json.dumps(caps.to_dict(), indent=2) if "--json" in argv else caps.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

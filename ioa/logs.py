"""How the `ioa` command's logs look and how much of them shows: configured once, by `ioa.cli`.

Library code only ever calls `logging.getLogger(...)`; deciding where records go and how loud
they are belongs to whoever runs the process. Services (`ioa hub`, `ioa agent`) show what they
do at INFO by default; the other commands show only warnings, so a goal's live transcript is not
buried. Each `-v` makes it one level louder, each `-q` one level quieter.
"""

from __future__ import annotations

import logging

__all__ = ["FORMAT", "configure", "level_for"]

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_STEP = logging.INFO - logging.DEBUG


def level_for(default: int, verbosity: int) -> int:
    """`default` moved by `verbosity` steps (+1 per `-v`, -1 per `-q`), within DEBUG..CRITICAL."""
    return max(logging.DEBUG, min(logging.CRITICAL, default - verbosity * _STEP))


def configure(level: int) -> None:
    """Send every log record at `level` or above to stderr, one line each.

    `force=True`: the process has one place that decides this, and a second call (a test running
    the command twice in one process) must not leave the first configuration behind.
    """
    logging.basicConfig(level=level, format=FORMAT, force=True)

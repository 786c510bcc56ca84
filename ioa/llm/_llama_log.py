"""llama.cpp's log, routed into Python `logging` and readable by the code that caused it.

llama.cpp explains a failed load only in its log ("key not found in model: ...", "unknown model
architecture: ..."); llama-cpp-python then raises a bare "Failed to load model". Installing our own
log callback lets the engine put the reason into the typed error, and keeps llama.cpp from writing
to the terminal: its messages go to the `ioa.llm.llama_cpp` logger (silent unless configured).
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import llama_cpp

__all__ = ["capture_log"]

logger = logging.getLogger("ioa.llm.llama_cpp")
logger.addHandler(logging.NullHandler())

_LEVELS = {1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
"""ggml_log_level; 5 (CONT) continues the previous message at its level."""
_local = threading.local()


def _log(level: int, text: bytes | None, _user_data: ctypes.c_void_p) -> None:
    message = (text or b"").decode("utf-8", errors="replace")
    lines: list[str] | None = getattr(_local, "lines", None)
    if lines is not None:
        lines.append(message)
    if level != 5:
        _local.level = _LEVELS.get(level, logging.DEBUG)
    if message.strip():
        logger.log(getattr(_local, "level", logging.DEBUG), "%s", message.rstrip())


_CALLBACK = llama_cpp.llama_log_callback(_log)
"""Kept referenced for the life of the process: llama.cpp holds the raw pointer."""
llama_cpp.llama_log_set(_CALLBACK, ctypes.c_void_p(0))


@contextmanager
def capture_log() -> Iterator[list[str]]:
    """Collect what llama.cpp logs from this thread while the block runs."""
    previous = getattr(_local, "lines", None)
    lines: list[str] = []
    _local.lines = lines
    try:
        yield lines
    finally:
        _local.lines = previous


def last_error(lines: list[str]) -> str:
    """The most telling line of a captured log: the last error, else the last failure."""
    text = "".join(lines).splitlines()
    for words in (("error",), ("failed", "not found", "invalid")):
        hits = [line.strip() for line in text if any(w in line.lower() for w in words)]
        if hits:
            return hits[-1].rsplit("error loading model: ", 1)[-1]
    return text[-1].strip() if text else "no reason given"

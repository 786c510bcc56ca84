"""`ModelWorker`: the one thread that touches a loaded model.

llama.cpp contexts are not thread-safe, so every operation on a model (load, prompt preparation,
scoring, close) is a job run by this thread in arrival order, and between jobs the thread runs the
model's decode passes (`BatchDecoder.step`) for as long as any sequence is active. A job never
waits for a pass and a pass never waits for a job: both happen on this thread, one after the other.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ioa.llm.errors import EngineClosed

__all__ = ["ModelWorker"]

Step = Callable[[], bool]
"""One decode pass; returns whether there is more work (active or admissible sequences)."""


class ModelWorker:
    def __init__(self, name: str = "ioa-llm") -> None:
        self._jobs: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = deque()
        self._wakeup = threading.Condition()
        self._step: Step | None = None
        self._busy = False
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run `fn(*args)` on the worker thread; raises `EngineClosed` after `shutdown`."""
        future: Future[Any] = Future()
        with self._wakeup:
            if self._stopping:
                raise EngineClosed()
            self._jobs.append((future, fn, args))
            self._wakeup.notify()
        return future

    def set_step(self, step: Step | None) -> None:
        """Install the decode pass (called from a job, so on the worker thread)."""
        self._step = step

    def wake(self) -> None:
        """Run a pass soon: new work for the decoder arrived from another thread."""
        with self._wakeup:
            self._busy = True
            self._wakeup.notify()

    def shutdown(self) -> None:
        """Stop after the queued jobs; the thread exits on its own (it is a daemon)."""
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify()

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._jobs and not self._busy and not self._stopping:
                    self._wakeup.wait()
                if self._stopping and not self._jobs:
                    return
                jobs = list(self._jobs)
                self._jobs.clear()
                self._busy = False
            for future, fn, args in jobs:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn(*args))
                    except BaseException as exc:  # handed to the awaiting caller
                        future.set_exception(exc)
            step = self._step
            if step is not None and step():
                with self._wakeup:
                    self._busy = True

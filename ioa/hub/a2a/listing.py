"""`ListTasks`: a caller's tasks, filtered, newest first, one page at a time.

Kept apart from the server because it is pure (no request, no I/O) and has rules of its own:
the page token is an opaque cursor (the last listed task's update time and id), so a page
starts right after the task the previous one ended on even when tasks were added or updated
between the calls; a token this hub did not give is refused as `InvalidParams`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import datetime

from ioa.hub.a2a.errors import InvalidParams
from ioa.hub.a2a.record import A2ATask, Shape
from ioa.hub.a2a.wire import ListTasksRequest, ListTasksResponse

__all__ = ["tasks_page"]


def tasks_page(tasks: Iterable[A2ATask], owner: str, params: ListTasksRequest) -> ListTasksResponse:
    """The page of `owner`'s tasks that `params` asks for (50 a page unless it says)."""
    after = _since(params.status_timestamp_after)
    chosen = [
        t
        for t in tasks
        if t.owner == owner
        and t.shape is Shape.TASK
        and (params.context_id is None or t.context_id == params.context_id)
        and (params.status is None or t.state is params.status)
        and (after is None or t.updated > after)
    ]
    chosen.sort(key=lambda t: (-t.updated, t.id))
    start = _page_start(params.page_token, chosen)
    size = params.page_size or 50
    page = chosen[start : start + size]
    more = start + size < len(chosen)
    return ListTasksResponse(
        tasks=[t.snapshot(params.history_length, bool(params.include_artifacts)) for t in page],
        next_page_token=_token(page[-1]) if more and page else "",
        page_size=size,
        total_size=len(chosen),
    )


def _token(task: A2ATask) -> str:
    return base64.urlsafe_b64encode(f"{task.updated!r}|{task.id}".encode()).decode()


def _page_start(token: str | None, tasks: list[A2ATask]) -> int:
    """The index after the task a page token names (tasks are newest first)."""
    if not token:
        return 0
    try:
        stamp, _, task_id = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
        key = (-float(stamp), task_id)
    except ValueError:
        raise InvalidParams("pageToken is not a token this hub gave") from None
    return next((i for i, t in enumerate(tasks) if (-t.updated, t.id) > key), len(tasks))


def _since(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidParams("statusTimestampAfter is not an RFC 3339 time") from None

"""Runs over REST: the result folders of benchmarks and experiments, read only, for people.

    GET /v1/dashboard/runs                           → {"roots", "runs", "truncated"}
    GET /v1/dashboard/runs/detail?root=I&path=P      → summary, notes, tables, plots, transcripts
    GET /v1/dashboard/runs/file?root=I&path=P        → one file (text, JSON or PNG), as is

`root` indexes the hub's runs folders (`ioa hub --runs DIR`, default `./runs` and
`$IOA_HOME/runs`); `path` is relative to it, checked by `run_files.resolve` (no `..`, no
absolute path, no symlink out). Like the rest of the dashboard, each needs a person's token.
Nothing is read until a page asks, and the reading runs in a worker thread, never on the loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from ioa.hub.dashboard import run_files
from ioa.hub.dashboard.access import watcher
from ioa.hub.errors import InvalidRequest
from ioa.hub.rest import int_query, json_ok
from ioa.hub.state import STATE

FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "no-store",
}
"""A run's file is data: never sniffed into markup, never run if opened on its own."""


def _roots(request: web.Request) -> list[Path]:
    return list(request.app[STATE].config.runs)


def _target(request: web.Request) -> tuple[Path, str]:
    roots = _roots(request)
    if not roots:
        raise InvalidRequest("the hub has no runs folder (ioa hub --runs DIR)")
    index = int_query(request, "root", 0, 0, len(roots) - 1)
    return roots[index], request.query.get("path", "")


async def runs(request: web.Request) -> web.Response:
    """Every run under the runs folders, newest first."""
    watcher(request)
    return json_ok(await asyncio.to_thread(run_files.listing, _roots(request)))


async def detail(request: web.Request) -> web.Response:
    watcher(request)
    root, path = _target(request)
    if not path:
        raise InvalidRequest("name the run: query parameter 'path'")
    body = await asyncio.to_thread(run_files.read_run, root, path)
    return json_ok(body | {"root": int_query(request, "root", 0, 0, 10**6)})


async def file(request: web.Request) -> web.Response:
    watcher(request)
    root, path = _target(request)
    data, content_type = await asyncio.to_thread(run_files.read_file, root, path)
    charset = None if content_type == "image/png" else "utf-8"
    return web.Response(body=data, content_type=content_type, charset=charset, headers=FILE_HEADERS)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/dashboard/runs", runs)
    app.router.add_get("/v1/dashboard/runs/detail", detail)
    app.router.add_get("/v1/dashboard/runs/file", file)

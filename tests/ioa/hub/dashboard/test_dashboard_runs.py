"""Runs over the dashboard's REST: result folders written by real `ioa bench roco` and `ioa lab`
commands are listed with their tables, plots and transcripts; paths out of the runs folder
(`..`, absolute, symlinks, encoded) are refused, huge files are refused from their size."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from ioa.hub import Hub
from ioa.hub.dashboard.run_files import MAX_FILE, MAX_JSON
from tests.conftest import hub_config
from tests.ioa.hub.adversarial.wire import Reply, http

ADMIN = "operator-token"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def runs_hub(db_path: Path, bench_runs: Path) -> AsyncIterator[Hub]:
    async with Hub(hub_config(db_path, admin_token=ADMIN, runs=[bench_runs])) as hub:
        yield hub


async def get(hub: Hub, endpoint: str, **query: Any) -> Reply:
    if query:
        endpoint += "?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in query.items())
    return await http(hub, "GET", endpoint, token=ADMIN)


async def test_a_real_bench_and_lab_are_listed_with_tables_plots_and_transcripts(
    runs_hub: Hub, bench_runs: Path
) -> None:
    listing = (await get(runs_hub, "/v1/dashboard/runs")).json()
    assert listing["roots"] == [{"root": 0, "path": str(bench_runs), "exists": True}]
    found = {r["path"]: r["kind"] for r in listing["runs"]}
    assert found == {"roco/20250101-120000": "roco", "lab/tiny": "lab"}

    roco = await get(runs_hub, "/v1/dashboard/runs/detail", root=0, path="roco/20250101-120000")
    body = roco.json()
    assert body["summary"]["suite"] == "roco"
    tables = {t["name"]: t for t in body["tables"]}
    summaries = tables["summaries"]
    task, mode, success = (summaries["columns"].index(c) for c in ("task", "mode", "success"))
    assert {(r[task], r[mode]): r[success] for r in summaries["rows"]} == {
        ("sort", "oracle"): 1.0, ("sort", "random"): 0.0,
        ("cabinet", "oracle"): 1.0, ("cabinet", "random"): 0.0,
    }  # fmt: skip
    names = {t["name"] for t in body["transcripts"]}
    assert names == {f"{t}-{m}-seed0" for t in ("sort", "cabinet") for m in ("oracle", "random")}
    episodes = tables["episodes"]
    assert all(link and link.endswith(".txt") for link in episodes["transcripts"])
    assert [p["name"] for p in body["plots"]] == ["results.png"]

    text = await get(runs_hub, "/v1/dashboard/runs/file", root=0, path=episodes["transcripts"][0])
    assert text.status == 200
    assert text.headers["content-type"].startswith("text/plain")
    assert text.headers["x-content-type-options"] == "nosniff"
    assert b"=== " in text.body
    png = await get(runs_hub, "/v1/dashboard/runs/file", root=0, path=body["plots"][0]["path"])
    assert png.headers["content-type"] == "image/png"
    assert png.body.startswith(PNG)

    lab = (await get(runs_hub, "/v1/dashboard/runs/detail", root=0, path="lab/tiny")).json()
    tables = {t["name"]: t for t in lab["tables"]}
    assert lab["summary"]["finished"] == lab["summary"]["cells"] == 4
    assert len(tables["cells"]["rows"]) == 4
    assert all(tables["cells"]["transcripts"])  # each cell's id names its transcript
    assert {p["name"] for p in lab["plots"]} == {"success_steps.png", "tokens.png"}


@pytest.fixture
async def trap(db_path: Path, tmp_path: Path) -> AsyncIterator[tuple[Hub, Path]]:
    """A runs folder with one honest run and every trap: links out, huge files, a hub DB."""
    runs, outside = tmp_path / "runs", tmp_path / "outside"
    run = runs / "lab" / "honest"
    (run / "transcripts").mkdir(parents=True)
    (run / "results.json").write_text('{"result": {"cells": 1}, "rows": [{"a": 1}]}')
    (run / "transcripts" / "cell.txt").write_text("hello")
    (run / "hub.db").write_bytes(b"SQLite format 3\x00")
    (run / "page.html").write_text("<script>alert(1)</script>")
    (outside / "secret").mkdir(parents=True)
    (outside / "secret" / "results.json").write_text('{"result": {"secret": 1}}')
    (outside / "secret.txt").write_text("secret")
    (run / "leak.txt").symlink_to(outside / "secret.txt")
    (runs / "linked").symlink_to(outside)
    with (run / "big.txt").open("wb") as big:  # sparse: 5 GB on paper, nothing on disk
        big.truncate(5 * 1024**3)
    huge = runs / "huge"
    huge.mkdir()
    with (huge / "results.json").open("wb") as results:
        results.truncate(MAX_JSON + 1)
    async with Hub(hub_config(db_path, admin_token=ADMIN, runs=[runs])) as hub:
        yield hub, runs


BAD_PATHS = {
    "parent": "../outside/secret.txt",
    "parent inside": "lab/../../outside/secret.txt",
    "absolute": "/etc/passwd",
    "absolute into the folder": "RUNS/lab/honest/transcripts/cell.txt",
    "empty part": "lab//honest/transcripts/cell.txt",
    "dot part": "lab/./honest/transcripts/cell.txt",
    "backslash": "lab\\..\\..\\outside",
    "nul": "lab/honest/cell.txt\x00.png",
    "too long": "a/" * 600,
}


@pytest.mark.parametrize("bad", list(BAD_PATHS.values()), ids=list(BAD_PATHS))
async def test_a_path_out_of_the_runs_folder_is_refused(trap: tuple[Hub, Path], bad: str) -> None:
    hub, runs = trap
    bad = bad.replace("RUNS", str(runs))
    for endpoint in ("/v1/dashboard/runs/file", "/v1/dashboard/runs/detail"):
        reply = await get(hub, endpoint, root=0, path=bad)
        assert (reply.status, reply.code) == (400, "invalid_request"), reply.body


async def test_a_raw_encoded_traversal_is_refused_too(trap: tuple[Hub, Path]) -> None:
    hub, _ = trap
    for raw in ("%2e%2e%2foutside%2fsecret.txt", "..%2Foutside%2Fsecret.txt", "%2Fetc%2Fpasswd"):
        reply = await http(hub, "GET", f"/v1/dashboard/runs/file?root=0&path={raw}", token=ADMIN)
        assert (reply.status, reply.code) == (400, "invalid_request")
    reply = await http(hub, "GET", "/v1/dashboard/runs/../../etc/passwd", token=ADMIN)
    assert reply.status == 404
    assert b"root:" not in reply.body


async def test_symlinks_out_are_refused_and_never_followed_in_a_listing(
    trap: tuple[Hub, Path],
) -> None:
    hub, _ = trap
    listed = (await get(hub, "/v1/dashboard/runs")).json()["runs"]
    assert {r["path"] for r in listed} == {"lab/honest", "huge"}  # not linked/secret
    for path in ("lab/honest/leak.txt", "linked/secret.txt", "linked/secret/results.json"):
        reply = await get(hub, "/v1/dashboard/runs/file", root=0, path=path)
        assert (reply.status, reply.code) == (403, "forbidden")
        assert b"secret" not in reply.body.replace(path.encode(), b"")
    reply = await get(hub, "/v1/dashboard/runs/detail", root=0, path="linked/secret")
    assert (reply.status, reply.code) == (403, "forbidden")


async def test_huge_files_are_refused_from_their_size(trap: tuple[Hub, Path]) -> None:
    hub, _ = trap
    big = await get(hub, "/v1/dashboard/runs/file", root=0, path="lab/honest/big.txt")
    assert (big.status, big.code) == (413, "file_too_large")
    assert str(MAX_FILE) in big.json()["error"]["message"]
    huge = (await get(hub, "/v1/dashboard/runs/detail", root=0, path="huge")).json()
    assert huge["tables"] == []
    assert "results.json is" in huge["problems"][0]


async def test_only_text_json_and_png_are_served_and_never_as_markup(
    trap: tuple[Hub, Path],
) -> None:
    hub, _ = trap
    for path in ("lab/honest/hub.db", "lab/honest/page.html", "lab/honest", "lab/nothing.txt"):
        reply = await get(hub, "/v1/dashboard/runs/file", root=0, path=path)
        assert (reply.status, reply.code) == (404, "not_found"), path
    ok = await get(hub, "/v1/dashboard/runs/file", root=0, path="lab/honest/transcripts/cell.txt")
    assert ok.body == b"hello"
    assert "sandbox" in ok.headers["content-security-policy"]


@pytest.mark.parametrize("root", ["1", "-1", "abc", "99999999999999999999"])
async def test_an_unknown_runs_folder_is_refused(trap: tuple[Hub, Path], root: str) -> None:
    hub, _ = trap
    reply = await http(
        hub, "GET", f"/v1/dashboard/runs/detail?root={root}&path=lab/honest", token=ADMIN
    )
    assert (reply.status, reply.code) == (400, "invalid_request")


async def test_missing_runs_folders_are_listed_as_missing(db_path: Path, tmp_path: Path) -> None:
    missing = tmp_path / "not-yet"
    async with Hub(hub_config(db_path, admin_token=ADMIN, runs=[missing])) as hub:
        listing = (await get(hub, "/v1/dashboard/runs")).json()
    assert listing == {
        "roots": [{"root": 0, "path": str(missing), "exists": False}],
        "runs": [],
        "truncated": False,
    }
    assert not missing.exists()

"""Sandbox overhead per hello-world run: our jail against bubblewrap, beside a bare interpreter.

Three ways to run the same `print('hello')` in the same workspace, interleaved round by round
so a busy machine slows all three alike:

- `bare`: the interpreter with the sandbox's flags, no isolation at all;
- `jail`: `Sandbox.run`, the call the software company makes (namespaces, allow-list view on a
  per-run tmpfs, copy in and out, seccomp, limits, the verdict);
- `bwrap`: Debian's bubblewrap with the closest view it can build (new namespaces, /usr and the
  interpreter read-only, a size-limited /tmp, the workspace bound read-write, user namespaces
  disabled), if `bwrap` is installed. It does not copy the workspace (so it cannot bound it),
  set limits or judge the run; its time is a lower bound for a bubblewrap-based sandbox.

Overhead is the median minus the bare median. Ends with one `RESULT {json}` line.

    python benchmarks/sandbox_startup.py [--rounds 21]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from environments.workspace import Sandbox, Workspace
from environments.workspace._launch import interpreter_roots, python_flags


def _bwrap_argv(bwrap: str, python: str, root: Path) -> list[str]:
    argv = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent"]
    argv += ["--new-session", "--cap-drop", "ALL", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin"):
        path = f"/{name}"
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
    for path in interpreter_roots(python):
        argv += ["--ro-bind", path, path]
    argv += [
        "--ro-bind",
        "/etc/ld.so.cache",
        "/etc/ld.so.cache",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
    ]
    argv += ["--size", str(64 << 20), "--tmpfs", "/tmp", "--bind", str(root), str(root)]
    return [*argv, "--chdir", str(root), "--", python, *python_flags(True), "main.py"]


def _time(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    sandbox = Sandbox()
    caps = sandbox.capabilities()
    folder = Path(tempfile.mkdtemp(prefix="ioa-bench-sandbox-"))
    try:
        workspace = Workspace(folder / "ws")
        workspace.write("main.py", "print('hello')\n")
        bare = [sandbox.python, *python_flags(True), "main.py"]
        ways: dict[str, Callable[[], object]] = {
            "bare": lambda: subprocess.run(bare, cwd=workspace.root, capture_output=True),
            "jail": lambda: sandbox.run(workspace),
        }
        bwrap = shutil.which("bwrap")
        if bwrap:
            argv = _bwrap_argv(bwrap, sandbox.python, workspace.root)
            check = subprocess.run(argv, capture_output=True, check=False)
            if check.stdout == b"hello\n":
                ways["bwrap"] = lambda: subprocess.run(argv, capture_output=True)
        for run in ways.values():
            run()
        times: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, run in ways.items():
                times[name].append(_time(run))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        extra = "" if name == "bare" else f"  (overhead {value - medians['bare']:.0f} ms)"
        print(f"{name:6} {value:7.1f} ms per hello-world run{extra}")
    result = {
        "isolation": caps.mode,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        **{f"{name}_ms": round(value, 1) for name, value in medians.items()},
        **{
            f"{name}_overhead_ms": round(value - medians["bare"], 1)
            for name, value in medians.items()
            if name != "bare"
        },
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()

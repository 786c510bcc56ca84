"""Measure which isolation works here by running a tiny program through the real launcher.

The probe program reports its PID (2 inside a PID namespace), the network interfaces it sees
(only `lo` inside an empty network namespace) and whether it could create a file outside its
workspace; the probe then checks the host side for that file.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from ._cgroup import PidsCgroup
from ._launch import launch, python_flags
from .capabilities import Capabilities, caveats
from .errors import SandboxError, SandboxUnavailable
from .limits import SandboxLimits

__all__ = ["probe"]

_PROBE = """
import json, os, sys
report = {"pid": os.getpid()}
try:
    with open("/proc/net/dev") as handle:
        report["ifaces"] = sorted(line.split(":")[0].strip() for line in handle.readlines()[2:])
except OSError:
    report["ifaces"] = None
try:
    with open(sys.argv[1], "x") as handle:
        handle.write("escaped")
    report["outside_write"] = True
except OSError:
    report["outside_write"] = False
print(json.dumps(report))
"""


def find_unshare() -> str | None:
    found = shutil.which("unshare")
    if found:
        return found
    for candidate in ("/usr/bin/unshare", "/bin/unshare"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


@lru_cache(maxsize=8)
def probe(python: str, isolation: str) -> Capabilities:
    """Capabilities for `isolation` ("auto", "namespaces", "none"); cached per process."""
    is_root = os.geteuid() == 0
    cgroup = PidsCgroup.create(16)
    kind = cgroup.kind if cgroup else None
    if cgroup is not None:
        cgroup.remove()
    process_limit = f"{kind} pids.max" if kind else ("none" if is_root else "RLIMIT_NPROC")
    unshare = find_unshare() if sys.platform.startswith("linux") else None
    base = Capabilities(
        mode="process-group",
        is_root=is_root,
        unshare=unshare,
        network_isolated=False,
        pid_namespace=False,
        readonly_host=False,
        private_dev=False,
        privileges_dropped=False,
        process_limit=process_limit,
    )
    failure = ""
    if isolation != "none":
        if unshare is None:
            failure = "the util-linux 'unshare' binary was not found"
        else:
            try:
                base = _probe_namespaces(base, python, unshare, kind is not None)
            except SandboxError as exc:
                failure = exc.message
        if base.mode != "namespaces" and not failure:
            failure = "the namespace probe did not confirm isolation"
    if isolation == "namespaces" and base.mode != "namespaces":
        raise SandboxUnavailable(f"namespace isolation is not available here: {failure}")
    extra = (f"namespaces unavailable: {failure}",) if failure else ()
    return replace(base, notes=(*extra, *caveats(base)))


def _probe_namespaces(
    base: Capabilities, python: str, unshare: str, use_cgroup: bool
) -> Capabilities:
    folder = Path(tempfile.mkdtemp(prefix="ioa-sandbox-probe-"))
    try:
        root = folder / "workspace"
        root.mkdir()
        outside = folder / f"outside-{secrets.token_hex(4)}"
        launched = launch(
            root,
            [*python_flags(True), "-c", _PROBE, str(outside)],
            limits=SandboxLimits(),
            python=python,
            namespaces=True,
            unshare=unshare,
            use_cgroup=use_cgroup,
            timeout_s=20.0,
        )
        escaped = outside.exists()
        if launched.exit_code != 0:
            tail = launched.captured.stderr.decode(errors="replace")[-300:]
            raise SandboxError(f"the probe program failed: {tail}")
        report = json.loads(launched.captured.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError, OSError) as exc:
        raise SandboxError(f"the probe could not be read: {exc}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    facts = launched.facts
    return replace(
        base,
        mode="namespaces",
        network_isolated=report.get("ifaces") == ["lo"],
        pid_namespace=report.get("pid") == 2,
        readonly_host=bool(facts.get("readonly_host")) and not escaped,
        private_dev=bool(facts.get("private_dev")),
        privileges_dropped=bool(facts.get("caps_dropped")),
    )

"""Measure which isolation works here by running a tiny program through the real launcher.

The probe program reports its PID (2 inside a PID namespace), the network interfaces it sees
(only `lo` inside an empty network namespace), whether it could create a file outside its
workspace or under /usr, whether it sees a file planted beside its workspace, what /dev holds,
its effective capabilities, whether `unshare(CLONE_NEWUSER)` works, and which file system its
workspace and /tmp are on; the probe then checks the host side for the escaped file.
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
import ctypes, json, os, sys
outside, planted, disk_bytes = sys.argv[1], sys.argv[2], int(sys.argv[3])
report = {"pid": os.getpid()}
try:
    with open("/proc/net/dev") as handle:
        report["ifaces"] = sorted(line.split(":")[0].strip() for line in handle.readlines()[2:])
except OSError:
    report["ifaces"] = None
report["outside_write"] = False
for path in (outside, "/usr/ioa-sandbox-probe"):
    try:
        with open(path, "x") as handle:
            handle.write("escaped")
        report["outside_write"] = path != outside  # that one may land in the private /tmp
    except OSError:
        pass
report["host_seen"] = os.path.exists(planted) or os.path.exists("/etc/shadow")
report["dev"] = sorted(os.listdir("/dev"))
with open("/proc/self/status") as handle:
    status = dict(line.split(":", 1) for line in handle if ":" in line)
caps_value, no_new_privs = status["CapEff"].strip(), status["NoNewPrivs"].strip()
report["caps_dropped"] = int(caps_value, 16) == 0 and no_new_privs == "1"
here, tmp = os.statvfs("."), os.statvfs("/tmp")
report["disk_bounded"] = (
    here.f_fsid == tmp.f_fsid and here.f_blocks * here.f_frsize <= disk_bytes + 4096
)
libc = ctypes.CDLL(None, use_errno=True)
report["userns_blocked"] = libc.unshare(0x10000000) != 0
print(json.dumps(report))
"""

DEVICES = ["fd", "full", "null", "random", "shm", "stderr", "stdin", "stdout", "urandom", "zero"]


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
        planted = folder / "planted"
        planted.write_text("a host file the program must not see")
        limits = SandboxLimits()
        launched = launch(
            root,
            [
                *python_flags(True),
                "-c",
                _PROBE,
                str(outside),
                str(planted),
                str(limits.tmpfs_bytes),
            ],
            limits=limits,
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
    return replace(
        base,
        mode="namespaces",
        network_isolated=report.get("ifaces") == ["lo"],
        pid_namespace=report.get("pid") == 2,
        readonly_host=not report.get("outside_write", True) and not escaped,
        private_dev=report.get("dev") == DEVICES,
        privileges_dropped=bool(report.get("caps_dropped")),
        host_hidden=report.get("host_seen") is False,
        user_namespaces_blocked=bool(report.get("userns_blocked")),
        disk_bounded=bool(report.get("disk_bounded")),
    )

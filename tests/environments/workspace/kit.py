"""Helpers shared by the workspace tests: workspaces with files, sandboxes by isolation."""

from __future__ import annotations

from pathlib import Path

import pytest

from environments.workspace import Sandbox, SandboxLimits, SandboxUnavailable, Workspace

FAST = SandboxLimits(timeout_s=3.0, cpu_s=5, memory_bytes=256 * 1024 * 1024)
"""Short limits so containment tests end in seconds."""


def workspace_with(root: Path, files: dict[str, str | bytes]) -> Workspace:
    workspace = Workspace(root)
    workspace.write_files(files)
    return workspace


def namespace_sandbox(limits: SandboxLimits = FAST) -> Sandbox:
    """A sandbox that must use namespaces; the test is skipped where they do not work."""
    sandbox = Sandbox(limits, isolation="namespaces")
    try:
        sandbox.capabilities()
    except SandboxUnavailable as exc:
        pytest.skip(f"namespace isolation unavailable here: {exc.message}")
    return sandbox


def plain_sandbox(limits: SandboxLimits = FAST) -> Sandbox:
    return Sandbox(limits, isolation="none")

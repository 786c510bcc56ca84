"""The sandboxed software workspace: a project folder, code extraction, a safe runner.

- `Workspace`: one folder per run; validated relative paths, byte-exact contents.
- `extract_files`: files from a model's JSON artifact or, as a fallback, its fenced code.
- `Sandbox`: runs the program and its tests with no shell, limits, and (where the machine
  allows) no network and a read-only host; `Sandbox.capabilities()` says what is enforced.
- `completeness`: unfinished code found by syntax tree.

Pure Python and the standard library; nothing here imports `ioa` or `agents`.
"""

from .capabilities import Capabilities
from .completeness import CompletenessReport, Finding, completeness
from .errors import (
    BadArtifact,
    FileMissing,
    NotAFile,
    NotText,
    SandboxError,
    SandboxUnavailable,
    SymlinkRefused,
    TooLarge,
    TooManyFiles,
    UnsafePath,
    WorkspaceError,
)
from .extract import Extraction, Rejected, extract_files, files_from_fences, files_from_json
from .limits import SandboxLimits
from .paths import PathLimits, check_relative_path
from .sandbox import Isolation, Sandbox
from .testrun import TestCounts, TestReport
from .tracebacks import Frame, PyTraceback, parse_traceback
from .verdict import Verdict
from .workspace import Workspace, WorkspaceLimits

__all__ = [
    "BadArtifact",
    "Capabilities",
    "CompletenessReport",
    "Extraction",
    "FileMissing",
    "Finding",
    "Frame",
    "Isolation",
    "NotAFile",
    "NotText",
    "PathLimits",
    "PyTraceback",
    "Rejected",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "SandboxUnavailable",
    "SymlinkRefused",
    "TestCounts",
    "TestReport",
    "TooLarge",
    "TooManyFiles",
    "UnsafePath",
    "Verdict",
    "Workspace",
    "WorkspaceError",
    "WorkspaceLimits",
    "check_relative_path",
    "completeness",
    "extract_files",
    "files_from_fences",
    "files_from_json",
    "parse_traceback",
]

"""The root of every error the workspace and its sandbox raise.

Each class carries a stable `code` and a default message, so a caller (the company runner, the
CLI) can report the problem without parsing text.
"""

from __future__ import annotations


class WorkspaceError(Exception):
    """Something the workspace or the sandbox refuses or cannot do."""

    code: str = "workspace_error"
    default_message: str = "the workspace operation failed"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class UnsafePath(WorkspaceError):
    code = "unsafe_path"
    default_message = "the path is not a safe relative path inside the workspace"


class SymlinkRefused(UnsafePath):
    code = "symlink_refused"
    default_message = "the path goes through a symbolic link, which the workspace never follows"


class TooLarge(WorkspaceError):
    code = "too_large"
    default_message = "the content is larger than the workspace allows"


class TooManyFiles(WorkspaceError):
    code = "too_many_files"
    default_message = "the workspace would hold more files than it allows"


class FileMissing(WorkspaceError):
    code = "file_missing"
    default_message = "no such file in the workspace"


class NotAFile(WorkspaceError):
    code = "not_a_file"
    default_message = "the path names something other than a regular file"


class NotText(WorkspaceError):
    code = "not_text"
    default_message = "the file is not valid UTF-8 text"


class BadArtifact(WorkspaceError):
    code = "bad_artifact"
    default_message = "the model output does not hold files in the expected shape"


class SandboxError(WorkspaceError):
    code = "sandbox_error"
    default_message = "the sandbox could not run the program"


class SandboxUnavailable(SandboxError):
    code = "sandbox_unavailable"
    default_message = "the requested isolation is not available on this machine"

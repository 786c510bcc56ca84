"""The root of every error the IoA runtime raises.

Subpackages derive their own base from it (`HubError`, `StoreError`, `ClientError`,
`EngineError`), each class with a stable `code` and a default message.
"""

from __future__ import annotations


class IoAError(Exception):
    """Base of all runtime errors; `code` is stable and safe to show on the wire."""

    code: str = "ioa_error"
    default_message: str = "IoA failed"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

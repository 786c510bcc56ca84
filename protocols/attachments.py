"""What a task result may carry beside its text: a JSON object, and files.

A tool's structured output (an MCP tool's `structuredContent`, a table, a record) loses its shape
when flattened into text, and a generated document or image is not text at all. A `task_result`
may therefore carry `data` (a JSON object, bounded like a plan's content and in serialized size)
and `files`, each a named, typed file given either inline (base64, small) or by an http(s) URL
the hub never fetches: it is the agent's statement of where its output lives, passed on as such
(the A2A server shows both as an artifact's data and file parts).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from protocols.values import BoundedJson

DATA_MAX = 32_000
"""Bytes of a result's `data`, as compact JSON: as much as its text may hold."""
FILES_MAX = 4
"""Files one result may carry."""
FILE_CONTENT_MAX = 64_000
"""Base64 characters of one inline file (48,000 bytes)."""
FILES_CONTENT_MAX = 96_000
"""Base64 characters of all of a result's inline files, so a result stays well inside a frame."""
URL_MAX = 2048
MEDIA_TYPE = r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]{0,63}$"
"""`type/subtype` (RFC 6838 characters), without parameters."""
FILE_NAME = r"^[^/\\\x00-\x1f\x7f]{1,200}$"
"""A bare file name: no path, no control characters."""


def _small(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > DATA_MAX:
        raise ValueError(f"data holds {size} bytes as JSON; at most {DATA_MAX}")
    return value


ResultData = Annotated[BoundedJson, AfterValidator(_small)]
"""A JSON object with finite numbers, bounded depth, node count and serialized size."""


def _web_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("a file URL is an absolute http or https URL")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise ValueError("a file URL holds no spaces or control characters")
    return url


def _base64(content: str) -> str:
    try:
        base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("file content is standard base64 (with padding)") from None
    return content


class FileRef(BaseModel):
    """One file of a result: exactly one of `url` and `content` (base64)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: str = Field(pattern=FILE_NAME)
    media_type: str = Field(pattern=MEDIA_TYPE)
    url: Annotated[str, Field(max_length=URL_MAX), AfterValidator(_web_url)] | None = None
    content: Annotated[str, Field(max_length=FILE_CONTENT_MAX), AfterValidator(_base64)] | None = (
        None
    )

    @model_validator(mode="after")
    def _one_source(self) -> FileRef:
        if (self.url is None) == (self.content is None):
            raise ValueError("a file has exactly one of url and content")
        return self


def files_fit(files: list[FileRef]) -> None:
    """Refuse inline files that together would crowd a frame."""
    total = sum(len(f.content or "") for f in files)
    if total > FILES_CONTENT_MAX:
        raise ValueError(f"inline files hold {total} base64 characters, over {FILES_CONTENT_MAX}")

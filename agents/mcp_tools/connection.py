"""A connection to one MCP server, over stdio (a command) or streamable HTTP (a URL).

The official `mcp` client runs its transport in anyio task groups: a server that dies cancels
the scope that entered the client. So the client lives in a task of its own (`_hold`), and the
agent's jobs only send requests through it; a dead server fails the calls in flight with
`McpServerGone` and the next call starts the server again (stdio) or reconnects (HTTP), so one
crash costs one task, never the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import sys
from dataclasses import dataclass
from typing import Any

from agents.errors import AgentError

__all__ = [
    "McpCallFailed",
    "McpConnection",
    "McpError",
    "McpServerGone",
    "McpTool",
    "McpUnavailable",
    "parse_server",
]

DEFAULT_CALL_TIMEOUT = 120.0
CONNECT_TIMEOUT = 30.0
MAX_TOOLS = 256
CONNECTION_CLOSED = -32000


class McpError(AgentError):
    code = "mcp_error"
    default_message = "the MCP server failed"


class McpUnavailable(McpError):
    code = "mcp_unavailable"
    default_message = "the MCP server could not be started or reached"


class McpServerGone(McpError):
    code = "mcp_server_gone"
    default_message = "the MCP server stopped during the call"


class McpCallFailed(McpError):
    code = "mcp_call_failed"
    default_message = "the MCP tool call failed"


@dataclass(frozen=True)
class McpTool:
    """One tool the server offers: its name, what it does, and its arguments' JSON Schema."""

    name: str
    description: str
    input_schema: dict[str, Any]


def parse_server(spec: str) -> Any:
    """`--mcp`'s value as what `mcp.Client` connects to: a URL, or a command line to launch.

    The command inherits this process's environment (an MCP server often needs a key from it);
    `python` and `python3` mean this interpreter, where `mcp` is installed.
    """
    try:
        from mcp import StdioServerParameters
    except ImportError:
        raise McpUnavailable(
            "MCP needs the official client: pip install 'ioa[mcp]' (or: pip install mcp)"
        ) from None

    text = spec.strip()
    if not text:
        raise McpUnavailable("--mcp needs a command line or an http(s) URL, not an empty string")
    if text.startswith(("http://", "https://")):
        return text
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise McpUnavailable(f"--mcp {spec!r}: not a command line ({exc})") from None
    command = sys.executable if argv[0] in ("python", "python3") else argv[0]
    return StdioServerParameters(command=command, args=argv[1:], env=dict(os.environ))


class McpConnection:
    """An open MCP session whose server may come and go; an async context manager.

    `tools` is read at the first connection. `call` may be awaited concurrently; each call has
    `call_timeout` seconds. Errors: `McpUnavailable` (cannot start/reach), `McpServerGone` (it
    died during the call), `McpCallFailed` (the tool answered an error or timed out).
    """

    def __init__(self, spec: str, *, call_timeout: float = DEFAULT_CALL_TIMEOUT) -> None:
        self.spec = spec
        self.target = parse_server(spec)
        self.call_timeout = call_timeout
        self.tools: list[McpTool] = []
        self.server_name = ""
        self._client: Any = None
        self._holder: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> McpConnection:
        await self._connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._stop.set()
        if self._holder is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._holder, timeout=10)
        self._holder = None
        self._client = None

    @property
    def where(self) -> str:
        return (
            self.target
            if isinstance(self.target, str)
            else shlex.join([self.target.command, *self.target.args])
        )

    async def _connect(self) -> None:
        """Start the holder task and wait until the server listed its tools."""
        ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        self._holder = asyncio.create_task(self._hold(ready), name=f"mcp {self.where}")
        try:
            self._client = await asyncio.wait_for(asyncio.shield(ready), CONNECT_TIMEOUT)
        except TimeoutError:
            await self.close()
            raise McpUnavailable(
                f"MCP server {self.where} did not answer within {CONNECT_TIMEOUT:.0f} s"
            ) from None

    async def _hold(self, ready: asyncio.Future[Any]) -> None:
        from mcp import Client

        try:
            async with Client(self.target, read_timeout_seconds=self.call_timeout) as client:
                self.server_name = client.server_info.name if client.server_info else ""
                self.tools = await _list_tools(client)
                ready.set_result(client)
                await self._stop.wait()
        except BaseException as exc:  # the client's task group reports a dead server here
            if not ready.done():
                ready.set_exception(
                    McpUnavailable(f"MCP server {self.where} could not be used: {_reason(exc)}")
                )
            if isinstance(exc, asyncio.CancelledError):
                raise

    async def _live_client(self) -> Any:
        async with self._lock:
            if self._client is None or self._holder is None or self._holder.done():
                await self.close()
                await self._connect()
            return self._client

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        """The tool's answer as text (its text content, else its structured content as JSON)."""
        from mcp import MCPError

        client = await self._live_client()
        try:
            result = await asyncio.wait_for(
                client.call_tool(name, arguments), timeout=self.call_timeout + 1
            )
        except TimeoutError:
            raise McpCallFailed(
                f"MCP tool {name!r} did not answer within {self.call_timeout:.0f} s"
            ) from None
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                self._client = None  # the next call starts (or reaches) the server again
                raise McpServerGone(
                    f"MCP server {self.where} stopped during the call of {name!r}"
                ) from None
            raise McpCallFailed(f"MCP tool {name!r}: {exc.message}") from None
        except (OSError, ExceptionGroup) as exc:
            self._client = None
            raise McpServerGone(f"MCP server {self.where}: {_reason(exc)}") from None
        text = "\n".join(
            block.text for block in result.content if getattr(block, "type", "") == "text"
        )
        if not text and result.structured_content is not None:
            text = json.dumps(result.structured_content, ensure_ascii=False)
        if result.is_error:
            raise McpCallFailed(f"MCP tool {name!r} answered an error: {text or 'no detail'}")
        return text


async def _list_tools(client: Any) -> list[McpTool]:
    tools: list[McpTool] = []
    cursor: str | None = None
    while len(tools) < MAX_TOOLS:
        page = await client.list_tools(cursor=cursor)
        tools.extend(
            McpTool(t.name, t.description or "", dict(t.input_schema or {"type": "object"}))
            for t in page.tools
        )
        cursor = page.next_cursor
        if not cursor:
            break
    return tools[:MAX_TOOLS]


def _reason(exc: BaseException) -> str:
    """The innermost message of an exception group, which is what a person needs to read."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return str(exc) or type(exc).__name__

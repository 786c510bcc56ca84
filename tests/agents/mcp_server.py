"""A real MCP server for the tests, written with the official `mcp` package.

`python mcp_server.py` serves over stdio; `python mcp_server.py http` serves streamable HTTP on
an ephemeral loopback port, printing `PORT <n>` once it listens.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("arith")


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


@server.tool()
def shout(text: str) -> str:
    """Repeats the text in capitals."""
    return text.upper()


@server.tool()
def refuse(why: str) -> str:
    """Always fails, saying why."""
    raise ToolError(f"refused: {why}")


@server.tool()
def crash(why: str) -> str:
    """Ends the server process in the middle of the call."""
    os._exit(3)


async def serve_http() -> None:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts: no refused race
    app = server.streamable_http_app()
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])


if __name__ == "__main__":
    if sys.argv[1:] == ["http"]:
        asyncio.run(serve_http())
    else:
        server.run()

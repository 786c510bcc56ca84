"""A small MCP server (the official `mcp` package) for `examples/mixed_team.py`: arithmetic tools.

python examples/mcp_arith_server.py          # serves MCP over stdio
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

server = MCPServer("arith")


@server.tool()
def multiply(a: float, b: float) -> float:
    """Multiplies two numbers."""
    return a * b


@server.tool()
def add(a: float, b: float) -> float:
    """Adds two numbers."""
    return a + b


if __name__ == "__main__":
    server.run()

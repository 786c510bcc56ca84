"""MCP servers' tools as IoA tool agents (the official `mcp` client, stdio or streamable HTTP)."""

from agents.mcp_tools.brain import McpToolBrain, mcp_card, signature
from agents.mcp_tools.connection import (
    McpCallFailed,
    McpConnection,
    McpError,
    McpServerGone,
    McpTool,
    McpUnavailable,
    parse_server,
)

__all__ = [
    "McpCallFailed",
    "McpConnection",
    "McpError",
    "McpServerGone",
    "McpTool",
    "McpToolBrain",
    "McpUnavailable",
    "mcp_card",
    "parse_server",
    "signature",
]

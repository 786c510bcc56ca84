"""An MCP server's tools as one tool agent: its card lists the tools, a task becomes a call.

A task assigned to the agent names the tool and its arguments, which must satisfy the tool's
input schema (the server's JSON Schema is the task's grammar). Accepted forms, tried in order:

- JSON: `{"tool": "add", "arguments": {"a": 2, "b": 3}}`, or the arguments alone
  (`{"a": 2, "b": 3}`) when the task's title or the agent's single tool says which tool;
- `add {"a": 2, "b": 3}` (a tool name, then its arguments as JSON);
- free text, for a tool whose schema has a single string argument; otherwise, with an `engine`,
  the local model fills the arguments decoding under the input schema as its grammar.

Arguments that do not satisfy the schema, an unknown tool, a tool that answers an error and a
server that dies during the call all fail the task with a message that says which; the agent
and the conversation go on.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from agents.brain import Brain, Job, Turn
from agents.fallback import fallback_move
from agents.mcp_tools.connection import McpCallFailed, McpConnection, McpTool
from ioa.llm import Engine
from protocols import AgentCard, Skill

__all__ = ["McpToolBrain", "mcp_card", "signature"]

SKILLS_MAX = 64
_NAMED_CALL = re.compile(r"^\s*([\w.\-/]+)\s*[:(]?\s*(\{.*\})\s*\)?\s*$", re.DOTALL)
_FILL_PROMPT = (
    "Give the arguments for the tool {tool} ({does}) that this task needs, as JSON.\nTask: {task}"
)


def signature(tool: McpTool) -> str:
    """The tool's arguments in one short line: `a: integer, b: integer, note?: string`."""
    properties = tool.input_schema.get("properties", {})
    required = set(tool.input_schema.get("required", []))
    parts = []
    for name, prop in properties.items():
        kind = prop.get("type", "any") if isinstance(prop, dict) else "any"
        parts.append(f"{name}{'' if name in required else '?'}: {kind}")
    return ", ".join(parts)


def mcp_card(
    connection: McpConnection, *, name: str | None = None, description: str | None = None
) -> AgentCard:
    """A tool agent's card: one skill per tool (tagged with its name and "mcp")."""
    title = (name or connection.server_name or "mcp tools")[:120]
    skills = [
        Skill(
            name=tool.name[:120],
            description=f"{tool.description} Arguments: {signature(tool)}"[:2000].strip(),
            tags=[tool.name[:64], "mcp"],
        )
        for tool in connection.tools[:SKILLS_MAX]
    ]
    listing = ", ".join(tool.name for tool in connection.tools)
    return AgentCard(
        name=title,
        description=(description or f"MCP tools: {listing}")[:4000],
        kind="tool",
        skills=skills,
    )


class McpToolBrain(Brain):
    """Works each task by one call of an MCP tool; never leads (its turn is the fallback move)."""

    def __init__(self, connection: McpConnection, *, engine: Engine | None = None) -> None:
        self.connection = connection
        self.engine = engine
        """Fills arguments from free text under the tool's schema, when given."""

    @property
    def tools(self) -> dict[str, McpTool]:
        return {tool.name: tool for tool in self.connection.tools}

    async def move(self, turn: Turn) -> dict[str, Any]:
        return fallback_move(turn.legal) or {}

    async def work(self, job: Job) -> str:
        tool, arguments = await self.plan(job)
        return await self.connection.call(tool.name, arguments)

    async def plan(self, job: Job) -> tuple[McpTool, dict[str, Any]]:
        """The tool and checked arguments for `job`; `McpCallFailed` says what is wrong."""
        text = job.description.strip()
        parsed = _json_object(text)
        if parsed is not None:
            if isinstance(parsed.get("tool"), str) and set(parsed) <= {"tool", "arguments"}:
                tool = self._named(parsed["tool"])
                arguments = parsed.get("arguments", {})
            else:
                tool, arguments = self._implied(job), parsed
            return tool, _checked(tool, arguments)
        named = _NAMED_CALL.match(text)
        if named and named.group(1) in self.tools:
            arguments = _json_object(named.group(2))
            if arguments is not None:
                tool = self._named(named.group(1))
                return tool, _checked(tool, arguments)
        tool = self._implied(job)
        return tool, _checked(tool, await self._from_text(tool, text))

    def _named(self, name: str) -> McpTool:
        tool = self.tools.get(name)
        if tool is None:
            raise McpCallFailed(f"no tool {name!r} here; the tools are: {', '.join(self.tools)}")
        return tool

    def _implied(self, job: Job) -> McpTool:
        """The tool a task means without naming it in JSON: its title, a mention, the only one."""
        tools = self.tools
        if job.title.strip() in tools:
            return tools[job.title.strip()]
        if len(tools) == 1:
            return next(iter(tools.values()))
        words = set(re.findall(r"[\w.\-/]+", f"{job.title} {job.description}"))
        mentioned = [tool for name, tool in tools.items() if name in words]
        if len(mentioned) == 1:
            return mentioned[0]
        raise McpCallFailed(
            f"the task does not say which tool to call; give "
            f'{{"tool": NAME, "arguments": {{...}}}} with NAME one of: {", ".join(tools)}'
        )

    async def _from_text(self, tool: McpTool, text: str) -> dict[str, Any]:
        properties = tool.input_schema.get("properties", {})
        strings = [
            k for k, v in properties.items() if isinstance(v, dict) and v.get("type") == "string"
        ]
        if len(properties) == 1 and len(strings) == 1:
            return {strings[0]: text}
        if self.engine is None:
            raise McpCallFailed(
                f"tool {tool.name!r} needs its arguments as JSON ({signature(tool)}), "
                f"not free text: {text[:80]!r}"
            )
        content = _FILL_PROMPT.format(tool=tool.name, does=tool.description[:200], task=text)
        try:
            value, _ = await self.engine.structured(
                [{"role": "user", "content": content}],
                agent=f"mcp:{tool.name}",
                schema=tool.input_schema,
                temperature=0.0,
            )
        except Exception as exc:
            raise McpCallFailed(f"could not fill the arguments of {tool.name!r}: {exc}") from None
        if not isinstance(value, dict):
            raise McpCallFailed(f"the arguments of {tool.name!r} must be a JSON object")
        return value


def _json_object(text: str) -> dict[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _checked(tool: McpTool, arguments: Any) -> dict[str, Any]:
    """`arguments` if they satisfy the tool's input schema, else `McpCallFailed` saying where."""
    if not isinstance(arguments, dict):
        raise McpCallFailed(f"the arguments of {tool.name!r} must be a JSON object")
    try:
        validator = Draft202012Validator(tool.input_schema)
        error = next(iter(validator.iter_errors(arguments)), None)
    except SchemaError as exc:
        raise McpCallFailed(
            f"tool {tool.name!r} has an invalid input schema: {exc.message}"
        ) from None
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "arguments"
        raise McpCallFailed(
            f"arguments for {tool.name!r} do not match its schema ({signature(tool)}): "
            f"{where}: {error.message}"
        )
    return arguments

"""The few words the engine itself says to a model. Agents' prompts live with the agents."""

from __future__ import annotations

REPAIR_PROMPT = (
    "Your reply was not valid: {reason}. Reply again with only the JSON object, "
    "following the required format exactly."
)
"""Sent once after an invalid structured reply, with the validator's reason."""

"""What the dashboard shows of agents, groups and conversation states, as plain JSON.

Only what a person may see: cards, presence, membership, conversation state. Never a token, a
token's hash or a stored vector: every view is built field by field here, not dumped from records.
"""

from __future__ import annotations

from typing import Any

from ioa.hub.entries import Agent, Group
from ioa.hub.policy import ConversationPolicy
from ioa.hub.state import HubState
from protocols.conversation import ConversationState

NODE_KINDS = {
    "llm": "local model",
    "tool": "tool",
    "scripted": "scripted",
    "human": "person",
    "remote": "remote",
}
"""A card's kind → how the network view names it."""


def agent_node(state: HubState, agent: Agent) -> dict[str, Any]:
    """An agent as a node of the network: enough to draw and label it."""
    card = agent.card
    return {
        "id": agent.id,
        "name": card.name,
        "kind": card.kind,
        "kind_label": NODE_KINDS.get(card.kind, card.kind),
        "online": state.is_online(agent),
        "model": card.model.name if card.model else None,
        "device": card.device.host if card.device else None,
    }


def agent_detail(state: HubState, agent: Agent) -> dict[str, Any]:
    """An agent's card (the whole public card), presence and groups."""
    return agent_node(state, agent) | {
        "card": agent.card.model_dump(mode="json"),
        "created_at": agent.created_at,
        "last_seen": agent.last_seen,
        "groups": state.registry.groups_of(agent.id),
    }


def turn_of(group: Group) -> tuple[str | None, str | None]:
    """(phase, whose turn) of a group's conversation; (None, None) for plain chat."""
    policy = group.policy
    if isinstance(policy, ConversationPolicy):
        return policy.state.phase.value, policy.state.speaker
    return None, None


def group_summary(group: Group) -> dict[str, Any]:
    """A group as a row of the conversation list and a cluster of the network."""
    phase, speaker = turn_of(group)
    parent, goal_id, goal = (group.meta.get(k) for k in ("parent", "goal_id", "goal"))
    return {
        "id": group.id,
        "name": group.name,
        "protocol": group.meta.get("protocol", group.protocol)
        if group.protocol == "ioa"
        else group.protocol,
        "members": list(group.members),
        "created_by": group.created_by,
        "created_at": group.created_at,
        "head": group.head,
        "phase": phase,
        "speaker": speaker,
        "goal_id": goal_id if isinstance(goal_id, str) else None,
        "goal": goal if isinstance(goal, str) else None,
        "parent": parent if isinstance(parent, dict) else None,
    }


def conversation_state(state: ConversationState | None) -> dict[str, Any] | None:
    """The parts of a conversation's state a person follows: phase, turn, tasks, outcome."""
    if state is None:
        return None
    return {
        "protocol": state.protocol,
        "phase": state.phase.value,
        "speaker": state.speaker,
        "turns": state.turns,
        "max_turns": state.limits.max_turns,
        "waiting_on": list(state.waiting_on),
        "tasks": [
            {
                "id": task.id,
                "title": task.title,
                "assigner": task.assigner,
                "assignees": list(task.assignees),
                "mode": task.mode,
                "status": task.status,
                "result": task.result,
            }
            for task in state.tasks
        ],
        "proposals": len(state.proposals),
        "conclusion": state.conclusion,
    }


def group_state(group: Group) -> dict[str, Any] | None:
    policy = group.policy
    return conversation_state(policy.state if isinstance(policy, ConversationPolicy) else None)

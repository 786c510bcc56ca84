"""The agent runtime: an `Agent` on a hub, one concept per module.

- `agent`: `Agent`, its lifecycle and its loop observe → decide → act → wait;
- `observe`: the loop's first step, folding each event into memory and the conversation replicas;
- `memory`: what it remembers between events (checkpointed), jobs and their `JobState`;
- `events`: the tagged union of events that wake the loop;
- `work`: tasks worked on or delegated to a sub-team, in the background;
- `usage`: what the model spent, pended per group until the agent's next message there reports it;
- `persistence`: credentials and checkpoints under `AgentOptions.state_dir`;
- `options`: `AgentOptions`.
"""

from agents.runtime.agent import Agent
from agents.runtime.events import Event
from agents.runtime.memory import JobState, Memory
from agents.runtime.options import AgentOptions
from agents.runtime.persistence import CHECKPOINT_BUSY_TIMEOUT

__all__ = ["CHECKPOINT_BUSY_TIMEOUT", "Agent", "AgentOptions", "Event", "JobState", "Memory"]

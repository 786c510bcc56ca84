"""The default local crew: a few generalist agents and a calculator, sharing one local model.

`ioa run` and `ioa demo` start it when no hub is given, so a goal can be tried on a laptop with
nothing but the bundled model.
"""

from __future__ import annotations

from agents.calculator import calculate
from agents.llm_brain import LLMBrain
from agents.runtime import Agent, AgentOptions
from agents.tool import ToolBrain, tool_card
from ioa.llm import Engine
from protocols import AgentCard, ModelFacts, Skill

CREW = [
    AgentCard(
        name="Planner",
        description="Breaks a goal into steps and hands each step to the right teammate.",
        skills=[Skill(name="planning", tags=["plan", "organise", "lead"])],
    ),
    AgentCard(
        name="Researcher",
        description="Finds facts, compares options and explains them briefly.",
        skills=[Skill(name="research", tags=["facts", "research", "compare"])],
    ),
    AgentCard(
        name="Writer",
        description="Writes clear short texts: summaries, lists, messages, plans.",
        skills=[Skill(name="writing", tags=["write", "summary", "text"])],
    ),
]


def crew(
    engine: Engine,
    hub_url: str,
    model: ModelFacts | None = None,
    options: AgentOptions | None = None,
) -> list[Agent]:
    """The crew's agents (not started): the generalists on `engine`, plus the calculator."""
    brain = LLMBrain(engine)
    agents = [
        Agent(c.model_copy(update={"model": model}), brain, hub_url, options=options) for c in CREW
    ]
    agents.append(
        Agent(tool_card(calculate, tags=["math", "arithmetic"]), ToolBrain(calculate), hub_url)
    )
    return agents

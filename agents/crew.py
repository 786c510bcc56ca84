"""The default local crew: a few generalist agents and three tools, sharing one local model.

`ioa run` and `ioa demo` start it when no hub is given, so a goal can be tried on a laptop with
nothing but the bundled model. The tools (a calculator, a unit converter, a table look-up) are
agents like the others, found by discovery through their cards' tags; the generalists' brain
knows how to call them (`agents.tool_use`).
"""

from __future__ import annotations

from agents.calculator import calculate, calculator_arguments
from agents.choosing import Decoding
from agents.llm_brain import LLMBrain
from agents.lookup import look_up, lookup_arguments
from agents.runtime import Agent, AgentOptions
from agents.tool import Tool, ToolBrain
from agents.units import SPOKEN, convert_units, unit_arguments
from environments.toolgoals import CITIES, PRODUCTS, TOOL_OF_KIND, Kind
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


def _words(text: str) -> list[str]:
    return text.split()


TOOLS = [
    Tool(
        calculate,
        calculator_arguments,
        TOOL_OF_KIND[Kind.ARITHMETIC],
        example=("take 4 away from 10", "10 - 4"),
        tags=_words(
            "math arithmetic calculate add sum plus subtract minus multiply times divide divided "
            "split total many"
        ),
    ),
    Tool(
        convert_units,
        unit_arguments,
        TOOL_OF_KIND[Kind.UNITS],
        example=("How many grams is 2 pounds?", "2 pounds to grams"),
        tags=["convert", "conversion", "units", *sorted(set(SPOKEN.values()))][:32],
    ),
    Tool(
        look_up,
        lookup_arguments,
        TOOL_OF_KIND[Kind.LOOKUP],
        example=("How many people live in Aarhus?", "population of Aarhus"),
        tags=[*_words("lookup table population country price cost city"), *CITIES, *PRODUCTS][:32],
    ),
]
"""The crew's tools, with what discovery should match them by."""


def crew(
    engine: Engine,
    hub_url: str,
    model: ModelFacts | None = None,
    options: AgentOptions | None = None,
    *,
    tools: bool = True,
    decoding: Decoding | None = None,
    always_use_tools: bool = False,
) -> list[Agent]:
    """The crew's agents (not started): the generalists on `engine`, plus the tools.

    `tools=False` leaves the tool agents out (the no-tool baseline of `benchmarks/tool_goals`);
    `decoding` and `always_use_tools` are the generalists' (see `LLMBrain`).
    """
    brain = LLMBrain(
        engine,
        tools=TOOLS if tools else (),
        decoding=decoding,
        always_use_tools=always_use_tools,
    )
    agents = [
        Agent(c.model_copy(update={"model": model}), brain, hub_url, options=options) for c in CREW
    ]
    if tools:
        agents.extend(Agent(t.card(), ToolBrain(t.fn), hub_url) for t in TOOLS)
    return agents

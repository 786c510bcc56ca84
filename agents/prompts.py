"""Every prompt the local-model agents use, in one place (prompts are data).

They are short on purpose: on a 2-core machine every prompt token costs prefill time, and the
structure of each answer comes from the grammar, not from instructions the model may ignore.
They hold no sentence worth copying: a small model repeats what it reads, so the turn's
situation is given as terse facts, and any instruction words that still come back in a reply
are cut out (`agents.echo`).
"""

from __future__ import annotations

SYSTEM = (
    "You are {name}, a member of a team of AI agents. {role}\n"
    "Work toward the team's goal. Be brief and concrete."
)

TURN = (
    "Goal: {goal}\n"
    "Team: {team}\n"
    "{tasks}"
    "Recent messages:\n{transcript}\n\n"
    "Turn {turn}/{max_turns}{situation}. Moves: {types}."
)

SITUATION_LAST = " (last)"
SITUATION_DEFAULT = ""

NO_MESSAGES = "(none yet)"
NO_TASKS = ""
TASK_BOARD = "Tasks:\n{lines}\n"
TASK_LINE = "- {id} [{status}] {title} → {assignees}{result}"

CONCLUSION = "Goal: {goal}\nResults: {results}\n\nAnswer the goal in one short sentence."

WORK = (
    "Goal of your team: {goal}\n"
    "Your task: {title}\n{description}\n\n"
    "Do the task now. Answer with the result only, in at most a few sentences."
)

TEAM_CHOICE = (
    "Task: {description}\n"
    "Can you do this alone, or should you form a small sub-team of other agents? "
    "Answer in JSON."
)

QUERIES = (
    "Goal: {goal}\n"
    "Which kinds of agents would help? Give up to three short search phrases describing "
    "the skills needed."
)

PICK = (
    "Goal: {goal}\n"
    "Candidates:\n{candidates}\n\n"
    "Choose at most {max_members} member(s) whose skills fit the goal. Prefer a small team."
)

PICK_ONE = "Goal: {goal}\nWho on the team should work on it?"
MEMBER_OPTION = "{name}, who {does}"

TOOL_CHOICE = "Tools:\n{tools}\n- none: no tool is needed\n\nGoal: {goal}\nTool:"
TOOL_LINE = "- {name}: {does}"
NO_TOOL = "none"
TOOL_ARGUMENTS = (
    "Write the {tool} task for a goal.\n"
    "Goal: {example_goal}\nTask: {example_call}\n"
    "Goal: {goal}\nTask:"
)

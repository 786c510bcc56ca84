"""Every prompt the local-model agents use, in one place (prompts are data).

They are short on purpose: on a 2-core machine every prompt token costs prefill time, and the
structure of each answer comes from the grammar, not from instructions the model may ignore.
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
    "It is your turn ({turn} of {max_turns}). {advice}"
    "Reply with one JSON move. Allowed move types: {types}."
)

ADVICE_LAST = "This is the last turn: conclude. "
ADVICE_CONCLUDE = "You concluded: now write the team's final answer to the goal. "
ADVICE_DEFAULT = (
    "Discuss briefly, hand a task to the member best suited for it, or conclude when the goal "
    "is met. "
)

NO_MESSAGES = "(none yet)"
NO_TASKS = ""
TASK_BOARD = "Tasks:\n{lines}\n"
TASK_LINE = "- {id} [{status}] {title} → {assignees}{result}"

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

PROTOCOL_ADVICE = "This group runs the {protocol} protocol: {summary}. "
"""Said before the turn's advice in a group whose protocol is not plain "ioa"."""

"""Every sentence the robot-team modes add to the environment's own texts (prompts are data).

The environment supplies the task facts (`env.action_instructions()`, `env.observation(robot)`,
`env.full_observation()`, feedback); these templates only frame them for each mode. They are short
on purpose: on a 2-core CPU every prompt token costs prefill time, and the shape of each answer
comes from a grammar, not from instructions a small model may ignore. Written for this project
after RoCo's prompt structure ([History], [Previous Chat], feedback, [Current Chat]).
"""

from __future__ import annotations

# ---- shared pieces -----------------------------------------------------------------------------

JSON_NOTE = (
    "Answer in JSON: one action per robot, exactly the actions and names the format allows. "
    "Your JSON is turned into the EXECUTE plan."
)
HISTORY_HEADER = "[History]"
HISTORY_ROUND = "Round {step}:{chat}\n[Executed Action] {plan}"
HISTORY_SKIPPED = "nothing (no plan passed the checks)"
PREVIOUS_HEADER = "[Previous Chat] (attempts at this round that failed the checks)"
PREVIOUS_ATTEMPT = "Attempt {attempt}:{chat}"
CHAT_LINE = "{robot}: {text}"
NO_CHAT = "(nothing said yet)"
NO_PLAN_FEEDBACK = "[Environment Feedback]:\n- No plan was given: {reason}."

# ---- Central Plan ------------------------------------------------------------------------------

CENTRAL_SYSTEM = (
    "You are the single planner of a robot team: you see the whole scene and choose the next "
    "action of every robot.\n\n{instructions}\n\n" + JSON_NOTE
)
CENTRAL_TURN = "{observation}\n\n{memory}Round {step}. Plan the next action of every robot."

# ---- RoCo Dialog -------------------------------------------------------------------------------

DIALOG_SYSTEM = (
    "{observation}\n\n{instructions}\n\n[Dialog]\nYou talk with {others} to agree on the next "
    "plan. Each reply either continues the talk (type proceed: say briefly what you will do or "
    "what you need) or ends it (type execute: the final action of every robot)."
)
DIALOG_TURN = (
    "{memory}[Current Chat]\n{chat}\n\n{advice}In text, say in one sentence what you will do "
    "or what you need from whom.\nYou are {robot}, your response is:"
)
ADVICE_WAIT = "Everyone must speak before a plan can be executed: proceed. "
ADVICE_OPEN = "Proceed to discuss, or execute the plan once you agree. "
ADVICE_LAST = "This is the last call: you must execute the best plan now. "

# ---- IoA ---------------------------------------------------------------------------------------

IOA_SYSTEM = (
    "{observation}\n\n{instructions}\n\n[Team]\nYou talk with {others} through the IoA hub to "
    "agree on the next plan. Speak briefly: what you will do, what you need from whom."
)
IOA_TURN = "{goal}\nTeam (name: id): {team}\n\n[Current Chat]\n{chat}\n\n{advice}"
IOA_GOAL = (
    "Task {task}, round {step}, attempt {attempt} of {attempts}: agree on the next action of "
    "every robot ({robots})."
)
IOA_ADVICE_TALK = (
    "In text, say in one sentence what you will do or what you need from whom; then choose who "
    "speaks next. "
)
IOA_ADVICE_CONCLUDE = "Discuss, or conclude once you agree (then you write the plan). "
IOA_ADVICE_LAST = "The talk is over: conclude now, then write the plan. "
IOA_ADVICE_PLAN = "You concluded: write the team's plan now, one action per robot. " + JSON_NOTE
IOA_ROLE = "RoCo robot {robot} ({model}) in the {task} task"

# ---- choosing an action (IoA and dialectic modes) -----------------------------------------------

CHOOSE_SYSTEM = "{context}\nChoose the action that brings the team closest to the goal."
"""The task's shared context only: it never changes, so its KV prefix is reused every round."""
CHOOSE_OPTIONS = "Options (action: what it would do):\n{options}"
CHOOSE_OPTION = "- {action}: {effect}"
CHOOSE_MINE = "You are {robot}. Answer with your next action only."
CHOOSE_OTHER = "Answer with the next action of {robot} only."
JUDGE_SYSTEM = "{context}\nYou judge one move at a time: does it help the team reach the goal?"
"""The `judge` decoder's system prompt: the task's shared context, reused for every option."""
JUDGE_GOAL = "Goal: {progress}"
JUDGE_MOVE = (
    "Move of {robot}: {action}\nEffect: {effect}\n\n"
    "Does this move help reach the goal? Answer Yes or No."
)
JUDGE_ANSWERS = ("Yes", "No")
JUDGE_UNKNOWN = "unknown"
"""The effect `judge-calibrated` asks about to measure what the action's words alone say."""
PROPOSE_TEXT = "Proposal:"
AMEND_TEXT = "{robot} would rather {action}:"
ACCEPT_TEXT = "Agreed: {plan}"
EXECUTE_TEXT = "EXECUTE {plan}"
HEARD_TEXT = "The check failed ({reasons})."
CONCLUDE_TEXT = "Everyone agreed on a checked plan."
CONCLUDE_NONE = "No plan passed the check in time."
NO_CHECKED_PLAN = "(no plan: no proposal passed the check)"
UNCHECKED = "the plan was not checked"
LAST_PLAN = "Last plan: {plan} ({verdict})."
CHECKER_ROLE = "Environment checker of the {task} task: checks every proposed plan (model-free)"

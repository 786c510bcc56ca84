"""Every sentence the environments show a model, in one place (prompts are data).

Written for this project after RoCo's structure (task context, action options, output contract,
each robot's own view, environment feedback); the wording is ours.
"""

from __future__ import annotations

# ---- output contract ---------------------------------------------------------------------------

OUTPUT_INSTRUCTION = """[Action Output Instruction]
Write EXECUTE on its own line, then exactly one line per robot, in this form:
NAME <robot> ACTION <action>
Example:
{example}"""

PATH_INSTRUCTION = """[Path Plan Instruction]
Every action ends with PATH [(x, y, z), (x, y, z), (x, y, z), (x, y, z)]: exactly four waypoints
of your gripper between where it is now and the action's target.
- Space the waypoints evenly: the steps from your gripper through the four waypoints to the target
  should have about the same length.
- Keep every waypoint inside your reach and inside the allowed height band.
- Stay clear of the other robot at every waypoint index, and above objects and obstacles.
- If feedback says IK failed, choose a waypoint closer to your base; if a goal collides, choose a
  different action or target."""

PLAN_EXAMPLES = {
    "sort": "EXECUTE\nNAME Alice ACTION WAIT\nNAME Bob ACTION PICK pink_polygon PLACE panel4\n"
    "NAME Chad ACTION PICK yellow_trapezoid PLACE panel5",
    "cabinet": "EXECUTE\nNAME Alice ACTION PICK left_door_handle\n"
    "NAME Bob ACTION PICK right_door_handle\nNAME Chad ACTION WAIT",
    "sweep": "EXECUTE\nNAME Alice ACTION MOVE green_cube\nNAME Bob ACTION MOVE green_cube",
    "pack": "EXECUTE\nNAME Alice ACTION PICK apple PATH [(0, 0.2, 0.5), (-0.1, 0.3, 0.5), "
    "(-0.2, 0.35, 0.5), (-0.25, 0.4, 0.45)]\nNAME Bob ACTION PLACE milk bin_back_left PATH "
    "[(-0.3, 0.8, 0.6), (-0.1, 0.75, 0.6), (0.1, 0.65, 0.6), (0.25, 0.6, 0.6)]",
    "rope": "EXECUTE\nNAME Alice ACTION PICK rope_front_end PATH [(-0.8, 0.2, 0.45), "
    "(-0.9, 0.3, 0.4), (-1.0, 0.4, 0.35), (-1.1, 0.5, 0.3)]\nNAME Bob ACTION PICK rope_back_end "
    "PATH [(-0.7, 0.85, 0.45), (-0.7, 0.8, 0.4), (-0.7, 0.7, 0.35), (-0.65, 0.65, 0.3)]",
    "sandwich": "EXECUTE\nNAME Chad ACTION PUT bread_slice1 cutting_board\n"
    "NAME Dave ACTION PICK cheese",
}

# ---- action options ----------------------------------------------------------------------------

ACTION_OPTIONS = {
    "sort": """[Action Options]
1) PICK <cube> PLACE <panel>: one action; pick a cube and place it, both within your reach.
2) WAIT: do nothing this round.
Pick only with an empty gripper. At least one robot must act each round.""",
    "cabinet": """[Action Options]
1) PICK <handle>: grasp left_door_handle or right_door_handle.
2) OPEN <handle>: swing a door open; only while you hold its handle.
3) PICK <item> PLACE <coaster>: one action; take mug or cup and set it on a coaster.
4) WAIT: stay where you are; a robot holding an open door must WAIT to keep it open.
The mug belongs on mug_coaster and the cup on cup_coaster.""",
    "sweep": """[Action Options]
1) MOVE <cube>: bring your tool next to that cube (the target must be a cube).
2) SWEEP <cube>: Bob only; push the cube into Alice's dustpan. Both robots must have MOVEd to
   that cube first, and Alice must WAIT while Bob sweeps.
3) DUMP: Alice only, when the dustpan holds at least one cube; empties it into trash_bin.
4) WAIT: stay where you are.""",
    "pack": """[Action Options]
1) PICK <item> PATH <path>: only with an empty gripper.
2) PLACE <item> <slot> PATH <path>: put the item you hold into a free bin slot.
Every robot must PICK or PLACE each round; there is no WAIT.""",
    "rope": """[Action Options]
1) PICK <rope_end> PATH <path>: grasp rope_front_end or rope_back_end; only with an empty gripper.
2) PUT <rope_end> <groove_end> PATH <path>: lay the end you hold on groove_left_end or
   groove_right_end; each groove end takes one rope end.
The rope is heavy: both robots PICK in the same round and PUT in the same round.""",
    "sandwich": """[Action Options]
1) PICK <food>: only with an empty gripper, only food on your own side that is not stacked.
2) PUT <food> <on>: put the food you hold on cutting_board, on another food, or back on table.
3) WAIT: do nothing this round.
Only one robot may PUT in a round, and no robot may PICK and PUT in the same action.""",
}

# ---- task contexts (shared description, e.g. for a single central planner) ---------------------

TASK_CONTEXT = {
    "sort": "Three robots, Alice, Bob and Chad, stand along a line of seven panels and must sort "
    "three cubes, each onto its own coloured bin. Each robot reaches only three panels, so a cube "
    "far from its bin has to be handed along through the shared panels panel3 and panel5.",
    "cabinet": "Three robots, Alice, Bob and Chad, must take a mug and a cup out of a two-door "
    "cabinet and set each on its own coaster. Both doors must be opened and held open (their "
    "holders keep choosing WAIT) while another robot reaches inside.",
    "sweep": "Two robots clear three cubes off the table into trash_bin. Alice holds a dustpan and "
    "Bob holds a broom: both MOVE to the same cube, Bob SWEEPs it into the dustpan while Alice "
    "WAITs, and Alice DUMPs the dustpan into trash_bin.",
    "pack": "Two robots, Alice at the front and Bob at the back of the table, pack six grocery "
    "items into the six slots of a bin. Both move at once, so they agree on who takes which item "
    "and which slot, and plan paths that keep clear of each other.",
    "rope": "Two robots must lift a heavy rope together, one at each end, carry it over an "
    "obstacle wall and lay it into a narrow groove. They pick at the same time, put at the same "
    "time, and keep their grippers about one rope length apart while carrying it.",
    "sandwich": "Two robots stack a sandwich on the cutting board following a recipe. Chad "
    "reaches only the right side of the table and Dave only the left; both reach the board. Only "
    "one robot may PUT per round, so they take turns.",
}

# ---- feedback ----------------------------------------------------------------------------------

FEEDBACK_HEADER = "[Environment Feedback]:"
FEEDBACK_PREVIOUS_PLAN = "- Previous Plan:"
FEEDBACK_PARSE = (
    "- The plan could not be parsed: {reason}.\n"
    "Rewrite it to follow [Action Output Instruction] exactly."
)
FEEDBACK_RULES = "- Task rules: failed, {reasons}"
FEEDBACK_REACH = "Reach check failed"
FEEDBACK_IK = "IK check failed"
FEEDBACK_COLLISION = "Collision check failed"
FEEDBACK_SPAN = "Rope check failed"
FEEDBACK_PATH = "Path check failed"
FEEDBACK_PASSED = "- All checks passed."
GOAL_STEP = "Goal step"
WAYPOINT = "Waypoint"

REACH_OUT = "out of reach: {robot} {point}"
REACH_BAND = "out of the height band {lo:.2f}..{hi:.2f}: {robot} {point}"
IK_FAILED = "no arm pose found for {robot} {point}"
COLLISION_PAIRS = "colliding pairs: {pairs}"
PATH_UNEVEN = (
    "{robot}'s path must be more evenly spaced: the step {long_pair} is {long:.2f} long, too "
    "long; the step {short_pair} is {short:.2f} long, too short; std of step lengths {std:.2f} "
    "exceeds {limit:.2f}"
)

# ---- rules shared by all tasks -----------------------------------------------------------------

RULE_GRIPPER_FULL = "{robot} holds {held} and can't PICK {obj} with a full gripper"
RULE_HELD_BY_OTHER = "{robot} can't PICK {obj}: {owner} is holding it"
RULE_SAME_PICK = "{robot} and {other} can't both PICK {obj}"
RULE_ALL_WAIT = "you can't all WAIT: the task is not done, at least one robot must act"

# ---- shared observation pieces -----------------------------------------------------------------

YOU_ARE = "You are {robot}, {model}."
NEVER_FORGET = "Never forget you are {robot}."
YOUR_REACH = "You can reach only points with {box}."
GRIPPER_EMPTY = "{who} gripper is empty"
GRIPPER_HOLDING = "{who} gripper is holding {obj}"
GRIPPER_AT = "{who} gripper is at {point}, holding {obj}"

# ---- Sort Cubes --------------------------------------------------------------------------------

SORT_LAYOUT = (
    "Seven panels stand in a row on the table, panel1 at the far left to panel7 at the far right; "
    "panel2, panel4 and panel6 are the coloured target bins."
)
SORT_ROLE = (
    "You stand in front of {bin} and sort cubes together with {others}. The task is done only "
    "when all three cubes are on their bins."
)
SORT_CUBE_IN_BIN = "{cube} is in {panel}"
SORT_CUBE_ON = "{cube} is on {panel}"
SORT_CUBE_HELD = "{cube} is held by {robot}"
SORT_GOAL = (
    "Your goal is to put {cube} on {bin}. You can reach only {panels}: you can pick cubes only "
    "from these panels and place them only on these panels."
)
SORT_CAN_REACH = "Cubes you can reach now: {cubes}."
SORT_CANNOT_REACH = "Cubes out of your reach now: {cubes}."
SORT_ASK = (
    "If your cube is out of your reach, ask the others to hand it along; help them the same way. "
    "A cube may rest only on its own bin or on a shared panel, never on another cube's bin."
)
SORT_ROBOT_GOAL = "{robot} must put {cube} on {bin} and reaches {panels}."
RULE_SORT_PICK_PLACE = "{robot}'s ACTION must PICK and PLACE together"
RULE_SORT_FOREIGN_BIN = "{robot} can't place {cube} on {panel}: {cube} may go only on {allowed}"
RULE_SORT_OCCUPIED = "{robot} can't place {cube} on {panel}: {other} is already there"
RULE_SORT_SAME_PANEL = "{robot} and {other} can't both place on {panel}"

# ---- Arrange Cabinet ---------------------------------------------------------------------------

CABINET_ROLE = (
    "You work with {others} to take the mug and the cup out of a two-door cabinet and set each on "
    "its own coaster. Both doors must be open, and stay held open, while anyone reaches inside."
)
CABINET_DOOR = "{door} is {state}; its handle is at {point}"
CABINET_ITEM_INSIDE = "{item} is inside the cabinet"
CABINET_ITEM_ON = "{item} is on {coaster}"
CABINET_ITEM_AT = "{item} is at {point}"
CABINET_ITEM_HELD = "{item} is held by {robot}"
CABINET_COASTER = "{coaster} is at {point}"
CABINET_REACH = "You can reach: {things}. Anything else is out of your reach."
CABINET_ROBOT_REACH = "{robot} can reach: {things}."
CABINET_HOLD = "After you OPEN a door, keep choosing WAIT so that it stays open."
RULE_CABINET_PICK_PLACE = "{robot}'s ACTION must PICK and PLACE {item} together"
RULE_CABINET_NO_DOOR = "{robot} cannot reach the doors"
RULE_CABINET_OPEN_FIRST = "{robot} must PICK {handle} before it can OPEN it"

# ---- Sweep Floor -------------------------------------------------------------------------------

SWEEP_ROLE = {
    "Alice": (
        "You hold a dustpan and work with Bob, who holds a broom, to get every cube into "
        "trash_bin. MOVE to the same cube as Bob so your dustpan sits in front of it, and WAIT "
        "there while Bob SWEEPs it in. Once the dustpan holds a cube you can DUMP it into "
        "trash_bin directly."
    ),
    "Bob": (
        "You hold a broom and work with Alice, who holds a dustpan, to get every cube into "
        "trash_bin. MOVE to the same cube as Alice before you SWEEP it into her dustpan; she must "
        "WAIT while you sweep. Only Alice can DUMP."
    ),
}
SWEEP_TOOL = "Your gripper is at {point}, holding the {tool}."
SWEEP_ROBOT_TOOL = "{robot}'s gripper is at {point}, holding the {tool}."
SWEEP_NEAR = "Your {tool} is next to {cube}, at distance {d:.2f}."
SWEEP_CUBE = "{cube} is at {point}, {status}"
SWEEP_ON_TABLE = "on the table"
SWEEP_IN_DUSTPAN = "inside the dustpan"
SWEEP_IN_TRASH = "inside trash_bin"
SWEEP_TRASH = "trash_bin is at {point}."
RULE_SWEEP_ALICE_WAITS = "Alice must WAIT while Bob SWEEPs"
RULE_SWEEP_ONLY_BOB = "{robot} can't SWEEP: only Bob holds a broom"
RULE_SWEEP_ONLY_ALICE = "{robot} can't DUMP: only Alice holds the dustpan"
RULE_SWEEP_BOTH_AT = "SWEEP {cube} only after both robots have MOVEd to {cube}"
RULE_SWEEP_MOVE_CUBE = "MOVE takes a cube; Alice can DUMP into trash_bin without moving there"
RULE_SWEEP_GONE = "{robot} can't {verb} {cube}: it is no longer on the table"
RULE_SWEEP_EMPTY = "Alice can't DUMP: the dustpan is empty"

# ---- Pack Grocery ------------------------------------------------------------------------------

PACK_ROLE = (
    "You and {other} stand on opposite sides of the table and together put every grocery item "
    "into the bin, one item per slot."
)
PACK_SLOTS = "Bin slots:"
PACK_ITEMS = "Items (the point to aim for above each item's top):"
PACK_ITEM_TABLE = "{item}: {point}, on the table"
PACK_ITEM_SLOT = "{item}: {point}, inside slot {slot}"
PACK_ITEM_HELD = "{item}: held by {robot}"
PACK_BAND = (
    "Keep every waypoint above the items, higher than {lo:.2f} (table height) and lower than "
    "{hi:.2f}."
)
RULE_PACK_ONLY = "{robot}'s ACTION is invalid: it can only PICK or PLACE"
RULE_PACK_NOT_HELD = "{robot} must PICK {item} before it can PLACE it"
RULE_PACK_PACKED = "{robot} can't PICK {item}: it is already in the bin"
RULE_PACK_SLOT_FULL = "{robot} can't PLACE into {slot}: {item} is already there"
RULE_PACK_SAME_SLOT = "{robot} and {other} can't both PLACE into {slot}"

# ---- Move Rope ---------------------------------------------------------------------------------

ROPE_ROLE = (
    "You and {other} must lift a long, heavy rope together, one of you at each end, carry it over "
    "the obstacle wall and lay it into the groove. Always PICK at the same time and PUT at the "
    "same time, and keep your grippers about one rope length ({length:.2f}) apart while you "
    "carry it."
)
ROPE_BAND = "Keep every waypoint higher than {lo:.2f} (table height) and lower than {hi:.2f}."
ROPE_WALL = "The obstacle wall's top corners: {front} and {back}."
RULE_ROPE_ONLY = "{robot}'s ACTION is not supported here: use PICK or PUT"
RULE_ROPE_TOGETHER = "the rope is heavy: both robots must {verb} in the same round"
RULE_ROPE_NOT_HELD = "{robot} must hold {end} to PUT it"
RULE_ROPE_SAME_GROOVE = (
    "each groove end holds only one rope end: {robot} and {other} both chose {target}"
)
ROPE_SPAN = (
    "{robot} and {other} are {d:.2f} apart; holding the rope they must stay within "
    "{lo:.2f}..{hi:.2f}"
)

# ---- Make Sandwich -----------------------------------------------------------------------------

SANDWICH_ROLE = (
    "You are collaborating with {other} to make a {recipe} sandwich. Stack the food in this "
    "order: {order}; bread_slice1 goes on cutting_board first."
)
SANDWICH_SIDE = (
    "You must stay on the {side} side of the table: you can PICK only food on your side, and "
    "{other} only food on the other side. Only one robot may PUT per round, so take turns."
)
SANDWICH_SEEN = "Food you can see (your side and the stack):"
SANDWICH_ON_SIDE = "{food} is on {side} side"
SANDWICH_ON_BOARD = "{food} is on cutting_board"
SANDWICH_ATOP = "{food} is atop {below}"
SANDWICH_HELD = "{food} is held by {robot}"
SANDWICH_NOTHING = "(nothing)"
RULE_SANDWICH_PICK_PUT = "{robot} can't PICK and PUT in the same action"
RULE_SANDWICH_NOT_RECIPE = "{food} is not in the recipe"
RULE_SANDWICH_FIRST = "the recipe puts {food} on cutting_board"
RULE_SANDWICH_NOT_ON = "{food} can't be put on {target}"
RULE_SANDWICH_ORDER = "the recipe puts {food} on {below}"
RULE_SANDWICH_NOT_STACKED = "{target} is not on cutting_board yet"
RULE_SANDWICH_STACKED = "{robot} can't PICK {food}: it is already stacked"
RULE_SANDWICH_NOT_HELD = "{robot} must PICK {food} before it can PUT it"
RULE_SANDWICH_ONE_PUT = "only one robot can PUT at a time"

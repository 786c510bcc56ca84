"""Make Sandwich: Chad (right half) and Dave (left half) stack a recipe on the cutting board
(RoCo `task_sandwich.py`).

State: eight foods, four on each side of the table (at points on side panels), held, or in the
stack on the board; a recipe drawn from RoCo's four with its middle shuffled; two grippers. Each
robot sees only the food on its own side, the stack and its own gripper.

Symbolic (lost against MuJoCo): the stack is a list, so nothing topples or slides; RoCo's
contact-chain success test becomes "the stack equals the recipe", and its early failure (the board
touching anything but bread_slice1 first) is kept as a predicate, though the rules never let it
happen. RoCo does not guarantee a scene is solvable within 10 steps (a long one-sided run in the
ham recipe needs 11); here such scenes are redrawn, so every seed fits the budget.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from environments.rocobench import prompts
from environments.rocobench.base import RocoEnv
from environments.rocobench.feedback import Failure
from environments.rocobench.geometry import Vec3, add, dist_xy
from environments.rocobench.plan import ActionForm, Grammar, Plan
from environments.rocobench.robots import MODEL_DESCRIPTIONS, Gripper, Robot, reach_box
from environments.rocobench.schema import Option

FOODS = (
    "bread_slice1",
    "bread_slice2",
    "bacon",
    "cheese",
    "tomato",
    "cucumber",
    "ham",
    "beef_patty",
)
RECIPES = {
    "bacon": ("bread_slice1", "bacon", "cheese", "tomato", "bread_slice2"),
    "vegetarian": ("bread_slice1", "cheese", "tomato", "cucumber", "bread_slice2"),
    "beef_patty": ("bread_slice1", "beef_patty", "cheese", "tomato", "bread_slice2"),
    "ham": ("bread_slice1", "ham", "cheese", "tomato", "cucumber", "bread_slice2"),
}
LEFT_PANELS = tuple((x, y) for x in (-0.8, -0.6, -0.4) for y in (0.5, 0.8))
RIGHT_PANELS = tuple((x, y) for x in (0.4, 0.6, 0.8, 1.0) for y in (0.3, 0.55))
BOARD = (0.0, 0.5, 0.14)
FOOD_Z = 0.18
LAYER = 0.03
HOVER = 0.1
SIDES = {"Chad": "right", "Dave": "left"}

GRAMMAR = Grammar(
    task="sandwich",
    forms=(
        ActionForm("PICK", "PICK <object>", {"object": FOODS}),
        ActionForm(
            "PUT",
            "PUT <object> <target>",
            {"object": FOODS, "target": (*FOODS, "cutting_board", "table")},
        ),
        ActionForm("WAIT", "WAIT"),
        ActionForm(
            "PICK_PUT",
            "PICK <object> PUT <put_object> <target>",
            {"object": FOODS, "put_object": FOODS, "target": (*FOODS, "cutting_board", "table")},
            offered=False,
        ),
    ),
)

Move = tuple[str, dict[str, str]]
"""One robot's move in a schedule: (form, arguments)."""


def stack_result(stack: Sequence[str], recipe: Sequence[str]) -> tuple[bool, bool]:
    """(success, failed): RoCo's contact chain over the stack on the board."""
    failed = bool(stack) and stack[0] != "bread_slice1"
    return (not failed and tuple(stack) == tuple(recipe)), failed


def next_moves(
    recipe: Sequence[str],
    stack: Sequence[str],
    holding: Mapping[str, str | None],
    owner: Mapping[str, str],
) -> dict[str, Move]:
    """A greedy schedule step: whoever holds the next recipe item PUTs it; the other robot picks
    its earliest unstacked recipe item. Used by the oracle and to reject over-long scenes."""
    k = len(stack)
    moves: dict[str, Move] = {r: ("WAIT", {}) for r in holding}
    if k >= len(recipe):
        return moves
    putter = next((r for r, f in holding.items() if f == recipe[k]), None)
    if putter is not None:
        below = "cutting_board" if k == 0 else recipe[k - 1]
        moves[putter] = ("PUT", {"object": recipe[k], "target": below})
    held = set(holding.values())
    for robot, food in holding.items():
        if robot == putter or food is not None:
            continue
        todo = [f for f in recipe[k:] if owner[f] == robot and f not in held]
        if todo:
            moves[robot] = ("PICK", {"object": todo[0]})
    return moves


def schedule_length(recipe: Sequence[str], owner: Mapping[str, str], robots: Sequence[str]) -> int:
    stack: list[str] = []
    holding: dict[str, str | None] = dict.fromkeys(robots)
    steps = 0
    while len(stack) < len(recipe):
        for robot, (form, args) in next_moves(recipe, stack, holding, owner).items():
            if form == "PUT":
                stack.append(args["object"])
                holding[robot] = None
            elif form == "PICK":
                holding[robot] = args["object"]
        steps += 1
    return steps


class SandwichEnv(RocoEnv):
    name = "sandwich"
    title = "Make Sandwich"
    grammar = GRAMMAR

    def _reset_scene(self, rng: random.Random) -> None:
        self.specs = {
            "Chad": Robot(
                "Chad",
                (-0.1, -0.2),
                reach_box((-0.1, 1.3), (-0.2, 0.7), (0.16, 1)),
                (0.1, 1.45),
                (0.3, 0.1, 0.4),
            ),
            "Dave": Robot(
                "Dave",
                (0.2, 1.06),
                reach_box((-1.4, 0.1), (0.3, 1.5), (0.16, 1)),
                (0.1, 1.35),
                (-0.3, 0.9, 0.4),
            ),
        }
        self.grippers = {r: Gripper(s.home) for r, s in self.specs.items()}
        while True:
            foods = list(FOODS)
            rng.shuffle(foods)
            spots = rng.sample(LEFT_PANELS, 4) + rng.sample(RIGHT_PANELS, 4)
            self.food: dict[str, Vec3] = {
                f: (x + rng.uniform(-0.03, 0.03), y + rng.uniform(-0.03, 0.03), FOOD_Z)
                for f, (x, y) in zip(foods, spots, strict=True)
            }
            self.recipe_name = rng.choice(sorted(RECIPES))
            base = RECIPES[self.recipe_name]
            middle = list(base[1:-1])
            rng.shuffle(middle)
            self.recipe = (base[0], *middle, base[-1])
            owner = {f: self.side_owner(p) for f, p in self.food.items()}
            if schedule_length(self.recipe, owner, tuple(self.specs)) <= self.max_steps:
                break
        self.stack: list[str] = []

    # ---- geometry helpers --------------------------------------------------------------------

    @staticmethod
    def side_owner(p: Vec3) -> str:
        return "Dave" if p[0] < 0 else "Chad"

    def owners(self) -> dict[str, str]:
        return {f: self.side_owner(p) for f, p in self.food.items()}

    def stack_top(self, below: str) -> Vec3:
        if below == "cutting_board":
            return add(BOARD, (0.0, 0.0, LAYER))
        return add(self.food[below], (0.0, 0.0, LAYER))

    def table_spot(self, robot: str) -> Vec3:
        panels = LEFT_PANELS if robot == "Dave" else RIGHT_PANELS
        free = next(
            p for p in panels if all(dist_xy((*p, 0.0), q) > 0.1 for q in self.food.values())
        )
        return (free[0], free[1], FOOD_Z)

    def put_point(self, robot: str, target: str) -> Vec3:
        return self.table_spot(robot) if target == "table" else self.stack_top(target)

    # ---- texts -------------------------------------------------------------------------------

    def _food_line(self, food: str) -> str:
        if food in self.stack:
            i = self.stack.index(food)
            if i == 0:
                return prompts.SANDWICH_ON_BOARD.format(food=food)
            return prompts.SANDWICH_ATOP.format(food=food, below=self.stack[i - 1])
        holder = self.holder_of(food)
        if holder:
            return prompts.SANDWICH_HELD.format(food=food, robot=holder)
        return prompts.SANDWICH_ON_SIDE.format(
            food=food, side=SIDES[self.side_owner(self.food[food])]
        )

    def observation(self, robot: str) -> str:
        spec = self._spec(robot)
        other = next(r for r in self.robots if r != robot)
        seen = [
            f
            for f in FOODS
            if f in self.stack
            or self.holder_of(f) == robot
            or (self.holder_of(f) is None and self.side_owner(self.food[f]) == robot)
        ]
        g = self.grippers[robot]
        grip = (
            prompts.GRIPPER_HOLDING.format(who="Your", obj=g.holding)
            if g.holding
            else prompts.GRIPPER_EMPTY.format(who="Your")
        )
        lines = [
            prompts.YOU_ARE.format(robot=robot, model=MODEL_DESCRIPTIONS[spec.model]),
            prompts.SANDWICH_ROLE.format(
                other=other, recipe=self.recipe_name, order=", ".join(self.recipe)
            ),
            prompts.SANDWICH_SIDE.format(side=SIDES[robot], other=other),
            "At the current round:",
            prompts.SANDWICH_SEEN,
            *(self._food_line(f).replace(f"on {SIDES[robot]} side", "on your side") for f in seen),
            grip + ".",
            prompts.NEVER_FORGET.format(robot=robot),
        ]
        return "\n".join(lines)

    def full_observation(self) -> str:
        lines = [
            prompts.TASK_CONTEXT[self.name],
            f"Recipe ({self.recipe_name}): {', '.join(self.recipe)}.",
            "[Scene description]",
            *(self._food_line(f) for f in FOODS),
        ]
        for r, g in self.grippers.items():
            who = f"{r}'s"
            lines.append(
                (
                    prompts.GRIPPER_HOLDING.format(who=who, obj=g.holding)
                    if g.holding
                    else prompts.GRIPPER_EMPTY.format(who=who)
                )
                + "."
            )
        return "\n".join(lines)

    # ---- rules, poses, effects ---------------------------------------------------------------

    def _task_rules(self, plan: Plan) -> list[Failure]:
        out = []
        for a in plan.actions:
            food, target = a.object, a.target
            if a.form == "PICK_PUT":
                out.append(
                    self._rule(a.robot, prompts.RULE_SANDWICH_PICK_PUT.format(robot=a.robot))
                )
            elif a.form == "PICK" and food in self.stack:
                out.append(
                    self._rule(
                        a.robot, prompts.RULE_SANDWICH_STACKED.format(robot=a.robot, food=food)
                    )
                )
            elif a.form == "PUT" and food and target:
                out += self._put_rules(a.robot, food, target)
        if all(a.form == "PUT" for a in plan.actions):
            out.append(self._rule(None, prompts.RULE_SANDWICH_ONE_PUT))
        return out

    def _put_rules(self, robot: str, food: str, target: str) -> list[Failure]:
        if self.grippers[robot].holding != food:
            return [
                self._rule(robot, prompts.RULE_SANDWICH_NOT_HELD.format(robot=robot, food=food))
            ]
        if food not in self.recipe:
            return [self._rule(robot, prompts.RULE_SANDWICH_NOT_RECIPE.format(food=food))]
        if target == "table":
            return []
        i = self.recipe.index(food)
        if i == 0:
            if target != "cutting_board":
                return [self._rule(robot, prompts.RULE_SANDWICH_FIRST.format(food=food))]
            return []
        if target not in self.recipe:
            return [
                self._rule(robot, prompts.RULE_SANDWICH_NOT_ON.format(food=food, target=target))
            ]
        if self.recipe.index(target) != i - 1:
            return [
                self._rule(
                    robot, prompts.RULE_SANDWICH_ORDER.format(food=food, below=self.recipe[i - 1])
                )
            ]
        if target not in self.stack:
            return [self._rule(robot, prompts.RULE_SANDWICH_NOT_STACKED.format(target=target))]
        return []

    def _goal_segments(self, plan: Plan) -> dict[str, list[Vec3]]:
        out = {}
        for a in plan.actions:
            if a.form == "PICK" and a.object:
                p = self.food[a.object]
                out[a.robot] = [add(p, (0.0, 0.0, HOVER)), p]
            elif a.form == "PUT" and a.target:
                p = self.put_point(a.robot, a.target)
                out[a.robot] = [add(p, (0.0, 0.0, HOVER)), p]
            else:
                out[a.robot] = [self.grippers[a.robot].position]
        return out

    def _apply(self, plan: Plan) -> None:
        for a in plan.actions:
            grip = self.grippers[a.robot]
            if a.form == "PICK" and a.object:
                grip.holding = a.object
                grip.position = add(self.food[a.object], (0.0, 0.0, HOVER))
            elif a.form == "PUT" and a.object and a.target:
                self.food[a.object] = self.put_point(a.robot, a.target)
                if a.target != "table":
                    self.stack.append(a.object)
                grip.holding = None
                grip.position = self.specs[a.robot].home

    def _success(self) -> bool:
        return stack_result(self.stack, self.recipe)[0]

    def _failed(self) -> bool:
        return stack_result(self.stack, self.recipe)[1]

    # ---- legal moves -------------------------------------------------------------------------

    def legal_options(self, robot: str) -> list[Option]:
        self._spec(robot)
        held = self.grippers[robot].holding
        options = []
        if held is not None:
            targets = ["table"]
            if held in self.recipe:
                i = self.recipe.index(held)
                below = "cutting_board" if i == 0 else self.recipe[i - 1]
                if below == "cutting_board" or below in self.stack:
                    targets.insert(0, below)
            options.append(Option("PUT", {"object": (held,), "target": tuple(targets)}))
        else:
            mine = tuple(
                f
                for f in FOODS
                if f not in self.stack
                and self.holder_of(f) is None
                and self.side_owner(self.food[f]) == robot
            )
            if mine:
                options.append(Option("PICK", {"object": mine}))
        options.append(Option("WAIT"))
        return options

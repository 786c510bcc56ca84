"""Robot teams on the RoCoBench-style tasks: Central Plan, RoCo Dialog and IoA modes.

    env = make_env("sort", seed=0)
    planner = make_planner("dialog", engine)          # or "central", "ioa" (hub_url=...), "oracle"
    record = await run_episode(env, planner, EpisodeOptions(), lambda e: print(format_event(e)))

`ioa bench roco` (`agents.robots.bench`, run by `ioa.commands.bench_roco`) runs the tasks × modes
and reports RoCo's metrics;
`ioa demo` runs one task in the IoA mode with a live transcript.
"""

from agents.robots.brain import RobotBrain
from agents.robots.central import CentralPlanner
from agents.robots.dialog import DialogPlanner, DialogRound, utterance_schema
from agents.robots.errors import BadOptions, RobotTeamError, UnknownMode
from agents.robots.ioa_mode import IoAPlanner
from agents.robots.metrics import Summary, summarize
from agents.robots.modes import MODES, ModeSettings, make_planner
from agents.robots.planner import OraclePlanner, PlanContext, Planner, Proposal, Round, Said
from agents.robots.record import Emit, EpisodeRecord, Event
from agents.robots.runner import EpisodeOptions, run_episode
from agents.robots.transcript import format_event, save_transcript

__all__ = [
    "MODES",
    "BadOptions",
    "CentralPlanner",
    "DialogPlanner",
    "DialogRound",
    "Emit",
    "EpisodeOptions",
    "EpisodeRecord",
    "Event",
    "IoAPlanner",
    "ModeSettings",
    "OraclePlanner",
    "PlanContext",
    "Planner",
    "Proposal",
    "RobotBrain",
    "RobotTeamError",
    "Round",
    "Said",
    "Summary",
    "UnknownMode",
    "format_event",
    "make_planner",
    "run_episode",
    "save_transcript",
    "summarize",
    "utterance_schema",
]

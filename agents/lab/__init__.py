"""The lab: experiments over protocols × topologies × models × task sets × seeds, beside
model-free baselines (the task's oracle, a random legal-action agent).

    experiment = load_experiment(Path("examples/lab/roco.yaml"))
    run = run_experiment(experiment, Path("runs/lab/roco"), factory)

`ioa lab EXPERIMENT.yaml` (`ioa.commands.lab`) is the composition: it provides the `factory`
that loads models and starts hubs for the workers.
"""

from agents.lab.cell import Cell, CellContext, Outcome
from agents.lab.errors import BadExperiment, LabError
from agents.lab.experiment import Budgets, Experiment, load_experiment, parse_experiment
from agents.lab.grid import Grid, expand
from agents.lab.run import LabRun, default_jobs, run_experiment
from agents.lab.worker import Resources, ResourcesFactory

__all__ = [
    "BadExperiment",
    "Budgets",
    "Cell",
    "CellContext",
    "Experiment",
    "Grid",
    "LabError",
    "LabRun",
    "Outcome",
    "Resources",
    "ResourcesFactory",
    "default_jobs",
    "expand",
    "load_experiment",
    "parse_experiment",
    "run_experiment",
]

"""The virtual software company: ChatDev-style roles on local models, on a hub, in a sandbox.

A requirement goes through a chain of phases defined in `company.yaml` (demand analysis,
language choice, coding, code completion, review, test loop, environment doc, manual). Each phase
is a conversation between two role agents in an "ioa" group on a hub, whose artifacts come out as
grammar-constrained JSON. The chain is a checkpointed LangGraph graph, so a killed run resumes;
the generated program only ever runs in the sandbox of `environments.workspace`.

    company = Company(await load_engine(path), hub=local_hub)   # a hub launcher: db -> URL
    summary = await company.start("a command-line tool that reverses the words of a sentence")
    summary = await company.resume(summary.folder.id)   # after a kill
"""

from agents.software.artifacts import Answer, Artifact, artifact_schema, decode_text
from agents.software.company import Company, HubLauncher, RunSummary
from agents.software.config import CompanyConfig, load_config
from agents.software.errors import (
    CompanyError,
    ConfigError,
    PhaseFailed,
    RunBroken,
    RunNotFound,
)
from agents.software.roster import Engines
from agents.software.run_view import replay_lines
from agents.software.runfolder import RunFolder, default_runs_dir
from agents.software.topology import build_topology, layers

__all__ = [
    "Answer",
    "Artifact",
    "Company",
    "CompanyConfig",
    "CompanyError",
    "ConfigError",
    "Engines",
    "HubLauncher",
    "PhaseFailed",
    "RunBroken",
    "RunFolder",
    "RunNotFound",
    "RunSummary",
    "artifact_schema",
    "build_topology",
    "decode_text",
    "default_runs_dir",
    "layers",
    "load_config",
    "replay_lines",
]

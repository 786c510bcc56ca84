"""Local inference: one llama.cpp model per GGUF, shared by every agent of a process.

The contract is `Engine` (`chat`, `structured`, `choose`, `stats`, `close`). Get the shared local
engine with `await load_engine(path)` (default: `default_model_path()`); test agents with
`ScriptedEngine`; write tiny test GGUFs with `write_tiny_gguf`. An OpenAI-compatible endpoint is a
`RemoteEngine`, and a `CascadeEngine` puts one behind a local engine (edge–cloud).
"""

from ioa.llm.accounting import AgentStats, Completion
from ioa.llm.batch import BatchInfo
from ioa.llm.cascade import CascadeEngine, Escalation, EscalationPolicy, escalation_scope
from ioa.llm.catalog import CATALOG, CatalogEntry, default_model_path, list_models, models_dir, pull
from ioa.llm.choice import Choice, Criterion, OptionScore
from ioa.llm.engine import DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE, Engine
from ioa.llm.errors import (
    BadOptions,
    ContextTooSmall,
    DownloadFailed,
    EngineClosed,
    EngineConfigConflict,
    EngineError,
    InvalidMessages,
    ModelFileError,
    ModelLoadFailed,
    ModelNotFound,
    NoChatTemplate,
    NotAGGUF,
    OptionsTooLong,
    QuantizeFailed,
    RemoteError,
    RemoteRefused,
    RemoteReplyInvalid,
    RemoteTimeout,
    RemoteUnavailable,
    SchemaNotSupported,
    ScriptExhausted,
    StructuredOutputError,
    TemplateError,
    TruncatedGGUF,
    UnknownModel,
    UnknownShape,
    UnsafeVocabulary,
    UnsupportedArchitecture,
)
from ioa.llm.gguf_file import GGUFFacts, inspect_gguf
from ioa.llm.llamacpp import LlamaCppEngine, load_engine
from ioa.llm.remote import Endpoint, RemoteEngine, parse_endpoint
from ioa.llm.scripted import ScriptedCall, ScriptedEngine
from ioa.llm.structured import prepare_schema
from ioa.llm.synth import SHAPES, synth_model, write_tiny_gguf
from ioa.llm.system import default_threads, system_info
from ioa.llm.view import EngineView
from ioa.meter import Meter, metered

__all__ = [
    "CATALOG",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_TEMPERATURE",
    "SHAPES",
    "AgentStats",
    "BadOptions",
    "BatchInfo",
    "CascadeEngine",
    "CatalogEntry",
    "Choice",
    "Completion",
    "ContextTooSmall",
    "Criterion",
    "DownloadFailed",
    "Endpoint",
    "Engine",
    "EngineClosed",
    "EngineConfigConflict",
    "EngineError",
    "EngineView",
    "Escalation",
    "EscalationPolicy",
    "GGUFFacts",
    "InvalidMessages",
    "LlamaCppEngine",
    "Meter",
    "ModelFileError",
    "ModelLoadFailed",
    "ModelNotFound",
    "NoChatTemplate",
    "NotAGGUF",
    "OptionScore",
    "OptionsTooLong",
    "QuantizeFailed",
    "RemoteEngine",
    "RemoteError",
    "RemoteRefused",
    "RemoteReplyInvalid",
    "RemoteTimeout",
    "RemoteUnavailable",
    "SchemaNotSupported",
    "ScriptExhausted",
    "ScriptedCall",
    "ScriptedEngine",
    "StructuredOutputError",
    "TemplateError",
    "TruncatedGGUF",
    "UnknownModel",
    "UnknownShape",
    "UnsafeVocabulary",
    "UnsupportedArchitecture",
    "default_model_path",
    "default_threads",
    "escalation_scope",
    "inspect_gguf",
    "list_models",
    "load_engine",
    "metered",
    "models_dir",
    "parse_endpoint",
    "prepare_schema",
    "pull",
    "synth_model",
    "system_info",
    "write_tiny_gguf",
]

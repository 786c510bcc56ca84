"""Errors of local inference: one root, `EngineError`, and a class per thing that can go wrong.

Every error about a model file names the file, so a user who typed a wrong path, pointed IoA at a
half-downloaded GGUF or at a model llama.cpp cannot run sees what to fix, and the process lives on.
"""

from __future__ import annotations

from pathlib import Path

from ioa.errors import IoAError


class EngineError(IoAError):
    """Base of everything `ioa.llm` raises."""

    code = "engine_error"
    default_message = "local inference failed"


class ModelFileError(EngineError):
    """A model file cannot be used; `path` names it."""

    code = "model_file_error"
    default_message = "the model file cannot be used"

    def __init__(self, path: str | Path, reason: str | None = None) -> None:
        self.path = Path(path)
        super().__init__(f"{self.path}: {reason or self.default_message}")


class ModelNotFound(ModelFileError):
    code = "model_not_found"
    default_message = "no such model file"


class NotAGGUF(ModelFileError):
    code = "not_gguf"
    default_message = "not a GGUF file"


class TruncatedGGUF(ModelFileError):
    code = "truncated_gguf"
    default_message = "the GGUF file is truncated (an interrupted download?)"


class UnsupportedArchitecture(ModelFileError):
    code = "unsupported_architecture"
    default_message = "llama.cpp does not support this model architecture"


class UnsafeVocabulary(ModelFileError):
    code = "unsafe_vocabulary"
    default_message = (
        "the vocabulary lacks byte-fallback tokens <0x00>..<0xFF>; an unknown character "
        "would abort the process inside llama.cpp"
    )


class ModelLoadFailed(ModelFileError):
    code = "model_load_failed"
    default_message = "llama.cpp could not load the model"


class NoChatTemplate(ModelFileError):
    code = "no_chat_template"
    default_message = (
        "the model has no chat template and no built-in format fits it; "
        "pass chat_template='chatml', 'minicpm' or a Jinja template"
    )


class TemplateError(EngineError):
    code = "template_error"
    default_message = "the chat template failed to render the messages"


class InvalidMessages(EngineError):
    code = "invalid_messages"
    default_message = "messages must be a list of {'role', 'content'} dicts"


class ContextTooSmall(EngineError):
    code = "context_too_small"
    default_message = "n_ctx is too small to hold even the system prompt and one turn"


class SchemaNotSupported(EngineError):
    """The schema cannot be turned into a grammar that really enforces it."""

    code = "schema_not_supported"
    default_message = "the JSON Schema cannot be enforced by a grammar"


class StructuredOutputError(EngineError):
    """The model's reply was not valid for the schema, even after one repair attempt."""

    code = "structured_output_invalid"
    default_message = "the model's reply did not match the schema"

    def __init__(self, message: str | None = None, *, texts: tuple[str, ...] = ()) -> None:
        self.texts = texts
        """The raw replies, first attempt then repair attempt."""
        super().__init__(message)


class EngineClosed(EngineError):
    code = "engine_closed"
    default_message = "the engine is closed"


class EngineConfigConflict(EngineError):
    code = "engine_config_conflict"
    default_message = "the model is already loaded in this process with other settings"


class ScriptExhausted(EngineError):
    code = "script_exhausted"
    default_message = "the scripted engine has no reply left"


class UnknownModel(EngineError):
    code = "unknown_model"
    default_message = "no such model in the catalog"


class UnknownShape(EngineError):
    code = "unknown_shape"
    default_message = "no such model shape"


class DownloadFailed(EngineError):
    code = "download_failed"
    default_message = "the model download failed"


class QuantizeFailed(EngineError):
    code = "quantize_failed"
    default_message = "llama.cpp could not quantize the model"


class BadOptions(EngineError):
    """`choose` was given no options, an empty or non-string option, or duplicates."""

    code = "bad_options"


class OptionsTooLong(EngineError):
    """The prompt plus the longest option do not fit the context window."""

    code = "options_too_long"


class RemoteError(EngineError):
    """An OpenAI-compatible endpoint failed; a cascade then stays local."""

    code = "remote_error"
    default_message = "the remote model endpoint failed"


class RemoteUnavailable(RemoteError):
    code = "remote_unavailable"
    default_message = "the remote model endpoint cannot be reached"


class RemoteTimeout(RemoteError):
    code = "remote_timeout"
    default_message = "the remote model endpoint did not answer in time"


class RemoteRefused(RemoteError):
    code = "remote_refused"
    default_message = "the remote model endpoint refused the request"


class RemoteReplyInvalid(RemoteError):
    code = "remote_reply_invalid"
    default_message = "the remote model endpoint answered something that is not a chat completion"

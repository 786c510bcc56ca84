"""Benchmark of the local engine (`ioa.llm`), measured side by side in one run.

Models: a random-weight GGUF with a MiniCPM4-0.5B-class shape (hidden 1024, 24 layers, 16/2 heads,
ffn 4096, vocab 73440, tied embeddings: the shape measured in the project's inference notes; the
exact MiniCPM4-0.5B config is unpublished), quantized to Q4_K_M by llama.cpp and written to a
temporary folder under ~/.cache, never the repository; and the bundled SmolLM2-135M-Instruct Q4_1.

Figures, per model:

- P1 = one agent turn through IoA (async API, worker thread, template, context policy, per-agent
  state) / the same call straight into llama-cpp-python (`Llama.create_chat_completion` on a second
  instance of the same file, same parameters). Runs interleaved, fresh prompt each run, medians.
  Goal <= 1.05. Also the same ratio in process CPU seconds (load-proof): the two sides decode on
  two threads of one process (IoA on its worker, llama_cpp on the main thread), each with its own
  OpenMP team, so libgomp finds more threads than cores and stops spinning: nearly every barrier
  of a decode sleeps and is woken (about 29,000 voluntary context switches in a 32-token SmolLM2
  turn, against about 20 with one team), and the wall clock of a small model then measures the
  scheduler and the neighbours as much as the code.
- P2 = prompt tokens evaluated in a 3-agent, 10-turn dialog with prefix reuse / without any reuse
  (every prompt token of every turn). Goal <= 0.30. Also measured: the same dialog on an engine
  with one slot and the per-agent state cache disabled (budget 0), which still reuses whatever
  prefix the previous speaker left in the KV cache (the shared rules). The agents' system
  prompts start with the same rules, as a protocol description would, then the agent's role.
- pp / tg: prompt and generation tokens per second of the IoA turns (medians).
- RSS with 1 vs 10 agents on one model, in a fresh process: MB per extra agent beyond the KV
  states the agents keep (those are bounded by the state budget). Goal < 20.
- P7 = aggregate generated tokens/s of N agents calling at once (continuous batching on one
  context) / the same N calls served one at a time by the same engine, for N = 1, 2, 4, 8, with 1
  and 2 threads; rounds alternate concurrent and serial, medians. Each agent has its own short
  prompt and generates `P7_GEN` tokens (greedy; a random-weight model never stops early). Also
  per-agent latency p50/p99 and time to first token under batching, and the same ratio in process
  CPU seconds per generated token (load-proof: on a shared box the wall clock also measures the
  neighbours). Goals: >= 2.5 at 4 agents, >= 3.5 at 8. And the curve that explains it: llama.cpp's
  CPU time per token of a pass decoding k sequences, k = 1..16, against a prompt chunk.

Usage: `python benchmarks/engine.py [--runs 5] [--threads N] [--only p1|p7|curve]`. Ends with
`RESULT {json}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from llama_cpp import Llama

from ioa.llm import LlamaCppEngine, default_threads, synth_model, system_info
from ioa.llm.catalog import bundled_model_path
from ioa.llm.loaded import REPEAT_PENALTY, extra_buffers

MB = 1 << 20
RULES = (
    "You are one of three engineers planning a small web service together, in a group run by a "
    "hub that enforces the conversation protocol. Every message you send is one move: a "
    "discussion turn addressed to the next speaker, a task assignment with an id, a title and a "
    "description, a progress report or a result for a task you were given, a pause until chosen "
    "tasks finish, or the conclusion that answers the group's goal. Keep answers short and "
    "concrete: name the next step, who does it and why. Stay on topic, never repeat what was "
    "said, ask when something is unclear, disagree with reasons, and conclude only when every "
    "task has an owner and the plan is complete. The service needs an HTTP API with "
    "authentication, a database schema with migrations, background jobs for e-mail, tests that "
    "run in continuous integration, and a deployment to one small virtual machine. "
) * 2
"""Shared by every agent, first in its system prompt (as a protocol description would be)."""
PERSONA = RULES + "You are {name}; the others are the other two engineers."
QUESTION = "Propose the first three tasks for the service and who should take each one."
AGENTS = ["ada", "bob", "cyd"]


def p1_messages(run: int) -> list[dict[str, str]]:
    """A fresh prompt per run (the leading run number defeats any prefix cache on both sides)."""
    return [
        {"role": "system", "content": f"Run {run}. " + PERSONA.format(name="ada")},
        {"role": "user", "content": QUESTION},
    ]


async def measure_p1(path: Path, threads: int, runs: int, gen: int) -> dict[str, Any]:
    async with LlamaCppEngine(path, n_ctx=2048, n_threads=threads) as engine:
        await engine.start()
        with extra_buffers(False):  # the same model params the engine uses
            direct = Llama(
                str(path), n_ctx=2048, n_threads=threads, n_threads_batch=threads, verbose=False
            )
        ioa_s, direct_s, pp, tg, same_tokens = [], [], [], [], True
        cpu: dict[str, list[float]] = {"ioa": [], "direct": []}
        for run in range(runs + 1):  # run 0 warms both up and is not counted
            order = ("ioa", "direct") if run % 2 == 0 else ("direct", "ioa")
            for side in order:
                messages = p1_messages(run)
                start, cpu_start = time.perf_counter(), time.process_time()
                if side == "ioa":
                    c = await engine.chat(
                        messages, agent=f"p1-{run}", max_tokens=gen, temperature=0
                    )
                    seconds, ioa_tokens = time.perf_counter() - start, c.completion_tokens
                    if run:
                        ioa_s.append(seconds)
                        pp.append(c.prompt_tokens_per_second)
                        tg.append(c.tokens_per_second)
                else:
                    out = direct.create_chat_completion(
                        messages,  # type: ignore[arg-type]  # llama_cpp's TypedDicts, same shape
                        max_tokens=gen,
                        temperature=0,
                        repeat_penalty=REPEAT_PENALTY,
                    )
                    seconds = time.perf_counter() - start
                    direct_tokens = out["usage"]["completion_tokens"]  # type: ignore[index]
                    if run:
                        direct_s.append(seconds)
                if run:
                    cpu[side].append(time.process_time() - cpu_start)
            same_tokens = same_tokens and ioa_tokens == direct_tokens
        direct.close()
    return {
        "p1_overhead_ratio": statistics.median(ioa_s) / statistics.median(direct_s),
        "p1_ioa_s": statistics.median(ioa_s),
        "p1_direct_s": statistics.median(direct_s),
        "p1_cpu_ratio": statistics.median(cpu["ioa"]) / statistics.median(cpu["direct"]),
        "p1_runs": runs,
        "p1_same_completion_tokens": same_tokens,
        "pp_tok_s": statistics.median(pp),
        "tg_tok_s": statistics.median(tg),
    }


def dialog_prompt(agent: str, transcript: list[tuple[str, str]]) -> list[dict[str, str]]:
    """What `agent` sees: its persona, the shared transcript (its own lines as assistant turns)."""
    messages = [
        {"role": "system", "content": PERSONA.format(name=agent)},
        {"role": "user", "content": f"Goal: {QUESTION}"},
    ]
    for speaker, text in transcript:
        if speaker == agent:
            messages.append({"role": "assistant", "content": text})
        else:
            messages.append({"role": "user", "content": f"{speaker}: {text}"})
    messages.append({"role": "user", "content": f"Your turn, {agent}."})
    return messages


async def measure_p2(path: Path, threads: int, turns: int = 10) -> dict[str, Any]:
    """Play the dialog with prefix reuse, then replay the same prompts with the state cache off."""
    transcript: list[tuple[str, str]] = []
    script = []
    async with LlamaCppEngine(path, n_ctx=4096, n_threads=threads) as engine:
        start = time.perf_counter()
        for turn in range(turns):
            agent = AGENTS[turn % len(AGENTS)]
            messages = dialog_prompt(agent, transcript)
            reply = await engine.chat(messages, agent=agent, max_tokens=16, temperature=0.7)
            script.append((agent, messages))
            transcript.append((agent, reply.text.strip() or "(silence)"))
        with_s = time.perf_counter() - start
        with_reuse = engine.stats()
    # one slot: with a slot per agent, agents keep their own KV and the state cache is never used
    async with LlamaCppEngine(
        path, n_ctx=4096, n_threads=threads, state_budget_mb=0, slots=1
    ) as engine:
        start = time.perf_counter()
        for agent, messages in script:
            await engine.chat(messages, agent=agent, max_tokens=16, temperature=0.7)
        budget0_s = time.perf_counter() - start
        budget0 = engine.stats()
    if budget0.prompt_tokens != with_reuse.prompt_tokens:
        raise RuntimeError("the replay sent other prompts than the dialog")
    return {
        "p2_prompt_eval_ratio": with_reuse.evaluated_prompt_tokens / with_reuse.prompt_tokens,
        "p2_prompt_tokens": with_reuse.prompt_tokens,
        "p2_evaluated_with_reuse": with_reuse.evaluated_prompt_tokens,
        "p2_evaluated_state_budget_0": budget0.evaluated_prompt_tokens,
        "p2_ratio_vs_state_budget_0": (
            with_reuse.evaluated_prompt_tokens / budget0.evaluated_prompt_tokens
        ),
        "p2_dialog_s_with_reuse": with_s,
        "p2_dialog_s_state_budget_0": budget0_s,
    }


P7_AGENTS = (1, 2, 4, 8)
P7_GEN = 32
P7_TOPICS = ["the database", "the API", "the tests", "e-mail jobs", "deployment", "logging",
             "authentication", "backups"]  # fmt: skip


def p7_messages(i: int, round_: int) -> list[dict[str, str]]:
    """Agent `i`'s own short prompt (a fresh one per round, so no call reuses another's KV)."""
    return [
        {"role": "system", "content": f"Round {round_}. You are engineer {i}."},
        {"role": "user", "content": f"In two sentences, how should we handle {P7_TOPICS[i]}?"},
    ]


async def p7_round(
    engine: LlamaCppEngine, n: int, round_: int, concurrent: bool
) -> tuple[float, float, int, list[Any]]:
    async def one(i: int) -> tuple[float, Any]:
        start = time.perf_counter()
        c = await engine.chat(
            p7_messages(i, round_), agent=f"p7-{round_}-{i}", max_tokens=P7_GEN, temperature=0
        )
        return time.perf_counter() - start, c

    start, cpu = time.perf_counter(), time.process_time()
    if concurrent:
        done = await asyncio.gather(*(one(i) for i in range(n)))
    else:
        done = [await one(i) for i in range(n)]
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return wall, cpu, sum(c.completion_tokens for _, c in done), list(done)


async def measure_p7(path: Path, threads: int, rounds: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    async with LlamaCppEngine(path, n_ctx=1024, n_threads=threads, slots=max(P7_AGENTS)) as engine:
        await p7_round(engine, 2, -1, True)  # warm-up
        counter = 0
        for n in P7_AGENTS:
            rates: dict[bool, list[float]] = {True: [], False: []}
            cpu_rates: dict[bool, list[float]] = {True: [], False: []}
            latencies, ttft = [], []
            for r in range(rounds):
                for concurrent in (True, False) if r % 2 == 0 else (False, True):
                    counter += 1
                    wall, cpu, tokens, done = await p7_round(engine, n, counter, concurrent)
                    rates[concurrent].append(tokens / wall)
                    cpu_rates[concurrent].append(tokens / cpu)
                    if concurrent:
                        latencies += [seconds for seconds, _ in done]
                        ttft += [c.prompt_seconds for _, c in done]
            batched, serial = statistics.median(rates[True]), statistics.median(rates[False])
            figures[f"p7_batch{n}_ratio"] = batched / serial
            cpu_ratio = statistics.median(cpu_rates[True]) / statistics.median(cpu_rates[False])
            figures[f"p7_batch{n}_cpu_ratio"] = cpu_ratio
            figures[f"p7_batch{n}_tok_s"] = batched
            figures[f"p7_serial{n}_tok_s"] = serial
            figures[f"p7_batch{n}_latency_p50_s"] = _quantile(latencies, 0.5)
            figures[f"p7_batch{n}_latency_p99_s"] = _quantile(latencies, 0.99)
            figures[f"p7_batch{n}_ttft_p50_s"] = _quantile(ttft, 0.5)
            figures[f"p7_batch{n}_ttft_p99_s"] = _quantile(ttft, 0.99)
            print(
                f"  P7 {threads} thr, {n} agents: {batched:.1f} tok/s batched vs {serial:.1f} "
                f"one at a time = {batched / serial:.2f}x (CPU time {cpu_ratio:.2f}x); latency p50 "
                f"{figures[f'p7_batch{n}_latency_p50_s']:.2f} s p99 "
                f"{figures[f'p7_batch{n}_latency_p99_s']:.2f} s; first token p50 "
                f"{figures[f'p7_batch{n}_ttft_p50_s']:.2f} s p99 "
                f"{figures[f'p7_batch{n}_ttft_p99_s']:.2f} s",
                flush=True,
            )
    return figures


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


CURVE_WIDTHS = (1, 2, 4, 8, 16)


def pass_cost_curve(path: Path, reps: int = 8) -> dict[str, Any]:
    """Why P7 is what it is, load-proof: llama.cpp's own CPU milliseconds per token of a decode
    pass with k sequences (one token each, every row sampled), on one thread, straight through
    the low-level API, beside a 64-token prompt chunk of one sequence (the best case: prefill).
    If a pass of k tokens cost what a pass of one does (a bandwidth-bound decode), batching
    would give k times the tokens; when each token costs its own arithmetic it gives nothing."""
    import llama_cpp

    with extra_buffers(False):
        llm = Llama(str(path), n_ctx=64, n_threads=1, n_threads_batch=1, verbose=False)
    params = type(llm.context_params).from_buffer_copy(llm.context_params)
    width = max(CURVE_WIDTHS)
    params.n_seq_max, params.n_ctx, params.kv_unified = width, width * 256, False
    params.n_batch = params.n_ubatch = 512
    ctx = llama_cpp.llama_init_from_model(llm.model, params)
    batch = llama_cpp.llama_batch_init(512, 0, 1)
    positions = [0] * width

    def decode(seqs: list[int], tokens_each: int, logits_all: bool) -> float:
        n = 0
        for seq in seqs:
            for i in range(tokens_each):
                batch.token[n], batch.pos[n] = 100 + (n % 50), positions[seq] + i
                batch.n_seq_id[n], batch.seq_id[n][0] = 1, seq
                batch.logits[n] = logits_all or i == tokens_each - 1
                n += 1
            positions[seq] += tokens_each
        batch.n_tokens = n
        cpu = time.process_time()
        if llama_cpp.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")
        return time.process_time() - cpu

    figures: dict[str, Any] = {}
    try:
        decode(list(range(width)), 16, False)  # every sequence has a short prompt
        for k in CURVE_WIDTHS:
            cost = statistics.median(decode(list(range(k)), 1, True) for _ in range(reps))
            figures[f"p7_pass_cpu_ms_per_token_k{k}"] = cost * 1000 / k
        chunk = []
        for _ in range(3):
            llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(ctx), 0, -1, -1)
            positions[0] = 0
            chunk.append(decode([0], 64, False))
        figures["p7_prompt_chunk64_cpu_ms_per_token"] = statistics.median(chunk) * 1000 / 64
    finally:
        llama_cpp.llama_batch_free(batch)
        llama_cpp.llama_free(ctx)
        llm.close()
    one = figures["p7_pass_cpu_ms_per_token_k1"]
    print(
        "  P7 pass cost, CPU ms per token (1 thread): "
        + ", ".join(f"k={k} {figures[f'p7_pass_cpu_ms_per_token_k{k}']:.1f}" for k in CURVE_WIDTHS)
        + f"; 64-token prompt chunk {figures['p7_prompt_chunk64_cpu_ms_per_token']:.1f}"
        + f" (the best batching could give: {one / min(figures.values()):.1f}x)",
        flush=True,
    )
    return figures


def bench_p7(label: str, path: Path, rounds: int, curve_only: bool = False) -> dict[str, Any]:
    print(f"\n== P7 {label}: {path.name} ({path.stat().st_size / MB:.0f} MB)", flush=True)
    figures = pass_cost_curve(path)
    for threads in () if curve_only else (1, 2):
        measured = asyncio.run(measure_p7(path, threads, rounds))
        figures |= {f"{k}_{threads}t": v for k, v in measured.items()}
    return figures


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def rss_probe(path: Path, threads: int, agents: int = 10) -> dict[str, Any]:
    """Run in a fresh process: RSS after one agent's turn and after ten agents' turns."""
    async with LlamaCppEngine(path, n_ctx=2048, n_threads=threads) as engine:
        samples = []
        for i in range(agents):
            name = f"agent{i}"
            messages = [
                {"role": "system", "content": PERSONA.format(name=name)},
                {"role": "user", "content": QUESTION},
            ]
            await engine.chat(messages, agent=name, max_tokens=8)
            if i in (0, agents - 1):
                await engine.chat(messages, agent="observer", max_tokens=1)  # park the last agent
                samples.append((rss_bytes(), engine.cache_info().bytes_used))
    (rss1, kv1), (rss10, kv10) = samples
    extra = agents - 1
    return {
        "rss_1_agent_mb": rss1 / MB,
        "rss_10_agents_mb": rss10 / MB,
        "kv_states_mb": kv10 / MB,
        "mb_per_extra_agent": (rss10 - rss1 - (kv10 - kv1)) / extra / MB,
        "mb_per_extra_agent_incl_kv": (rss10 - rss1) / extra / MB,
    }


def measure_rss(path: Path, threads: int) -> dict[str, Any]:
    root = str(Path(__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    out = subprocess.run(
        [sys.executable, __file__, "--rss-probe", str(path), "--threads", str(threads)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    figures: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return figures


def bench_model(
    label: str, path: Path, threads: int, runs: int, p1_only: bool = False
) -> dict[str, Any]:
    print(f"\n== {label}: {path.name} ({path.stat().st_size / MB:.0f} MB), {threads} threads")
    figures: dict[str, Any] = {}
    figures |= asyncio.run(measure_p1(path, threads, runs, gen=32))
    print(
        f"P1 {figures['p1_overhead_ratio']:.3f}  (IoA {figures['p1_ioa_s']:.3f} s, "
        f"llama_cpp {figures['p1_direct_s']:.3f} s, {runs} runs; CPU time "
        f"{figures['p1_cpu_ratio']:.3f}; pp {figures['pp_tok_s']:.0f} t/s, "
        f"tg {figures['tg_tok_s']:.1f} t/s; load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    if p1_only:
        return figures
    figures |= asyncio.run(measure_p2(path, threads))
    print(
        f"P2 {figures['p2_prompt_eval_ratio']:.3f}  ({figures['p2_evaluated_with_reuse']} of "
        f"{figures['p2_prompt_tokens']} prompt tokens evaluated; with the state cache off "
        f"{figures['p2_evaluated_state_budget_0']}, ratio "
        f"{figures['p2_ratio_vs_state_budget_0']:.3f}; dialog "
        f"{figures['p2_dialog_s_with_reuse']:.1f} s vs "
        f"{figures['p2_dialog_s_state_budget_0']:.1f} s)"
    )
    figures |= measure_rss(path, threads)
    print(
        f"RSS {figures['rss_1_agent_mb']:.0f} MB with 1 agent, "
        f"{figures['rss_10_agents_mb']:.0f} MB with 10 "
        f"(KV states {figures['kv_states_mb']:.1f} MB): "
        f"{figures['mb_per_extra_agent']:.2f} MB per extra agent beyond its KV state"
    )
    return figures


def main(args: argparse.Namespace) -> None:
    threads = args.threads or default_threads()
    info = system_info()
    print(f"llama.cpp: {info.text}")
    print(f"load average at start: {os.getloadavg()}")
    scratch = Path.home() / ".cache"  # not /tmp: a busy shared /tmp lost the file mid-run once
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ioa-engine-bench-", dir=scratch) as tmp:
        start = time.perf_counter()
        minicpm = synth_model("minicpm4-0.5b", Path(tmp) / "minicpm4-0.5b-shape-q4_k_m.gguf")
        print(f"synthesized the MiniCPM4-0.5B-class Q4_K_M in {time.perf_counter() - start:.0f} s")
        results: dict[str, dict[str, Any]] = {"minicpm4_0_5b_shape_q4_k_m": {}}
        if args.only in (None, "p1"):
            results["minicpm4_0_5b_shape_q4_k_m"] |= bench_model(
                "MiniCPM4-0.5B-class", minicpm, threads, args.runs, args.only == "p1"
            )
        if args.only != "p1":
            results["minicpm4_0_5b_shape_q4_k_m"] |= bench_p7(
                "MiniCPM4-0.5B-class", minicpm, args.p7_rounds, args.only == "curve"
            )
    smollm2 = bundled_model_path()
    if smollm2 is not None:
        results["smollm2_135m_q4_1"] = {}
        if args.only in (None, "p1"):
            results["smollm2_135m_q4_1"] |= bench_model(
                "SmolLM2-135M", smollm2, threads, args.runs, args.only == "p1"
            )
        if args.only != "p1":
            results["smollm2_135m_q4_1"] |= bench_p7(
                "SmolLM2-135M", smollm2, args.p7_rounds, args.only == "curve"
            )
    main_figures = results["minicpm4_0_5b_shape_q4_k_m"]
    keys = [
        "p1_overhead_ratio",
        "p1_cpu_ratio",
        "p2_prompt_eval_ratio",
        "pp_tok_s",
        "tg_tok_s",
        "mb_per_extra_agent",
    ]
    summary = {key: round(main_figures[key], 4) for key in keys if key in main_figures}
    for n in (4, 8):  # the headline: the 0.5B class at the engine's thread count (2 on this box)
        key = f"p7_batch{n}_ratio_{min(threads, 2)}t"
        if key in main_figures:
            summary[f"p7_batch{n}_ratio"] = round(main_figures[key], 4)
            cpu_key = key.replace("ratio", "cpu_ratio")
            summary[f"p7_batch{n}_cpu_ratio"] = round(main_figures[cpu_key], 4)
    summary["load_avg_1m"] = round(os.getloadavg()[0], 2)
    summary |= {"threads": threads, "simd": info.simd, "models": _rounded(results)}
    print("RESULT " + json.dumps(summary))


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return round(value, 4) if isinstance(value, float) else value


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per side for P1")
    parser.add_argument("--threads", type=int, default=0, help="default: physical cores")
    parser.add_argument("--p7-rounds", type=int, default=2, help="rounds per side for P7")
    parser.add_argument("--only", choices=["p1", "p7", "curve"], help="run only these figures")
    parser.add_argument("--rss-probe", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.rss_probe:
        probe_threads = arguments.threads or default_threads()
        print(json.dumps(asyncio.run(rss_probe(arguments.rss_probe, probe_threads))))
    else:
        main(arguments)

"""What a soak found, and how `hub_soak.py` tells it: a table per phase, memory, integrity, goals,
and the one `RESULT {json}` line."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from _hub.chat_agents import Faults, Pacing
from _hub.flood_waves import WaveTally
from _hub.flooder import FloodReport
from _hub.ledger import Audit, Ledger
from _hub.measure import percentile
from _hub.phases import REPORTED, Phase, PhaseFigures, PhaseSamples, reduce_phase
from _hub.rss import TrafficLine
from _hub.slow_reader import Leftovers
from _hub.soak_config import HUB_RECENT_IDS, SoakConfig
from _hub.vitals import Vitals

P99_RATIO_GOAL = 3.0
"""Normal agents' p99 during the flood ≤ this × their quiet p99."""
RSS_RETURN_GOAL = 1.10
"""RSS after the load ≤ this × the idle base."""
BASELINE_DRIFT = 2.0
"""Quiet and after p99 further apart than this: a baseline not to trust without a look."""
MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Window:
    """One phase as the hub and the load process lived it."""

    phase: Phase
    seconds: float
    hub_cpu_pct: float
    load_cpu_pct: float
    hub: Vitals
    load: Vitals
    """The load process's own loop: a late one here would inflate the figures, not the hub."""
    rss_max_mb: float
    load_avg: float
    """The machine's 1-minute load average as the phase ended: other jobs show here."""


@dataclass(frozen=True, slots=True)
class Memory:
    """Hub RSS in MB."""

    base: float
    """Idle, everyone connected, before any load."""
    preflood: float
    """The end of the quiet phase: normal traffic alone grew it this far."""
    peak: float
    after: float
    """Idle again, `--settle` seconds after the load stopped."""
    line: TrafficLine
    """RSS as normal traffic alone grows it, fitted on the quiet phase."""
    flood_excess: float
    """The most RSS rose above that line during the flood and its drain."""
    after_expected: float
    """Where the line says RSS would be after the load, had there been no flood."""


@dataclass(frozen=True, slots=True)
class SlowFate:
    """What became of the slow reader."""

    dropped_by_hub: bool
    """False: the hub still held it when the flood ended, and the soak cut it."""
    dropped_after_s: float | None
    """Seconds from its connecting (the flood's start) until the hub counted it gone."""
    leftovers: Leftovers | None
    """What its socket got in all, read out after the hub let go."""

    def describe(self) -> str:
        if not self.dropped_by_hub:
            return "STILL CONNECTED when the flood ended (the soak cut it)"
        when = self.dropped_after_s
        text = "dropped by the hub" + (
            f" {when:.0f} s after connecting" if when is not None else ""
        )
        left = self.leftovers
        if left is not None:
            how = f"close code {left.close_code}" if left.close_code else "no close frame"
            text += (
                f" ({how}); its socket had received {left.deliveries:,} deliveries,"
                f" {left.bytes / MB:.1f} MB"
            )
        return text


@dataclass(frozen=True, slots=True)
class Outcome:
    windows: list[Window]
    samples: dict[Phase, PhaseSamples]
    memory: Memory
    pacing: Pacing
    flood: FloodReport
    slow: SlowFate
    heads: dict[str, int]
    """Group id → newest seq as the hub counted it, before it stopped."""
    waves: WaveTally
    faults: Faults
    deep_faults: Faults
    ledger: Ledger


def _num(x: float, digits: int = 1) -> str:
    return "—" if math.isnan(x) else f"{x:,.{digits}f}"


def _phase_table(outcome: Outcome) -> None:
    head = (
        f"{'phase':<7}{'secs':>6}{'sent':>9}{'acked':>9}{'ack p50':>9}{'p99':>8}{'max':>8}"
        f"{'dlv p50':>9}{'p99':>8}  | {'hub cpu':>7}{'late ms':>8}{'stalls':>7}{'gc2':>5}"
        f"  | {'load cpu':>8}{'late':>6}  | {'RSS max':>8}{'loadavg':>8}"
    )
    print("\nnormal agents, round trips in ms (ack: send → ack; dlv: send → arrival at a peer);")
    print(
        "cpu in % of one core; late: the worst wake-up delay of the process's event loop;"
        " stalls: wake-ups over 10 ms late; loadavg: the machine's, as the phase ended"
    )
    print(head + "\n" + "-" * len(head))
    for w in outcome.windows:
        f = reduce_phase(outcome.samples[w.phase])
        print(
            f"{w.phase.name.lower():<7}{w.seconds:>6.0f}{f.sent:>9,}{f.acked:>9,}"
            f"{_num(f.p50_ms, 2):>9}{_num(f.p99_ms):>8}{_num(f.max_ms, 0):>8}"
            f"{_num(f.delivery_p50_ms, 2):>9}{_num(f.delivery_p99_ms):>8}"
            f"  | {w.hub_cpu_pct:>6.0f}%{w.hub.loop_lag_max_ms:>8.0f}{w.hub.stalls:>7}"
            f"{w.hub.full_gcs:>5}  | {w.load_cpu_pct:>7.0f}%{w.load.loop_lag_max_ms:>6.0f}"
            f"  | {_num(w.rss_max_mb):>8}{w.load_avg:>8.1f}"
        )


def _memory(config: SoakConfig, outcome: Outcome) -> None:
    m = outcome.memory
    print(
        f"\nhub RSS (MB): base {m.base:.1f} (idle, all connected) · before the flood"
        f" {m.preflood:.1f} · peak {m.peak:.1f} · after {m.after:.1f} (idle,"
        f" {config.settle:g} s after the load)"
    )
    print(
        f"  normal traffic alone grew it {m.line.mb_per_message * 1024:.2f} KB a message in"
        f" the quiet phase (the hub's per-group state); on that line it would be"
        f" {m.after_expected:.1f} MB after the load"
    )
    state = "passed to the hub" if config.outbox_bytes_supported else "NOT in this hub's HubConfig"
    print(
        f"  above the line: at most {m.flood_excess:.1f} MB during the flood (budget: outbox"
        f" {config.outbox_bytes / MB:g} MB, {state}, + {config.rss_slack_mb:g} MB ="
        f" {_rss_budget(config):.1f} MB); {m.after - m.after_expected:.1f} MB after the load"
    )
    print(f"  slow reader: {outcome.slow.describe()}")


def _rss_budget(config: SoakConfig) -> float:
    return config.outbox_bytes / MB + config.rss_slack_mb


def _load(outcome: Outcome) -> None:
    fl, t = outcome.flood, outcome.waves
    print(
        f"\nflood: {len(fl.bursts)} bursts, {fl.frames:,} frames written, {len(fl.acked):,}"
        f" acked at {fl.acked_per_s:,.0f}/s while bursts were being worked off (slowest"
        f" burst: {_num(fl.absorb_max_s)} s), {fl.errors} errors"
        + (f", socket closed by the hub ({fl.closed})" if fl.closed else "")
    )
    resumes = sorted(int(ms * 1e6) for ms in t.resume_ms)
    print(
        f"reconnect storms: {t.bounced:,} reconnects, resume (connect → synced) p50"
        f" {_num(percentile(resumes, 0.5))} / p99 {_num(percentile(resumes, 0.99))} / max"
        f" {_num(percentile(resumes, 1.0))} ms, {t.storm_failures} failed,"
        f" {t.told_to_wait} times told `503 busy` and retried"
    )
    print(
        f"resends: {t.resends_recent:,} recent, {t.resends_old:,} of an agent's first message,"
        f" {t.resends_beyond_window:,} older than the hub's {HUB_RECENT_IDS:,} remembered ids"
    )
    p = outcome.pacing
    print(f"normal messages paced: {p.sent:,} sent, {p.skipped:,} skipped by the schedule")


def _faults(label: str, f: Faults) -> str:
    return (
        f"{label}: {f.skipped} seqs skipped, {f.repeated} seen twice, {f.redelivered} resends"
        f" delivered again, {f.resend_wrong_seq} resends acked with a new seq, {f.errors} error"
        f" frames, {f.dropped_by_hub} sockets dropped by the hub"
    )


def _integrity(outcome: Outcome, audit: Audit) -> None:
    print(
        f"\ndatabase (read-only, hub stopped): {audit.stored:,} rows; {audit.promises:,} acked"
        f" ids checked: lost {audit.lost}, stored under another seq {audit.moved},"
        f" duplicates {audit.duplicates}, gaps {audit.gaps};"
        f" conflicting acks {outcome.ledger.ack_conflicts};"
        f" unacked at the end {audit.unacked} ({audit.unacked_stored} stored)"
    )
    print(_faults("normal agents saw", outcome.faults))
    print(_faults("deep group saw", outcome.deep_faults))
    examples = audit.examples + outcome.faults.examples + outcome.deep_faults.examples
    for text in examples[:12]:
        print(f"  e.g. {text}")


def _p99(outcome: Outcome, phase: Phase) -> float:
    return reduce_phase(outcome.samples[phase]).p99_ms


def baseline_steady(outcome: Outcome) -> bool:
    quiet, after = _p99(outcome, Phase.QUIET), _p99(outcome, Phase.AFTER)
    return max(quiet, after) <= BASELINE_DRIFT * min(quiet, after)


def integrity(outcome: Outcome, audit: Audit) -> dict[str, bool]:
    """What a hub must never break, under any load."""
    f, deep = outcome.faults, outcome.deep_faults
    return {
        "no_loss_duplicate_or_gap": not (audit.lost or audit.duplicates or audit.gaps),
        "acked_seq_is_stored_seq": audit.moved == 0,
        "resends_acked_with_first_seq": not (
            outcome.ledger.ack_conflicts or f.resend_wrong_seq or deep.resend_wrong_seq
        ),
        "resends_never_delivered_again": not (f.redelivered or deep.redelivered),
        "deliveries_once_in_order": not (f.skipped or f.repeated or deep.skipped or deep.repeated),
    }


def integrity_held(outcome: Outcome, audit: Audit) -> bool:
    return all(integrity(outcome, audit).values())


def goals(config: SoakConfig, outcome: Outcome, audit: Audit) -> dict[str, bool]:
    """The issue's goals, then the integrity ones."""
    m = outcome.memory
    return {
        "p99_flood_le_3x_quiet": _p99(outcome, Phase.FLOOD)
        <= P99_RATIO_GOAL * _p99(outcome, Phase.QUIET),
        "rss_within_outbox_budget": m.flood_excess <= _rss_budget(config),
        "rss_after_within_10pct_of_base": m.after <= RSS_RETURN_GOAL * m.base,
        "rss_after_within_10pct_of_traffic_line": m.after <= RSS_RETURN_GOAL * m.after_expected,
        **integrity(outcome, audit),
    }


def print_report(config: SoakConfig, outcome: Outcome, audit: Audit) -> None:
    _phase_table(outcome)
    _memory(config, outcome)
    _load(outcome)
    _integrity(outcome, audit)
    quiet, flood, after = (_p99(outcome, p) for p in (Phase.QUIET, Phase.FLOOD, Phase.AFTER))
    m = outcome.memory
    print(
        f"\nratios: p99 flood ÷ quiet = {flood / quiet:.1f}× (÷ after: {flood / after:.1f}×);"
        f" RSS after ÷ base = {m.after / m.base:.2f} (÷ traffic line:"
        f" {m.after / m.after_expected:.2f})"
    )
    if not baseline_steady(outcome):
        print(
            f"  WARNING: p99 quiet {quiet:.1f} ms and after {after:.1f} ms differ by more than"
            f" {BASELINE_DRIFT:g}×: either the machine's other jobs moved one of them (see loadavg"
            " and the load process's own lateness) or the hub did not come back to its quiet pace"
        )
    for name, met in goals(config, outcome, audit).items():
        print(f"  goal {name}: {'met' if met else 'NOT MET'}")


def _phase_json(f: PhaseFigures) -> dict[str, float]:
    return {
        "sent": f.sent,
        "acked": f.acked,
        "p50_ms": round(f.p50_ms, 2),
        "p99_ms": round(f.p99_ms, 2),
        "max_ms": round(f.max_ms, 1),
        "delivery_p50_ms": round(f.delivery_p50_ms, 2),
        "delivery_p99_ms": round(f.delivery_p99_ms, 2),
    }


def result_json(
    config: SoakConfig,
    outcome: Outcome,
    audit: Audit,
    cpu: str,
    load_avg: tuple[float, float],
) -> dict[str, object]:
    figures = {p: reduce_phase(outcome.samples[p]) for p in REPORTED}
    m, fl, t = outcome.memory, outcome.flood, outcome.waves
    resumes = sorted(int(ms * 1e6) for ms in t.resume_ms)
    return {
        "lost": audit.lost,
        "duplicates": audit.duplicates,
        "gaps": audit.gaps,
        "moved": audit.moved,
        "ack_conflicts": outcome.ledger.ack_conflicts,
        "acked_checked": audit.promises,
        "stored": audit.stored,
        "unacked": audit.unacked,
        **{f"p50_ms_{p.name.lower()}": round(figures[p].p50_ms, 2) for p in REPORTED},
        **{f"p99_ms_{p.name.lower()}": round(figures[p].p99_ms, 2) for p in REPORTED},
        "ratio_p99_flood_vs_quiet": round(
            figures[Phase.FLOOD].p99_ms / figures[Phase.QUIET].p99_ms, 2
        ),
        "rss_mb_base": round(m.base, 1),
        "rss_mb_preflood": round(m.preflood, 1),
        "rss_mb_peak": round(m.peak, 1),
        "rss_mb_after": round(m.after, 1),
        "ratio_rss_after_vs_base": round(m.after / m.base, 3),
        "rss_kb_per_normal_message": round(m.line.mb_per_message * 1024, 3),
        "rss_mb_after_expected": round(m.after_expected, 1),
        "ratio_rss_after_vs_traffic_line": round(m.after / m.after_expected, 3),
        "rss_mb_flood_above_line": round(m.flood_excess, 1),
        "ratio_p99_flood_vs_after": round(
            figures[Phase.FLOOD].p99_ms / figures[Phase.AFTER].p99_ms, 2
        ),
        "baseline_steady": baseline_steady(outcome),
        "phases": {p.name.lower(): _phase_json(figures[p]) for p in REPORTED},
        "hub_by_phase": {
            w.phase.name.lower(): {
                "cpu_pct": round(w.hub_cpu_pct),
                "load_cpu_pct": round(w.load_cpu_pct),
                "loop_late_max_ms": round(w.hub.loop_lag_max_ms),
                "stalls": w.hub.stalls,
                "full_gcs": w.hub.full_gcs,
                "load_loop_late_max_ms": round(w.load.loop_lag_max_ms),
                "seconds": round(w.seconds, 1),
                "load_avg_1min": round(w.load_avg, 1),
            }
            for w in outcome.windows
        },
        "slow_reader": _slow_json(outcome.slow),
        "flood": {
            "bursts": len(fl.bursts),
            "frames": fl.frames,
            "acked_per_s": round(fl.acked_per_s),
            "slowest_burst_s": round(fl.absorb_max_s, 2),
            "acked": len(fl.acked),
            "errors": fl.errors,
            "closed_by_hub": fl.closed,
        },
        "storms": {
            "reconnects": t.bounced,
            "failed": t.storm_failures,
            "told_to_wait": t.told_to_wait,
            "resume_p50_ms": round(percentile(resumes, 0.5), 1),
            "resume_p99_ms": round(percentile(resumes, 0.99), 1),
        },
        "resends": {
            "recent": t.resends_recent,
            "first_of_agent": t.resends_old,
            "beyond_hub_window": t.resends_beyond_window,
        },
        "client_faults": _faults_json(outcome.faults),
        "deep_group_faults": _faults_json(outcome.deep_faults),
        "paced": {"sent": outcome.pacing.sent, "skipped": outcome.pacing.skipped},
        "goals_met": goals(config, outcome, audit),
        "config": config.as_json(),
        "cpu": cpu,
        "cores": os.cpu_count() or 0,
        "load_avg_1min": [round(x, 1) for x in load_avg],
    }


def _faults_json(f: Faults) -> dict[str, int]:
    return {
        "skipped": f.skipped,
        "repeated": f.repeated,
        "redelivered": f.redelivered,
        "resend_wrong_seq": f.resend_wrong_seq,
        "errors": f.errors,
        "dropped_by_hub": f.dropped_by_hub,
    }


def _slow_json(fate: SlowFate) -> dict[str, object]:
    left = fate.leftovers
    return {
        "dropped_by_hub": fate.dropped_by_hub,
        "dropped_after_s": None if fate.dropped_after_s is None else round(fate.dropped_after_s),
        "close_code": None if left is None else left.close_code,
        "deliveries_received": None if left is None else left.deliveries,
    }

"""Facts about the machine that decide inference speed: SIMD kernels and physical cores.

llama-cpp-python defaults to half the logical CPUs for generation, one thread on a 2-core box,
which halves prompt speed there. The engine passes `default_threads()` explicitly instead: the
physical cores this process may run on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import llama_cpp

__all__ = ["SystemInfo", "default_threads", "system_info"]


@dataclass(frozen=True)
class SystemInfo:
    text: str
    """llama.cpp's own `llama_print_system_info()` line."""
    simd: list[str]
    """Active CPU features/kernels, e.g. ["AVX2", "AVX512", "FMA"] or ["NEON", "DOTPROD"]."""
    physical_cores: int
    logical_cpus: int


def system_info() -> SystemInfo:
    text = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").strip()
    return SystemInfo(
        text=text,
        simd=_enabled_features(text),
        physical_cores=default_threads(),
        logical_cpus=_available_cpus(),
    )


def _enabled_features(text: str) -> list[str]:
    """`CPU : SSE3 = 1 | AVX2 = 1 | ...` -> the names set to 1."""
    features = []
    for part in text.replace(":", "|").split("|"):
        name, _, value = part.partition("=")
        if value.strip() == "1":
            features.append(name.strip())
    return features


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    """Physical cores among the CPUs this process may use (logical CPUs if unknown)."""
    available = _available_cpus()
    try:
        allowed = os.sched_getaffinity(0)
        text = Path("/proc/cpuinfo").read_text()
    except (AttributeError, OSError):
        return available
    cores: set[tuple[str, str]] = set()
    processor = physical = core = None
    for line in [*text.splitlines(), ""]:
        key, _, value = (s.strip() for s in line.partition(":"))
        if key == "processor":
            processor = int(value)
        elif key == "physical id":
            physical = value
        elif key == "core id":
            core = value
        elif not key and processor is not None:
            if processor in allowed and core is not None:
                cores.add((physical or "0", core))
            processor = physical = core = None
    return min(len(cores), available) if cores else available

"""Points and boxes in RoCo's world frame (x left→right, y front→back, z up, metres).

RoCo's validators are geometric already: reach is an axis-aligned box test and success tests are
distances between named sites. This module holds the few shapes the surrogates need, in plain
floats, so every environment stays pure Python and deterministic.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

Vec3 = tuple[float, float, float]


def dist(a: Vec3, b: Vec3) -> float:
    return math.dist(a, b)


def dist_xy(a: Vec3, b: Vec3) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def lerp(a: Vec3, b: Vec3, t: float) -> Vec3:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def add(a: Vec3, b: Vec3) -> Vec3:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def rotate_z(v: Vec3, angle: float) -> Vec3:
    """Rotate `v` about the z axis by `angle` radians."""
    c, s = math.cos(angle), math.sin(angle)
    return (v[0] * c - v[1] * s, v[0] * s + v[1] * c, v[2])


def fmt(p: Vec3, digits: int = 2) -> str:
    """`(x, y, z)` with a fixed number of decimals, the way observations and feedback print it."""
    return "(" + ", ".join(_fmt_num(v, digits) for v in p) + ")"


def _fmt_num(v: float, digits: int) -> str:
    text = f"{v:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def step_lengths(path: Sequence[Vec3]) -> list[float]:
    return [dist(a, b) for a, b in itertools.pairwise(path)]


def pstdev(values: Sequence[float]) -> float:
    """Population standard deviation (numpy's default `np.std`, which RoCo's evenness test uses)."""
    if not values:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


@dataclass(frozen=True)
class Box:
    """An axis-aligned box given by its bounds; RoCo's reach ranges are exactly such boxes."""

    lo: Vec3
    hi: Vec3

    def contains(self, p: Vec3) -> bool:
        """Inclusive on every face, like RoCo's `check_reach_range` interval test."""
        return all(lo <= v <= hi for v, lo, hi in zip(p, self.lo, self.hi, strict=True))

    def describe(self) -> str:
        axes = ("x", "y", "z")
        return ", ".join(
            f"{a} {_fmt_num(lo, 2)}..{_fmt_num(hi, 2)}"
            for a, lo, hi in zip(axes, self.lo, self.hi, strict=True)
        )


@dataclass(frozen=True)
class OrientedBox:
    """A box turned about z by `yaw` around its centre (the rope's wall, the cabinet)."""

    center: Vec3
    half: Vec3
    yaw: float = 0.0

    def local(self, p: Vec3) -> Vec3:
        rel = (p[0] - self.center[0], p[1] - self.center[1], p[2] - self.center[2])
        return rotate_z(rel, -self.yaw)

    def world(self, local: Vec3) -> Vec3:
        return add(self.center, rotate_z(local, self.yaw))

    def contains(self, p: Vec3, margin: float = 0.0) -> bool:
        q = self.local(p)
        return all(abs(v) <= h + margin for v, h in zip(q, self.half, strict=True))

    def top(self) -> float:
        return self.center[2] + self.half[2]

    def segment_hits(self, a: Vec3, b: Vec3, margin: float = 0.0, samples: int = 21) -> bool:
        """Whether the straight segment a→b passes within `margin` of the box (sampled)."""
        return any(self.contains(lerp(a, b, i / (samples - 1)), margin) for i in range(samples))


def aabb(center: Vec3, half: Vec3) -> OrientedBox:
    return OrientedBox(center=center, half=half, yaw=0.0)

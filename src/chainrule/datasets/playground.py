"""TensorFlow Playground's six 2-D data sets: circle, xor, gauss and spiral (classification,
labels −1/+1) and plane and multigauss (regression, labels in [−1, 1]), on the square [−6, 6]².

The generators follow TF Playground's ``dataset.ts`` point for point (same radii, spreads,
padding and noise model). ``noise`` is TF Playground's slider divided by 100 (0 … 0.5).
"""

from __future__ import annotations

import math

import numpy as np

DOMAIN = 6.0
"""The sets lie in [−DOMAIN, DOMAIN]²."""
N_CLASSIFICATION = 500
N_REGRESSION = 1200


def _circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    radius = 5.0
    pts, labels = [], []
    for lo, hi in ((0.0, radius * 0.5), (radius * 0.7, radius)):
        r = rng.uniform(lo, hi, n // 2)
        angle = rng.uniform(0, 2 * math.pi, n // 2)
        x, y = r * np.sin(angle), r * np.cos(angle)
        nx, ny = rng.uniform(-radius, radius, (2, n // 2)) * noise
        labels.append(np.where(np.hypot(x + nx, y + ny) < radius * 0.5, 1.0, -1.0))
        pts.append(np.stack([x, y], 1))
    return np.concatenate(pts), np.concatenate(labels)


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    padding = 0.3
    x, y = rng.uniform(-5, 5, (2, n))
    x = x + np.where(x > 0, padding, -padding)
    y = y + np.where(y > 0, padding, -padding)
    nx, ny = rng.uniform(-5, 5, (2, n)) * noise
    return np.stack([x, y], 1), np.where((x + nx) * (y + ny) >= 0, 1.0, -1.0)


def _gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    variance = 0.5 + (4 - 0.5) * noise / 0.5
    pts, labels = [], []
    for c, label in ((2.0, 1.0), (-2.0, -1.0)):
        pts.append(rng.normal(c, math.sqrt(variance), (n // 2, 2)))
        labels.append(np.full(n // 2, label))
    return np.concatenate(pts), np.concatenate(labels)


def _spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    half = n // 2
    pts, labels = [], []
    for delta, label in ((0.0, 1.0), (math.pi, -1.0)):
        i = np.arange(half)
        r = i / half * 5
        t = 1.75 * i / half * 2 * math.pi + delta
        x = r * np.sin(t) + rng.uniform(-1, 1, half) * noise
        y = r * np.cos(t) + rng.uniform(-1, 1, half) * noise
        pts.append(np.stack([x, y], 1))
        labels.append(np.full(half, label))
    return np.concatenate(pts), np.concatenate(labels)


def _plane(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    radius = 6.0
    p = rng.uniform(-radius, radius, (n, 2))
    nz = rng.uniform(-radius, radius, (n, 2)) * noise
    s = (p + nz).sum(1)
    return p, np.clip(s / 10.0, -1, 1)


_GAUSSIANS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def multigauss_label(p: np.ndarray) -> np.ndarray:
    """TF Playground's regression target: the strongest of six signed radial bumps."""
    label = np.zeros(len(p))
    for cx, cy, sign in _GAUSSIANS:
        d = np.hypot(p[:, 0] - cx, p[:, 1] - cy)
        new = sign * np.clip(1 - d / 2, 0, 1)
        label = np.where(np.abs(new) > np.abs(label), new, label)
    return label


def _multigauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    radius = 6.0
    p = rng.uniform(-radius, radius, (n, 2))
    nz = rng.uniform(-radius, radius, (n, 2)) * noise
    return p, multigauss_label(p + nz)


CLASSIFICATION = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral}
"""The classification sets by name (labels −1/+1), in TF Playground's order."""
REGRESSION = {"plane": _plane, "multigauss": _multigauss}
"""The regression sets by name (labels in [−1, 1])."""


def make_playground(name: str, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points (N, 2) float32 and labels (N,) float32 of the TF Playground set ``name`` (a key of
    ``CLASSIFICATION``: 500 points, or of ``REGRESSION``: 1200), shuffled.

    Raises:
        ValueError: for an unknown name or a noise outside [0, 0.5].
    """
    generators = {**CLASSIFICATION, **REGRESSION}
    if name not in generators:
        raise ValueError(f"make_playground: unknown dataset {name!r}; choose one of "
                         f"{', '.join(generators)}")
    if not 0.0 <= noise <= 0.5:
        raise ValueError(f"make_playground: noise must be in [0, 0.5], got {noise}")
    rng = np.random.default_rng(seed)
    n = N_CLASSIFICATION if name in CLASSIFICATION else N_REGRESSION
    points, labels = generators[name](n, noise, rng)
    order = rng.permutation(len(points))
    return points[order].astype(np.float32), labels[order].astype(np.float32)

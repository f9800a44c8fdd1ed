"""Small 2-D classification sets (moons, circles, spiral, xor, blobs) for demos and tests.

Each returns ``(x, y)``: float32 points of shape (n, 2) and int64 labels of shape (n,), drawn
from a NumPy generator seeded by ``seed`` so the same call gives the same data.
"""

from __future__ import annotations

import numpy as np

Data = tuple[np.ndarray, np.ndarray]


def _finish(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> Data:
    order = rng.permutation(len(y))
    return x[order].astype(np.float32), y[order].astype(np.int64)


def _split(n: int, k: int) -> list[int]:
    if n < k:
        raise ValueError(f"n must be >= {k} (one point per class), got {n}")
    return [n // k + (i < n % k) for i in range(k)]


def make_moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> Data:
    """Two interleaving half circles (sklearn's ``make_moons``)."""
    rng = np.random.default_rng(seed)
    a, b = _split(n, 2)
    t0, t1 = np.linspace(0, np.pi, a), np.linspace(0, np.pi, b)
    x = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                        np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)])
    x += rng.normal(0, noise, x.shape)
    return _finish(x, np.repeat([0, 1], [a, b]), rng)


def make_circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0) -> Data:
    """A small circle (label 1) inside a large one (label 0)."""
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor}")
    rng = np.random.default_rng(seed)
    a, b = _split(n, 2)
    t0 = np.linspace(0, 2 * np.pi, a, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, b, endpoint=False)
    x = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                        factor * np.stack([np.cos(t1), np.sin(t1)], 1)])
    x += rng.normal(0, noise, x.shape)
    return _finish(x, np.repeat([0, 1], [a, b]), rng)


def make_spiral(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0) -> Data:
    """``classes`` interleaved spiral arms (CS231n's spiral set)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c, m in enumerate(_split(n, classes)):
        r = np.linspace(0.0, 1.0, m)
        t = np.linspace(c * 4.0, (c + 1) * 4.0, m) + rng.normal(0, noise, m)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], 1))
        ys.append(np.full(m, c))
    return _finish(np.concatenate(xs), np.concatenate(ys), rng)


def make_xor(n: int = 200, noise: float = 0.0, seed: int = 0) -> Data:
    """Uniform points in [-1, 1]²; label 1 where the coordinates have different signs."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2))
    y = (x[:, 0] * x[:, 1] < 0).astype(np.int64)
    return _finish(x + rng.normal(0, noise, x.shape), y, rng)


def make_blobs(n: int = 200, centers: int = 3, std: float = 0.5, seed: int = 0) -> Data:
    """Gaussian blobs around ``centers`` random centres in [-5, 5]²."""
    rng = np.random.default_rng(seed)
    mu = rng.uniform(-5, 5, (centers, 2))
    sizes = _split(n, centers)
    y = np.repeat(np.arange(centers), sizes)
    return _finish(mu[y] + rng.normal(0, std, (n, 2)), y, rng)

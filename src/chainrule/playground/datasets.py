"""The Playground's 2-D data sets, input features and CSV upload.

The generators follow TensorFlow Playground's ``dataset.ts`` point for point (same radii, spreads,
padding and noise model), with labels −1/+1 for classification and in [−1, 1] for regression, on
the square [−6, 6]². ``noise`` is TF Playground's slider divided by 100 (0 … 0.5).
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

CLASSIFY = ("circle", "xor", "gauss", "spiral")
REGRESS = ("plane", "multigauss")
DOMAIN = 6.0
N_CLASSIFY = 500
N_REGRESS = 1200
MAX_UPLOAD_ROWS = 5000
MAX_UPLOAD_VALUE = 1e15
"""Coordinates and labels beyond this are refused: rescaling them would overflow to inf/NaN."""

FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2")
_FEATURE_FNS = {
    "x1": lambda x, y: x,
    "x2": lambda x, y: y,
    "x1^2": lambda x, y: x * x,
    "x2^2": lambda x, y: y * y,
    "x1x2": lambda x, y: x * y,
    "sin_x1": lambda x, y: np.sin(x),
    "sin_x2": lambda x, y: np.sin(y),
}
# The same maps as Python source, for the exported script.
FEATURE_SOURCE = {
    "x1": "x", "x2": "y", "x1^2": "x * x", "x2^2": "y * y", "x1x2": "x * y",
    "sin_x1": "np.sin(x)", "sin_x2": "np.sin(y)",
}


def features(points: np.ndarray, names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Map (N, 2) points to (N, len(names)) float32 feature columns."""
    x, y = points[:, 0], points[:, 1]
    return np.stack([_FEATURE_FNS[n](x, y) for n in names], axis=1).astype(np.float32)


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


_GENERATORS = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral,
               "plane": _plane, "multigauss": _multigauss}


def generate(name: str, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points (N, 2) float32 and labels (N,) float32 of a named data set, shuffled.

    Raises:
        ValueError: for an unknown name or a noise outside [0, 0.5].
    """
    if name not in _GENERATORS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(_GENERATORS)}")
    if not 0.0 <= noise <= 0.5:
        raise ValueError(f"noise must be in [0, 0.5], got {noise}")
    rng = np.random.default_rng(seed)
    n = N_CLASSIFY if name in CLASSIFY else N_REGRESS
    points, labels = _GENERATORS[name](n, noise, rng)
    order = rng.permutation(len(points))
    return points[order].astype(np.float32), labels[order].astype(np.float32)


def split(points: np.ndarray, labels: np.ndarray, train_percent: int
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The first ``train_percent`` % for training (at least one point each side)."""
    k = min(max(1, round(len(points) * train_percent / 100)), len(points) - 1)
    return points[:k], labels[:k], points[k:], labels[k:]


def parse_csv(text: str, problem: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse uploaded ``x1,x2,label`` rows (an optional header row is skipped).

    Classification labels must take exactly two values, numbers or names (``cat``/``dog``); they
    map to −1/+1, the smaller number or the first name in sorted order to −1. Regression labels
    must be numbers and are scaled into [−1, 1]. Points are rescaled so that the data fill the
    [−6, 6]² view.

    Raises:
        ValueError: naming the first bad row, or for too few or too many rows.
    """
    rows: list[tuple[float, float]] = []
    labels: list[str] = []
    for i, row in enumerate(csv.reader(io.StringIO(text))):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 3:
            raise ValueError(f"CSV row {i + 1}: expected 3 columns x1,x2,label, got {len(row)}")
        try:
            xy = (float(row[0]), float(row[1]))
        except ValueError:
            if i == 0 and not rows:
                continue  # header
            raise ValueError(f"CSV row {i + 1}: x1,x2 are not numbers: "
                             f"{','.join(row)[:60]!r}") from None
        label = row[2].strip()
        if not label:
            raise ValueError(f"CSV row {i + 1}: the label is empty")
        if not all(math.isfinite(v) and abs(v) <= MAX_UPLOAD_VALUE
                   for v in (*xy, *_numbers([label]))):
            raise ValueError(f"CSV row {i + 1}: values must be finite numbers between "
                             f"-{MAX_UPLOAD_VALUE:g} and {MAX_UPLOAD_VALUE:g}, got "
                             f"{','.join(row)[:60]!r}")
        rows.append(xy)
        labels.append(label)
        if len(rows) > MAX_UPLOAD_ROWS:
            raise ValueError(f"CSV has more than {MAX_UPLOAD_ROWS} rows")
    if len(rows) < 4:
        raise ValueError(f"CSV needs at least 4 data rows, got {len(rows)}")
    pts = np.array(rows, dtype=np.float64)
    center = (pts.max(0) + pts.min(0)) / 2
    scale = np.abs(pts - center).max()
    pts = (pts - center) * ((DOMAIN - 0.5) / scale if scale > 0 else 1.0)
    numeric = _numbers(labels)
    if problem == "classification":
        values = sorted(set(numeric if len(numeric) == len(labels) else labels))
        if len(values) != 2:
            raise ValueError(f"classification CSV needs exactly two label values, got "
                             f"{len(values)}: {values[:5]}")
        keys = numeric if len(numeric) == len(labels) else labels
        lab = np.where(np.array(keys, dtype=object) == values[1], 1.0, -1.0)
    else:
        if len(numeric) != len(labels):
            bad = next(s for s in labels if not _numbers([s]))
            raise ValueError(f"regression CSV needs numeric labels, got {bad[:40]!r}")
        lab = np.array(numeric, dtype=np.float64)
        m = np.abs(lab).max()
        lab = lab / m if m > 1 else lab
    order = np.random.default_rng(0).permutation(len(pts))
    return pts[order].astype(np.float32), lab[order].astype(np.float32)


def _numbers(texts: list[str]) -> list[float]:
    """The texts as floats, or [] as soon as one is not a number."""
    try:
        return [float(s) for s in texts]
    except ValueError:
        return []

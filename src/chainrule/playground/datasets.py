"""The Playground's input features, train/test split and CSV upload; its data sets are
``chainrule.datasets.playground``'s."""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from chainrule.datasets.playground import DOMAIN

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

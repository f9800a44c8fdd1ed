"""Writers of dataset files in their published formats, for the vision tests: IDX (MNIST) and
the pickled batches of CIFAR-10's python version."""

from __future__ import annotations

import gzip
import hashlib
import pickle
from pathlib import Path

import numpy as np


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write a uint8 array as an IDX file, gzip-compressed when ``path`` ends in ``.gz``."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    blob = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(blob) if path.suffix == ".gz" else blob)
    return path


def write_mnist_raw(raw: Path, train: tuple[np.ndarray, np.ndarray],
                    test: tuple[np.ndarray, np.ndarray], gz: bool = True) -> None:
    """The four MNIST files of ``train`` / ``test`` (images, labels) in the folder ``raw``."""
    ext = ".gz" if gz else ""
    for split, (x, y) in (("train", train), ("t10k", test)):
        write_idx(raw / f"{split}-images-idx3-ubyte{ext}", x)
        write_idx(raw / f"{split}-labels-idx1-ubyte{ext}", y)


CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck"]


def write_cifar10(folder: Path, per_batch: int = 4, n_test: int = 6,
                  seed: int = 0) -> tuple[np.ndarray, list[int], np.ndarray, list[int]]:
    """Random CIFAR-10 batches in ``folder``: five training batches of ``per_batch`` images, a
    test batch and ``batches.meta``, with ``str`` keys and names as the published Python 2
    pickles load. Returns (train rows (N, 3072), labels, test rows, labels)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows, labels = [], []
    for i in range(1, 6):
        x = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        y = rng.integers(0, 10, per_batch).tolist()
        _pickle(folder / f"data_batch_{i}", {"batch_label": "training batch", "data": x,
                                              "labels": y})
        rows.append(x)
        labels += y
    xt = rng.integers(0, 256, (n_test, 3072), dtype=np.uint8)
    yt = rng.integers(0, 10, n_test).tolist()
    _pickle(folder / "test_batch", {"batch_label": "testing batch", "data": xt,
                                    "labels": yt})
    _pickle(folder / "batches.meta", {"label_names": CIFAR_CLASSES,
                                      "num_cases_per_batch": per_batch, "num_vis": 3072})
    return np.concatenate(rows), labels, xt, yt


def _pickle(path: Path, obj: dict) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

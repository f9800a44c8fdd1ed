"""What ``fit`` / ``evaluate`` / ``predict`` accept, turned into batches ``(x, y, sample_weight)``.

``x`` and ``y`` are arrays, lists of arrays (one per model input / output) or dicts keyed by
input / output name; or ``x`` is an iterable of batches — a ``cr.data.DataLoader``, a list, a
Python generator — each ``x``, ``(x, y)`` or ``(x, y, sample_weight)``. Batches hold NumPy
arrays in the same nested structure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.keras._data import _as_array, _float_or_int
from chainrule.keras.symbolic import flatten, map_structure
from chainrule.tensor import Tensor

Batch = tuple[Any, Any, Any]


def unpack_x_y_sample_weight(data: Any) -> Batch:
    """``data`` as ``(x, y, sample_weight)``, with None for the parts it lacks (Keras's
    ``keras.utils.unpack_x_y_sample_weight``)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError(f"Data is expected to be x, (x,), (x, y) or (x, y, sample_weight); got a "
                     f"tuple of length {len(data)}")


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> tuple[Any, ...]:
    """``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``: the inverse of
    ``unpack_x_y_sample_weight``."""
    if y is None:
        return (x,)
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def to_numpy(struct: Any, name: str) -> Any:
    """Every leaf as a NumPy array (floats as float32)."""
    if struct is None:
        return None
    return map_structure(lambda v: _float_or_int(_as_array(v, name)), struct)


def _len(struct: Any) -> int:
    return len(flatten(struct)[0])


class ArrayData:
    """In-memory ``x``, ``y``, ``sample_weight``: sliced into batches, shuffled per epoch."""

    def __init__(self, x: Any, y: Any, sample_weight: Any, where: str) -> None:
        self.x, self.y = to_numpy(x, "x"), to_numpy(y, "y")
        self.sample_weight = to_numpy(sample_weight, "sample_weight")
        lengths = {_len(s) for s in (self.x, self.y, self.sample_weight) if s is not None}
        leaves = [a for s in (self.x, self.y, self.sample_weight) if s is not None
                  for a in flatten(s)]
        if len({len(a) for a in leaves}) > 1 or len(lengths) > 1:
            shapes = " and ".join(f"{n} with shape {_shapes(s)}"
                                  for n, s in (("x", self.x), ("y", self.y)) if s is not None)
            raise ValueError(f"{where}: x and y must have the same number of samples, got "
                             f"{shapes}")
        self.n = _len(self.x)
        if self.n == 0:
            raise ValueError(f"{where}: got an empty dataset (x has shape {_shapes(self.x)})")

    def split(self, validation_split: float) -> tuple[ArrayData, ArrayData]:
        """The first (1 − validation_split) and the last validation_split of the samples."""
        cut = int(math.ceil(self.n * (1.0 - validation_split)))
        if cut == 0 or cut == self.n:
            raise ValueError(f"fit: validation_split={validation_split} leaves no "
                             f"{'training' if cut == 0 else 'validation'} samples from {self.n}")
        return self.take(slice(0, cut)), self.take(slice(cut, self.n))

    def take(self, index: Any) -> ArrayData:
        part = object.__new__(ArrayData)
        part.x, part.y, part.sample_weight = (None if s is None else
                                              map_structure(lambda a: a[index], s)
                                              for s in (self.x, self.y, self.sample_weight))
        part.n = _len(part.x)
        return part

    def steps(self, batch_size: int) -> int:
        return math.ceil(self.n / batch_size)

    def batches(self, batch_size: int, order: np.ndarray | None = None) -> Iterator[Batch]:
        for i in range(0, self.n, batch_size):
            idx = slice(i, i + batch_size) if order is None else order[i:i + batch_size]
            part = self.take(idx)
            yield part.x, part.y, part.sample_weight


def _shapes(struct: Any) -> str:
    if isinstance(struct, (list, tuple, dict)):
        return str(map_structure(lambda a: tuple(a.shape), struct))
    return str(tuple(struct.shape))


class IterableData:
    """Batches from an iterable: re-iterated each epoch when it can be (a DataLoader, a list);
    a one-shot iterator (a generator) is read on, ``steps`` batches per epoch."""

    def __init__(self, data: Iterable[Any], steps: int | None) -> None:
        self.data = data
        self.one_shot = iter(data) is data
        self._steps = steps
        if self.one_shot and steps is None:
            self._steps = None

    def steps(self) -> int | None:
        if self._steps is not None:
            return self._steps
        return len(self.data) if hasattr(self.data, "__len__") else None  # type: ignore[arg-type]

    def batches(self) -> Iterator[Batch]:
        it = iter(self.data)
        n = self.steps()
        for i, item in enumerate(it):
            x, y, sw = unpack_x_y_sample_weight(item)
            yield to_numpy(x, "x"), to_numpy(y, "y"), to_numpy(sw, "sample_weight")
            if n is not None and i + 1 >= n:
                return


def adapt(x: Any, y: Any, sample_weight: Any, steps: int | None,
          where: str) -> ArrayData | IterableData:
    """The data source for ``x`` (with ``y`` and ``sample_weight`` when ``x`` holds arrays)."""
    x, y, sample_weight = _plain(x), _plain(y), _plain(sample_weight)
    if _is_arrays(x):
        return ArrayData(x, y, sample_weight, where)
    if y is not None:
        raise ValueError(f"{where}: y must not be given when x is a dataset or generator of "
                         f"batches (got x of type {type(x).__name__})")
    return IterableData(x, steps)


def _is_arrays(x: Any) -> bool:
    if isinstance(x, (np.ndarray, Tensor)):
        return True
    if isinstance(x, dict):
        return all(_is_arrays(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return bool(x) and all(isinstance(v, (np.ndarray, Tensor)) for v in x)
    return False


def _plain(struct: Any) -> Any:
    """Nested Python lists of numbers as one array; anything else unchanged."""
    if isinstance(struct, list) and not (struct and isinstance(struct[0], (np.ndarray, Tensor,
                                                                          dict, tuple))):
        return np.asarray(struct)
    return struct


def class_weights_to_sample_weights(y: np.ndarray, class_weight: dict[int, float]) -> np.ndarray:
    """One weight per sample from its class (integer labels or one-hot rows)."""
    labels = y.argmax(-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0]
    labels = labels.astype(np.int64)
    missing = set(np.unique(labels).tolist()) - set(class_weight)
    if missing:
        raise ValueError(f"class_weight has no weight for classes {sorted(missing)}; it has "
                         f"{sorted(class_weight)}")
    table = np.zeros(max(max(class_weight), int(labels.max())) + 1, np.float32)
    for k, v in class_weight.items():
        table[int(k)] = v
    return table[labels]


# ---- batches as the steps see them ----

def flat_logs(logs: dict[str, Any]) -> dict[str, float]:
    """Step results as a flat dict of floats (a metric whose result is a dict is spread)."""
    out: dict[str, float] = {}
    for k, v in logs.items():
        if isinstance(v, dict):
            out.update(flat_logs(v))
        else:
            out[k] = float(getattr(v, "item", lambda v=v: v)())
    return out


def batch_len(x: Any) -> int:
    return int(flatten(x)[0].shape[0])


def to_tensor(v: Any) -> Any:
    if isinstance(v, Tensor) or v is None:
        return v
    if isinstance(v, (np.ndarray, list, float, int)):
        arr = np.asarray(v)
        return cr.from_numpy(arr.astype(np.float32) if arr.dtype.kind == "f" else arr)
    return v


def as_tensors(batch: tuple[Any, Any, Any]) -> tuple[Any, ...]:
    x, y, sw = batch
    x, y = map_structure(to_tensor, x), map_structure(to_tensor, y)
    return (x, y) if sw is None else (x, y, sw)


def take(it: Iterable[Any], n: int) -> Iterable[Any]:
    for i, b in enumerate(it):
        if i >= n:
            return
        yield b

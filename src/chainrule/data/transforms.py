"""Preprocessing transforms: ``Standardize`` (fitted on training data) and ``Compose``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chainrule.backend import Array, xp
from chainrule.tensor import Tensor


class Standardize:
    """Per-feature ``(x − mean) / std`` with mean and std fitted on the training data.

    After ``fit(x_train)``, ``transform(x_train)`` has mean ≈ 0 and variance ≈ 1 in every
    feature (constant features are centred and left unscaled). Tensors give tensors, arrays
    arrays; the dtype of the input is kept.

    Args:
        dim: the dimension(s) averaged over, the sample dimension by default.
        eps: features with std ≤ eps are divided by 1 instead.

    Example:
        >>> import numpy as np
        >>> s = Standardize().fit(np.array([[1.0, 10.0], [3.0, 30.0]]))
        >>> s.transform(np.array([[2.0, 50.0]]))
        array([[0., 3.]])
    """

    def __init__(self, dim: int | tuple[int, ...] = 0, eps: float = 1e-12) -> None:
        self.dim = dim
        self.eps = eps
        self.mean: Array | None = None
        self.std: Array | None = None

    def fit(self, x: Any) -> Standardize:
        """Learn the mean and (population) standard deviation of ``x``; returns self."""
        a = _array(x)
        mean = a.mean(axis=self.dim, keepdims=True, dtype=xp.float64)
        std = a.std(axis=self.dim, keepdims=True, dtype=xp.float64)
        std[std <= self.eps] = 1.0
        self.mean, self.std = mean, std
        return self

    def _fitted(self) -> tuple[Array, Array]:
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardize must be fitted (call fit) before transforming")
        return self.mean, self.std

    def transform(self, x: Any) -> Any:
        """``(x − mean) / std`` in the dtype of ``x``."""
        mean, std = self._fitted()
        a = _array(x)
        dtype = a.dtype if a.dtype.kind == "f" else xp.float32
        return _like(x, ((a - mean) / std).astype(dtype))

    def inverse(self, x: Any) -> Any:
        """Undo ``transform``: ``x·std + mean``."""
        mean, std = self._fitted()
        a = _array(x)
        dtype = a.dtype if a.dtype.kind == "f" else xp.float32
        return _like(x, (a * std + mean).astype(dtype))

    def fit_transform(self, x: Any) -> Any:
        return self.fit(x).transform(x)

    __call__ = transform

    def state_dict(self) -> dict[str, Any]:
        mean, std = self._fitted()
        return {"mean": Tensor._wrap(mean.copy()), "std": Tensor._wrap(std.copy())}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mean = xp.array(_array(state["mean"]), dtype=xp.float64)
        self.std = xp.array(_array(state["std"]), dtype=xp.float64)

    def __repr__(self) -> str:
        return f"Standardize(dim={self.dim}, fitted={self.mean is not None})"


class Compose:
    """Apply transforms in order: ``Compose([f, g])(x) == g(f(x))``.

    Example:
        >>> import chainrule as cr
        >>> t = cr.data.Compose([lambda x: x * 2, lambda x: x + 1])
        >>> t(cr.tensor([1.0, 2.0]))
        tensor([3., 5.])
    """

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x


def _array(x: Any) -> Array:
    return x.array if isinstance(x, Tensor) else xp.asarray(x)


def _like(x: Any, a: Array) -> Any:
    return Tensor._wrap(a) if isinstance(x, Tensor) else a

"""Weight penalties (``keras.regularizers``): ``L1``, ``L2`` and ``L1L2``, given to a layer as
``kernel_regularizer``/``bias_regularizer`` (``embeddings_regularizer`` for Embedding). The
layer's ``losses`` hold the penalties of its current weights, and ``fit`` adds the model's
``losses`` to the compiled loss, as Keras does.

Example:
    >>> import chainrule as cr
    >>> from chainrule import keras
    >>> keras.regularizers.L2(0.1)(cr.tensor([1.0, 2.0]))
    tensor(0.5000)
"""

from __future__ import annotations

from typing import Any

from chainrule.tensor import Tensor


class Regularizer:
    """A penalty on a weight tensor: ``regularizer(w)`` is a scalar added to the loss."""

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__")

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement get_config")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)


class L1L2(Regularizer):
    """l1·Σ|w| + l2·Σw².

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.regularizers.L1L2(l1=0.5, l2=0.25)(cr.tensor([1.0, -2.0]))
        tensor(2.7500)
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x: Tensor) -> Tensor:
        total = x.abs().sum() * self.l1 if self.l1 else None
        if self.l2:
            squares = (x * x).sum() * self.l2
            total = squares if total is None else total + squares
        return total if total is not None else (x * 0).sum()

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """l1·Σ|w| (Keras's default l1 = 0.01).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.regularizers.L1(0.5)(cr.tensor([1.0, -2.0]))
        tensor(1.5000)
    """

    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(L1L2):
    """l2·Σw² (Keras's default l2 = 0.01).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.regularizers.L2(0.5)(cr.tensor([1.0, -2.0]))
        tensor(2.5000)
    """

    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2
_BY_NAME: dict[str, type[Regularizer]] = {"L1": L1, "L2": L2, "L1L2": L1L2, "l1": L1,
                                          "l2": L2, "l1_l2": L1L2}


def get(identifier: Any) -> Regularizer | None:
    """A regularizer from None, an instance or callable, a name ('l1', 'l2', 'l1_l2') or a
    Keras config dict."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _BY_NAME:
        return _BY_NAME[identifier["class_name"]].from_config(identifier.get("config", {}))
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    """The Keras config dict of a regularizer (None stays None)."""
    if regularizer is None:
        return None
    return {"module": "keras.regularizers", "class_name": type(regularizer).__name__,
            "config": regularizer.get_config(), "registered_name": None}


def deserialize(config: dict[str, Any]) -> Regularizer | None:
    """The regularizer of a Keras config dict."""
    return get(config)

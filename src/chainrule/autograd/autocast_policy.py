"""The autocast policy that ``Op.apply`` consults: which primitives run in the low-precision dtype,
which in float32, and the casts of their floating inputs.

Off (``policy.dtype is None``) except inside ``chainrule.autocast``, so ``Op.apply`` pays one
attribute test. The lists follow PyTorch's CPU autocast: matrix products, convolutions and LSTM
layers run in the low precision; ``prod`` and the losses run in float32; every other op takes its
inputs as they come and promotes to the widest (so softmax, layer norm and sums of bfloat16 stay
bfloat16, as in PyTorch on the CPU).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chainrule.backend import float32, is_floating

if TYPE_CHECKING:
    from chainrule.tensor import Tensor

LOWER_PRECISION = frozenset({"matmul", "linear", "einsum", "conv2d", "conv_transpose2d",
                             "lstm_sequence"})
"""Primitives whose floating inputs are cast to the autocast dtype (``lstm_sequence``: an LSTM
layer's direction, as PyTorch's ``mkldnn_rnn_layer``)."""
FLOAT32 = frozenset({"prod", "cross_entropy", "inv", "solve", "det", "logabsdet", "cholesky",
                     "qr", "svd", "eigh"})
"""Primitives whose floating inputs are cast to float32 (composite losses use ``float32_op``)."""


class _Policy:
    __slots__ = ("dtype",)

    def __init__(self) -> None:
        self.dtype: Any = None
        """The low-precision dtype while autocast is on, else None."""


policy = _Policy()


def cast_inputs(name: str, args: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """``args`` with their floating tensors cast as the op ``name`` runs under autocast."""
    if name in LOWER_PRECISION:
        dtype = policy.dtype
    elif name in FLOAT32:
        dtype = float32
    else:
        return args
    return tuple(t.cast(dtype) if is_floating(t.dtype) and t.dtype != dtype else t
                 for t in args)


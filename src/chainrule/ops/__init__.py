"""The op library: primitives (``Op`` subclasses) and the public functions built on them."""

from chainrule.ops import (
    conv,
    elementwise,
    fold,
    fused,
    linalg,
    loss,
    movement,
    pool,
    reduce,
    rnn,
)

__all__ = ["conv", "elementwise", "fold", "fused", "linalg", "loss", "movement", "pool",
           "reduce", "rnn"]

"""The op library: primitives (``Op`` subclasses) and the public functions built on them."""

from chainrule.ops import (
    activation,
    comparison,
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
    shape,
    sorting,
    trig,
    unary,
)

__all__ = ["activation", "comparison", "conv", "elementwise", "fold", "fused", "linalg", "loss",
           "movement", "pool", "reduce", "rnn", "shape", "sorting", "trig", "unary"]

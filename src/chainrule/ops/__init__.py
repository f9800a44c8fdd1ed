"""The op library: primitives (``Op`` subclasses) and the public functions built on them."""

from chainrule.ops import (
    activation,
    comparison,
    conv,
    counting,
    elementwise,
    fold,
    fused,
    linalg,
    loss,
    matrix,
    movedim,
    movement,
    padding,
    pool,
    reduce,
    rnn,
    scatter,
    shape,
    sorting,
    tiling,
    trig,
    unary,
)

__all__ = ["activation", "comparison", "conv", "counting", "elementwise", "fold", "fused", "linalg",
           "loss", "matrix", "movement", "pool", "reduce", "rnn", "shape", "sorting", "tiling",
           "trig", "unary", "movedim", "scatter", "padding"]

"""The op library: primitives (``Op`` subclasses) and the public functions built on them."""

from chainrule.ops import elementwise, fused, linalg, movement, reduce

__all__ = ["elementwise", "fused", "linalg", "movement", "reduce"]

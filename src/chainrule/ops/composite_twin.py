"""``Fused``: the base of primitives that fuse a whole layer (attention, layer norm) into one
node whose forward and plain backward run on raw arrays, beside a composite twin built from
primitives that computes the same function.

NOTE: a fused op exists for speed only (fewer passes over memory, no intermediate graph nodes,
in-place kernels). Its hand-written backward covers the common case, a first-order backward;
when the backward itself is recorded (``create_graph=True``) or forward-mode tangents are
flowing, the op differentiates its composite twin instead, so higher derivatives stay exact
without a second hand-written rule. The tests check the fused op against its twin.
"""

from __future__ import annotations

from typing import Any

from chainrule.autograd import tangents as forward_mode
from chainrule.autograd.engine import grad
from chainrule.autograd.function import Op, on_arrays
from chainrule.autograd.grad_mode import _mode, enable_grad
from chainrule.backend import Array
from chainrule.ops.dual import make_dual
from chainrule.tensor import Tensor


class Fused(Op):
    """A primitive with a composite twin. Subclasses define ``forward``, ``composite`` (the same
    function from primitives, taking the op's inputs and its parameters as keywords) and
    ``backward_arrays`` (the first-order gradients on raw arrays, ``None`` where not needed)."""

    @staticmethod
    def composite(*inputs: Tensor, **params: Any) -> Tensor:
        raise NotImplementedError

    def backward_arrays(self, g: Array) -> tuple[Array | None, ...]:
        raise NotImplementedError

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        if not on_arrays(g):
            return self._twin_grads(g)
        return tuple(None if x is None else Tensor._wrap(x) for x in self.backward_arrays(g.array))

    def jvp(self, *tangents: Tensor | None) -> Tensor | None:
        # forward mode through the twin, on a nested level (the levels outside stay open, so
        # higher forward derivatives stay exact)
        level = forward_mode.enter_level()
        try:
            duals = [x if t is None else make_dual(x, t, level)
                     for x, t in zip(self.inputs, tangents)]
            return forward_mode.tangent_of(self.composite(*duals, **self.params), level)
        finally:
            forward_mode.exit_level(level)

    def _twin_grads(self, g: Tensor) -> tuple[Tensor | None, ...]:
        """Gradients through the twin's graph: recorded for ``create_graph``, or carrying
        forward-mode tangents (the engine runs a plain backward with grad mode off, so the twin
        is built with it on)."""
        xs = self.inputs
        with enable_grad():
            out = self.composite(*xs, **self.params)
            wanted = [x for x, n in zip(xs, self.needs_input_grad) if n]
            # retain_graph: the walk reaches the inputs' own producers, which must survive it
            got = iter(grad([out], wanted, [g], retain_graph=True, create_graph=_mode.enabled,
                            allow_unused=True))
        return tuple(next(got) if n else None for n in self.needs_input_grad)

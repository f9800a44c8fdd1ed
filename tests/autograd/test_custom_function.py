"""Custom ``autograd.Function`` features beyond the basics in test_autograd_api.py: double
backward through saved inputs and outputs, ``setup_context``, several outputs with
``mark_non_differentiable``, ``jvp`` for forward mode (nested too), ``save_for_forward``,
``once_differentiable``, and the errors for misuse."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function, gradcheck, gradgradcheck, once_differentiable
from chainrule.tensor import Tensor


def leaf(*values: float) -> Tensor:
    return cr.tensor(list(values), dtype=cr.float64, requires_grad=True)


class Exp(Function):
    """Saves its output: under create_graph it comes back with its graph."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        out = x.exp()
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        (out,) = ctx.saved_tensors
        return g * out


class NumpySin(Function):
    """Computes on arrays (no chainrule ops), so forward mode has only ``jvp`` to go by."""

    @staticmethod
    def forward(x: Tensor) -> Tensor:
        return Tensor._wrap(np.sin(x.array))

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
        (x,) = inputs
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return g * x.cos()

    @staticmethod
    def jvp(ctx: Any, t: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return t * x.cos()


class MinMax(Function):
    """Three outputs: two differentiable, one index output marked non-differentiable."""

    seen: list[Tensor] = []
    """The gradients backward received for the index output."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        i = x.argmax()
        ctx.mark_non_differentiable(i)
        ctx.save_for_backward(x)
        return x.min(), x.max(), i

    @staticmethod
    def backward(ctx: Any, g_min: Tensor, g_max: Tensor, g_i: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        MinMax.seen.append(g_i)
        return (g_min * (x == x.min()).to(x.dtype) + g_max * (x == x.max()).to(x.dtype))


def test_gradients_of_gradients_through_saved_outputs_and_inputs() -> None:
    assert gradgradcheck(Exp.apply, [leaf(0.1, -0.4, 0.7)])
    assert gradgradcheck(NumpySin.apply, [leaf(0.3, 1.2)]) is True
    x = leaf(0.5)
    (g,) = cr.autograd.grad(Exp.apply(x).sum(), x, create_graph=True)
    (gg,) = cr.autograd.grad(g.sum(), x)
    assert gg.item() == pytest.approx(np.exp(0.5))


def test_forward_mode_uses_the_jvp_staticmethod() -> None:
    x, t = cr.tensor([0.3, 1.1], dtype=cr.float64), cr.tensor([1.0, -2.0], dtype=cr.float64)
    out, tangent = cr.func.jvp(NumpySin.apply, (x,), (t,))
    np.testing.assert_allclose(out.array, np.sin(x.array))
    np.testing.assert_allclose(tangent.array, np.cos(x.array) * t.array)
    second = cr.func.jacfwd(cr.func.jacfwd(lambda v: NumpySin.apply(v).sum()))(x)
    np.testing.assert_allclose(second.array, np.diag(-np.sin(x.array)), atol=1e-12)
    hess = cr.func.hessian(lambda v: NumpySin.apply(v).sum())(x)
    np.testing.assert_allclose(hess.array, np.diag(-np.sin(x.array)), atol=1e-12)


def test_several_outputs_and_a_non_differentiable_one() -> None:
    x = leaf(0.5, -1.0, 2.0)
    lo, hi, i = MinMax.apply(x)
    assert (lo.item(), hi.item(), i.item()) == (-1.0, 2.0, 2)
    assert lo.requires_grad and hi.requires_grad and not i.requires_grad
    (2 * lo + 3 * hi).backward()
    assert x.grad.tolist() == [0.0, 2.0, 3.0]
    assert gradcheck(lambda v: MinMax.apply(v)[:2], [leaf(0.5, -1.0, 2.0)])
    _, tangent = cr.func.jvp(lambda v: MinMax.apply(v)[1], (x.detach(),),
                             (cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64),))
    assert tangent.item() == 3.0  # no jvp: forward mode differentiates forward's own ops


def test_backward_receives_zeros_for_unused_and_non_differentiable_outputs() -> None:
    x = leaf(1.0, 4.0)
    lo, _, i = MinMax.apply(x)
    MinMax.seen.clear()
    lo.backward()
    assert x.grad.tolist() == [1.0, 0.0]
    (g_i,) = MinMax.seen
    assert g_i.shape == i.shape and g_i.item() == 0


def test_needs_input_grad() -> None:
    class Probe(Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor, y: Tensor, k: int) -> Tensor:
            ctx.flags = ctx.needs_input_grad
            return x * y * k

        @staticmethod
        def backward(ctx: Any, g: Tensor) -> Any:
            return g, g, None

    out = Probe.apply(leaf(1.0), cr.tensor([2.0], dtype=cr.float64), 3)
    assert out.grad_fn.ctx.flags == (True, False, False)


def test_once_differentiable() -> None:
    class Square(Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> Tensor:
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx: Any, g: Tensor) -> Tensor:
            (x,) = ctx.saved_tensors
            assert not cr.is_grad_enabled()
            return Tensor._wrap(2 * x.array * g.array)  # NumPy: not differentiable

    x = leaf(1.0, 2.0)
    Square.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    up = cr.tensor([1.0, 1.0], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(Square.apply(x), x, up, create_graph=True)
    assert g.tolist() == [2.0, 4.0] and g.requires_grad
    with pytest.raises(RuntimeError, match="differentiate twice a function that was marked "
                                           "with @once_differentiable"):
        g.sum().backward()


def test_misuse_errors() -> None:
    class NotATensor(Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> Any:
            return x.array

    class SavesANumber(Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> Tensor:
            ctx.save_for_backward(x, 2.0)
            return x

    class BadJvp(Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> tuple[Tensor, Tensor]:
            return x * 2, x * 3

        @staticmethod
        def jvp(ctx: Any, t: Tensor) -> Tensor:
            return t

    with pytest.raises(TypeError, match="NotATensor.forward must return a Tensor or a tuple"):
        NotATensor.apply(leaf(1.0))
    with pytest.raises(TypeError, match="save_for_backward can only save tensors or None"):
        SavesANumber.apply(leaf(1.0))
    with pytest.raises(RuntimeError, match="BadJvp.jvp returned 1 tangents but forward "
                                           "returned 2 outputs"):
        cr.func.jvp(lambda v: BadJvp.apply(v)[0], (cr.tensor([1.0]),), (cr.tensor([1.0]),))

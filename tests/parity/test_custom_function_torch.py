"""Custom autograd Functions written once for both libraries (``lib.autograd.Function``):
values, gradients, gradients of gradients (``create_graph``), several outputs with
``mark_non_differentiable``, new-style ``setup_context`` and forward mode through ``jvp``, all
equal to PyTorch's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
R = np.random.default_rng(0)
X = R.uniform(0.5, 1.5, (3, 2))
Y = R.uniform(-1.0, 1.0, (3, 2))


def functions(lib: Any) -> dict[str, Any]:
    """The same Functions, subclassing ``lib.autograd.Function``."""
    base = lib.autograd.Function

    class Exp(base):  # old style, saves its output
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            out = x.exp()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (out,) = ctx.saved_tensors
            return g * out

    class MulAdd(base):  # new style: forward without ctx, setup_context, jvp
        @staticmethod
        def forward(x: Any, y: Any, scale: float) -> Any:
            return x * y * scale + x

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
            x, y, scale = inputs
            ctx.save_for_backward(x, y)
            ctx.save_for_forward(x, y)
            ctx.scale = scale

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            x, y = ctx.saved_tensors
            return g * (y * ctx.scale + 1), g * x * ctx.scale, None

        @staticmethod
        def jvp(ctx: Any, tx: Any, ty: Any, _: Any) -> Any:
            x, y = ctx.saved_tensors
            return tx * (y * ctx.scale + 1) + ty * x * ctx.scale

    class SplitSigns(base):  # several outputs, one of them non-differentiable
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            positive = x > 0
            ctx.mark_non_differentiable(positive)
            ctx.save_for_backward(x)
            return x * x, x.sum(), positive

        @staticmethod
        def backward(ctx: Any, g_sq: Any, g_sum: Any, g_mask: Any) -> Any:
            (x,) = ctx.saved_tensors
            return 2 * x * g_sq + g_sum

    return {"Exp": Exp, "MulAdd": MulAdd, "SplitSigns": SplitSigns}


CR, TORCH = functions(cr), functions(torch)


def _pair(*arrays: np.ndarray) -> tuple[list[Any], list[Any]]:
    return ([cr.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def _close(a: Any, b: Any) -> None:
    np.testing.assert_allclose(a.array if isinstance(a, cr.Tensor) else a,
                               b.detach().numpy(), rtol=1e-12, atol=1e-14)


CALLS = {
    "Exp": lambda F, x, y: F["Exp"].apply(x * y),
    "MulAdd": lambda F, x, y: F["MulAdd"].apply(x, y, 0.5),
    "SplitSigns": lambda F, x, y: F["SplitSigns"].apply(x - y)[0] * F["SplitSigns"].apply(
        x * y)[1],
}


@pytest.mark.parametrize("name", list(CALLS))
def test_values_gradients_and_second_derivatives_match_torch(name: str) -> None:
    (x, y), (tx, ty) = _pair(X, Y)
    out, tout = CALLS[name](CR, x, y), CALLS[name](TORCH, tx, ty)
    _close(out, tout)
    up = R.standard_normal(tout.shape)
    gx, gy = cr.autograd.grad(out, [x, y], cr.tensor(up), create_graph=True)
    tgx, tgy = torch.autograd.grad(tout, [tx, ty], torch.tensor(up), create_graph=True)
    _close(gx, tgx)
    _close(gy, tgy)
    second = cr.autograd.grad((gx * gx).sum() + (gx * gy).sum(), [x, y])
    tsecond = torch.autograd.grad((tgx * tgx).sum() + (tgx * tgy).sum(), [tx, ty])
    for a, b in zip(second, tsecond):
        _close(a, b)


def test_non_differentiable_output_matches_torch() -> None:
    (x,), (tx,) = _pair(Y)
    sq, total, mask = CR["SplitSigns"].apply(x)
    tsq, ttotal, tmask = TORCH["SplitSigns"].apply(tx)
    assert not mask.requires_grad and not tmask.requires_grad
    assert sq.requires_grad and total.requires_grad
    np.testing.assert_array_equal(mask.array, tmask.numpy())
    (sq.sum() + 3 * total).backward()
    (tsq.sum() + 3 * ttotal).backward()
    _close(x.grad, tx.grad)


def test_jvp_staticmethod_matches_torch_forward_mode() -> None:
    import torch.autograd.forward_ad as fwad

    tangents = R.standard_normal((2, 3, 2))
    _, ours = cr.func.jvp(lambda a, b: CR["MulAdd"].apply(a, b, 0.5),
                          (cr.tensor(X), cr.tensor(Y)),
                          (cr.tensor(tangents[0]), cr.tensor(tangents[1])))
    with fwad.dual_level():
        dual = [fwad.make_dual(torch.tensor(a), torch.tensor(t))
                for a, t in zip((X, Y), tangents)]
        theirs = fwad.unpack_dual(TORCH["MulAdd"].apply(*dual, 0.5)).tangent
    _close(ours, theirs)

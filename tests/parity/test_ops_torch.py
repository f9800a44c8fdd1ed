"""One-line parity checks against PyTorch (tinygrad's ``helper_test_op`` style): the same
function on the same random inputs, forward and gradients equal to torch's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def helper_test_op(shapes: Sequence[tuple[int, ...]], f_cr: Callable[..., Any],
                   f_torch: Callable[..., Any] | None = None, low: float = -2.0,
                   high: float = 2.0, atol: float = 1e-6, grad: bool = True) -> None:
    """Compare ``f_cr`` on chainrule tensors with ``f_torch`` (default: the same callable) on
    torch tensors: forward values, then gradients for a random upstream gradient."""
    rng = np.random.default_rng(sum(sum(s) for s in shapes) + len(shapes))
    arrays = [rng.uniform(low, high, s) for s in shapes]
    xs = [cr.tensor(a, dtype=cr.float64, requires_grad=grad) for a in arrays]
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=grad) for a in arrays]
    out_c, out_t = f_cr(*xs), (f_torch or f_cr)(*ts)
    np.testing.assert_allclose(out_c.array, out_t.detach().numpy(), rtol=1e-7, atol=atol)
    if not grad:
        return
    up = rng.standard_normal(out_t.shape)
    out_c.backward(cr.tensor(up, dtype=cr.float64))
    out_t.backward(torch.tensor(up))
    for i, (x, t) in enumerate(zip(xs, ts)):
        want = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        got = np.zeros(x.shape) if x.grad is None else x.grad.array
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=atol, err_msg=f"grad of input {i}")


def both(name: str) -> Callable[..., Any]:
    """``lambda x: x.<name>()`` for a method with the same name in both libraries."""
    return lambda x: getattr(x, name)()


@pytest.mark.parametrize("name", ["exp", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "neg",
                                  "expm1", "erf", "sign", "floor", "ceil", "round", "atan",
                                  "arctan", "sinh", "cosh"])
def test_unary(name: str) -> None:
    helper_test_op([(3, 4)], both(name))


@pytest.mark.parametrize("name", ["log", "sqrt", "rsqrt", "log1p", "reciprocal", "log2", "log10"])
def test_unary_positive(name: str) -> None:
    helper_test_op([(3, 4)], both(name), low=0.2, high=3.0)


@pytest.mark.parametrize("f", [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
    lambda a, b: a.maximum(b), lambda a, b: a.minimum(b), lambda a, b: a.abs() ** b,
    lambda a, b: a.where(a > b, b) if isinstance(a, torch.Tensor) else cr.where(a > b, a, b),
], ids=["add", "sub", "mul", "div", "maximum", "minimum", "pow", "where"])
def test_binary_broadcast(f: Callable[..., Any]) -> None:
    helper_test_op([(2, 1, 4), (3, 1)], f, low=0.3, high=2.0)


@pytest.mark.parametrize("f", [
    lambda x: 2.5 - x, lambda x: 1.5 / x, lambda x: 2.0 ** x, lambda x: x ** 3,
    lambda x: x.clamp(0.5, 1.5), lambda x: x.clamp(min=1.0),
], ids=["rsub", "rdiv", "rpow", "pow3", "clamp", "clamp-min"])
def test_scalar_ops(f: Callable[..., Any]) -> None:
    helper_test_op([(5,)], f, low=0.3)


@pytest.mark.parametrize("f", [
    lambda x: x.sum(), lambda x: x.sum(1, keepdim=True), lambda x: x.mean((0, 2)),
    lambda x: x.var(1), lambda x: x.std(), lambda x: x.prod(2), lambda x: x.amax(1),
    lambda x: x.amin((0, 1)), lambda x: x.max(), lambda x: x.max(1)[0], lambda x: x.min(-1)[0],
    lambda x: x.logsumexp(1), lambda x: x.norm(), lambda x: x.norm(dim=-1),
    lambda x: x.cumsum(1), lambda x: x.cumprod(2),
], ids=["sum", "sum-keepdim", "mean", "var", "std", "prod", "amax", "amin", "max", "max-dim",
        "min-dim", "logsumexp", "norm", "norm-dim", "cumsum", "cumprod"])
def test_reductions(f: Callable[..., Any]) -> None:
    helper_test_op([(2, 3, 4)], f)


@pytest.mark.parametrize("f", [
    lambda x: x.max(1)[0], lambda x: x.amax(1), lambda x: x.max(), lambda x: x.min(0)[0],
    lambda x: x.amin(0), lambda x: x.relu(),
], ids=["max-dim", "amax", "max-all", "min-dim", "amin", "relu-at-zero"])
def test_tie_semantics(f: Callable[..., Any]) -> None:
    ties = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [0.0, 0.0, 0.0]]
    xc = cr.tensor(ties, dtype=cr.float64, requires_grad=True)
    xt = torch.tensor(ties, dtype=torch.float64, requires_grad=True)
    f(xc).sum().backward()
    f(xt).sum().backward()
    np.testing.assert_array_equal(xc.grad.array, xt.grad.numpy())


@pytest.mark.parametrize("f", [
    lambda x: x.softmax(1), lambda x: x.log_softmax(-1),
    lambda x: x * x.sigmoid(), lambda x: x.tanh().pow(2),
], ids=["softmax", "log_softmax", "silu", "tanh-squared"])
def test_fused_and_activations(f: Callable[..., Any]) -> None:
    helper_test_op([(3, 5)], f)


@pytest.mark.parametrize("name, kw", [
    ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}), ("softplus", {}),
    ("softplus", {"beta": 2.0, "threshold": 1.0}), ("elu", {"alpha": 0.7}),
    ("leaky_relu", {"negative_slope": 0.2}),
])
def test_functional_activations(name: str, kw: dict[str, Any]) -> None:
    helper_test_op([(4, 3)], lambda x: getattr(cr.nn.functional, name)(x, **kw),
                   lambda x: getattr(torch.nn.functional, name)(x, **kw), atol=2e-6)


@pytest.mark.parametrize("f", [
    lambda x: x.reshape(4, 6), lambda x: x.view(-1), lambda x: x.flatten(1),
    lambda x: x.unflatten(2, (2, 2)), lambda x: x[:, None].squeeze(1),
    lambda x: x.unsqueeze(-1), lambda x: x.transpose(0, 2), lambda x: x.permute(2, 0, 1),
    lambda x: x[:, :1].expand(2, 3, 4), lambda x: x.repeat(1, 2, 1), lambda x: x.flip(1),
    lambda x: x.roll(1, 2), lambda x: x.tril(), lambda x: x.triu(1), lambda x: x.mT,
    lambda x: x[1, ::-1, None, 1:3], lambda x: x[..., 2], lambda x: x[x > 0],
], ids=["reshape", "view", "flatten", "unflatten", "squeeze", "unsqueeze", "transpose",
        "permute", "expand", "repeat", "flip", "roll", "tril", "triu", "mT", "index-basic",
        "index-ellipsis", "index-mask"])
def test_movement(f: Callable[..., Any]) -> None:
    try:
        helper_test_op([(2, 3, 4)], f)
    except ValueError as e:  # torch refuses negative steps; compare with flip instead
        if "step" not in str(e):
            raise
        helper_test_op([(2, 3, 4)], f, lambda x: x[1].flip(0)[:, None, 1:3])


def test_advanced_index_with_duplicates() -> None:
    idx = [0, 2, 2, 1, 0]
    helper_test_op([(3, 4)], lambda x: x[cr.tensor(idx)], lambda x: x[torch.tensor(idx)])
    helper_test_op([(3, 4)], lambda x: x[cr.tensor(idx), 1:], lambda x: x[torch.tensor(idx), 1:])


@pytest.mark.parametrize("f, ft", [
    (lambda a, b: cr.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1)),
    (lambda a, b: cr.stack([a, b], 0), lambda a, b: torch.stack([a, b], 0)),
    (lambda a, b: a.split(1, 1)[1] * b[:, :1], lambda a, b: a.split(1, 1)[1] * b[:, :1]),
    (lambda a, b: a.chunk(2, 1)[0] + b.chunk(2, 1)[1], None),
    (lambda a, b: cr.pad(a, (1, 2, 0, 1), value=0.5) * 2,
     lambda a, b: torch.nn.functional.pad(a, (1, 2, 0, 1), value=0.5) * 2),
], ids=["cat", "stack", "split", "chunk", "pad"])
def test_joins(f: Callable[..., Any], ft: Callable[..., Any] | None) -> None:
    helper_test_op([(2, 4), (2, 4)], f, ft)


def test_gather_scatter_index_select_masked_fill() -> None:
    idx = [[0, 0, 2], [1, 2, 2]]
    helper_test_op([(2, 3)], lambda x: x.gather(1, cr.tensor(idx)),
                   lambda x: x.gather(1, torch.tensor(idx)))
    helper_test_op([(2, 3), (2, 3)], lambda x, s: x.scatter_add(1, cr.tensor(idx), s),
                   lambda x, s: x.scatter_add(1, torch.tensor(idx), s))
    helper_test_op([(3, 4)], lambda x: x.index_select(1, cr.tensor([3, 0, 3])),
                   lambda x: x.index_select(1, torch.tensor([3, 0, 3])))
    helper_test_op([(3, 4)], lambda x: x.masked_fill(x > 0, -1.0))


@pytest.mark.parametrize("sa, sb", [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)),
                                    ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
                                    ((5, 1, 2, 3), (4, 3, 2))])
def test_matmul(sa: tuple[int, ...], sb: tuple[int, ...]) -> None:
    helper_test_op([sa, sb], lambda a, b: a @ b)


def test_outer_einsum_linear() -> None:
    helper_test_op([(3,), (4,)], lambda a, b: a.outer(b))
    helper_test_op([(2, 3, 4), (4, 5)], lambda a, b: cr.einsum("bij,jk->bik", a, b),
                   lambda a, b: torch.einsum("bij,jk->bik", a, b))
    helper_test_op([(4, 3), (2, 3), (2,)], cr.nn.functional.linear,
                   torch.nn.functional.linear)


def test_second_derivatives_match_torch() -> None:
    def second(lib: Any, x: Any) -> Any:
        (g,) = lib.autograd.grad((x.sin() * x**3).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), x)
        return gg

    a = np.linspace(-2, 2, 7)
    got = second(cr, cr.tensor(a, requires_grad=True, dtype=cr.float64))
    want = second(torch, torch.tensor(a, requires_grad=True))
    np.testing.assert_allclose(got.array, want.numpy(), rtol=1e-10)


def test_dtype_promotion_matches_torch() -> None:
    pairs = [(lambda m: m.ones(2) * 2.5), (lambda m: m.tensor([1, 2]) * 2.5),
             (lambda m: m.tensor([1, 2]) / 2), (lambda m: m.tensor([1, 2]) + 1),
             (lambda m: m.ones(2).sum()), (lambda m: m.tensor([True, False]).sum())]
    for f in pairs:
        assert str(f(cr).dtype) == str(f(torch).dtype).removeprefix("torch.")

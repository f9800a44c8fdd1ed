"""cr.linalg.norm / vector_norm / matrix_norm: values and gradients as torch.linalg's, float64
finite differences, errors that name the function."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck

INF = math.inf


def _r(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _parity(name: str, a: np.ndarray, *args: Any, **kwargs: Any) -> None:
    torch = pytest.importorskip("torch")
    x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out = getattr(cr.linalg, name)(x, *args, **kwargs)
    ref = getattr(torch.linalg, name)(t, *args, **kwargs)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10)
    assert out.shape == tuple(ref.shape)
    if not out.requires_grad:  # ord=0 counts: torch's gradient is zero
        return
    g = _r(*ref.shape, seed=5)
    (out * cr.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("ord", [2, 1, 3.5, INF, -INF, 0, -1])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (1, False), ((0, 2), True),
                                         (-1, True)])
def test_vector_norm_matches_torch(ord: float, dim: Any, keepdim: bool) -> None:
    _parity("vector_norm", _r(2, 3, 4), ord, dim, keepdim)


@pytest.mark.parametrize("ord", ["fro", 1, -1, INF, -INF])
@pytest.mark.parametrize("dim", [(-2, -1), (0, 2), (2, 0)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norm_matches_torch(ord: Any, dim: tuple[int, int], keepdim: bool) -> None:
    _parity("matrix_norm", _r(2, 3, 4), ord, dim, keepdim)


@pytest.mark.parametrize("shape,ord,dim", [((5,), None, None), ((3, 4), None, None),
                                           ((2, 3, 4), None, None), ((5,), 1, None),
                                           ((3, 4), "fro", None), ((3, 4), INF, None),
                                           ((3, 4), 3, 1), ((2, 3, 4), 1, (1, 2)),
                                           ((2, 3, 4), None, (0,)), ((2, 3, 4), None, (0, 1))])
def test_norm_picks_vector_or_matrix_as_torch(shape: tuple[int, ...], ord: Any,
                                              dim: Any) -> None:
    _parity("norm", _r(*shape), ord, dim)
    _parity("norm", _r(*shape), ord, dim, keepdim=True)


def test_gradcheck_and_zero_norm_gradient() -> None:
    x = cr.tensor(_r(3, 4), requires_grad=True)
    assert gradcheck(lambda t: cr.linalg.vector_norm(t, 3, dim=1), (x,))
    assert gradcheck(lambda t: cr.linalg.norm(t), (x,))
    assert gradcheck(lambda t: cr.linalg.matrix_norm(t, 1), (x,))
    assert gradcheck(lambda t: cr.linalg.matrix_norm(t, -INF), (x,))
    z = cr.zeros(3, dtype=cr.float64, requires_grad=True)
    cr.linalg.vector_norm(z).backward()
    np.testing.assert_array_equal(z.grad.numpy(), np.zeros(3))


def test_is_a_submodule_and_reuses_cr_norm() -> None:
    import chainrule.linalg

    assert cr.linalg is chainrule.linalg
    x = cr.tensor(_r(3, 4))
    np.testing.assert_allclose(cr.linalg.vector_norm(x, dim=0).numpy(), cr.norm(x, dim=0).numpy())
    assert cr.linalg.vector_norm(x, dtype=cr.float32).dtype == cr.float32


def test_errors_name_the_function() -> None:
    with pytest.raises(ValueError, match="linalg.matrix_norm: unsupported ord 3"):
        cr.linalg.matrix_norm(cr.ones(2, 2), 3)
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: expected a tensor with at least"):
        cr.linalg.matrix_norm(cr.ones(3))
    with pytest.raises(RuntimeError, match="linalg.norm: .* must be 1-D or 2-D"):
        cr.linalg.norm(cr.ones(2, 2, 2), ord=1)
    with pytest.raises(RuntimeError, match="linalg.vector_norm: expected a floating tensor"):
        cr.linalg.vector_norm(cr.tensor([1, 2]))
    with pytest.raises(ValueError, match="linalg.vector_norm: ord must be a number"):
        cr.linalg.vector_norm(cr.ones(2), "fro")

"""scatter, scatter_reduce, index_add, index_put, masked_scatter beyond the gradcheck matrix:
forward-mode tangents of every reduction, the in-place methods (version counters, graph
rebinding, the leaf check) and the one-line errors naming the function and the shapes."""

from __future__ import annotations

import numpy as np
import pytest
from fwd_check import assert_jvp_matches_fd

import chainrule as cr

R = np.random.default_rng(0)
X = R.standard_normal((3, 4))
SRC = R.standard_normal((3, 2)) + 0.01
INDEX = cr.tensor([[0, 0], [3, 1], [2, 2]])


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_tangents(reduce: str, include_self: bool) -> None:
    assert_jvp_matches_fd(lambda x, s: cr.scatter_reduce(x, 1, INDEX, s, reduce,
                                                         include_self=include_self), X, SRC)


@pytest.mark.parametrize("f", [
    lambda x, s: cr.scatter(x, 1, cr.tensor([[0, 2], [3, 1], [1, 0]]), s),
    lambda x, s: cr.index_add(x, 1, cr.tensor([0, 0]), s, alpha=-2.0),
    lambda x, s: cr.index_put(x, (cr.tensor([0, 0, 2]),), s[0, :1], accumulate=True),
    lambda x, s: cr.masked_scatter(x, cr.tensor([True, False, False, True]), s),
], ids=["scatter", "index_add", "index_put", "masked_scatter"])
def test_tangents(f: object) -> None:
    assert_jvp_matches_fd(f, X, SRC)


def test_in_place_versions_record_the_graph_and_bump_the_version() -> None:
    x = cr.tensor(X, requires_grad=True)
    src = cr.tensor(SRC, requires_grad=True)
    y = x * 1
    y.scatter_(1, INDEX, src, reduce="add").index_add_(0, cr.tensor([1]), src[:1, :1].expand(1, 4))
    y.index_put_((cr.tensor([2]), cr.tensor([3])), cr.tensor(5.0, dtype=cr.float64))
    y.masked_scatter_(cr.tensor([False, True, False, False]), src)
    y.scatter_reduce_(1, INDEX, src, "amax").scatter_add_(1, INDEX, src)
    assert y._version == 6
    want = cr.scatter_add(cr.scatter_reduce(cr.masked_scatter(cr.index_put(
        cr.index_add(cr.scatter(x, 1, INDEX, src, reduce="add"), 0, cr.tensor([1]),
                     src[:1, :1].expand(1, 4)), (cr.tensor([2]), cr.tensor([3])),
        cr.tensor(5.0, dtype=cr.float64)),
        cr.tensor([False, True, False, False]), src), 1, INDEX, src, "amax"), 1, INDEX, src)
    np.testing.assert_allclose(y.array, want.array)
    y.sum().backward()
    gx, gs = x.grad.array.copy(), src.grad.array.copy()
    x.grad = src.grad = None
    want.sum().backward()
    np.testing.assert_allclose(gx, x.grad.array)
    np.testing.assert_allclose(gs, src.grad.array)


def test_in_place_on_a_leaf_that_requires_grad_is_refused() -> None:
    x = cr.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.scatter_(1, INDEX, cr.zeros(3, 2, dtype=cr.float64))
    with cr.no_grad():
        x.index_add_(0, cr.tensor([0]), cr.ones(1, 4, dtype=cr.float64))
    np.testing.assert_allclose(x.array[0], X[0] + 1)


def test_in_place_on_a_saved_input_is_caught_in_backward() -> None:
    x = cr.tensor(X, requires_grad=True)
    y = x * 1
    z = y.exp()
    y.index_put_((cr.tensor([0]),), cr.tensor(0.0, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


@pytest.mark.parametrize("call, message", [
    (lambda x: x.scatter(1, cr.tensor([[0]], dtype=cr.int32), 1.0), r"scatter\(\).*int64"),
    (lambda x: x.scatter(1, cr.tensor([[5]]), 1.0),
     r"index 5 is out of bounds for dimension 1 with size 4"),
    (lambda x: x.scatter(1, cr.tensor([[-1]]), 1.0), r"index -1 is out of bounds"),
    (lambda x: x.scatter(1, cr.zeros(4, 5, dtype=cr.int64), cr.ones(3, 4)),
     r"Expected index \[4, 5\] to be no larger than self \[3, 4\] apart from dimension 1 and "
     r"to be no larger size than src \[3, 4\]"),
    (lambda x: x.scatter(1, cr.zeros(3, dtype=cr.int64), 1.0),
     r"same number of dimensions.*\(3, 4\).*\(3,\)"),
    (lambda x: x.scatter(1, INDEX, cr.ones(3, 2), reduce="max"), r"add or multiply"),
    (lambda x: x[0, 0].scatter(0, cr.tensor([0]), 1.0), r"scatter\(\): self must have at least"),
    (lambda x: x.scatter_reduce(1, INDEX, cr.ones(3, 2), "max"), r"sum, prod, mean, amax"),
    (lambda x: x.index_add(1, cr.tensor([0, 1]), cr.ones(3, 3)),
     r"index_add\(\): source of shape \(3, 3\) does not match self of shape \(3, 4\)"),
    (lambda x: x.index_add(1, cr.tensor([[0, 1]]), cr.ones(3, 2)), r"index_add\(\).*vector"),
    (lambda x: x.index_add(1, cr.tensor([0, 7]), cr.ones(3, 2)), r"index 7 is out of bounds"),
    (lambda x: x.index_put((cr.tensor([0.0]),), cr.ones(4)),
     r"index_put\(\): .*must be long or bool, got float32"),
    (lambda x: x.index_put((cr.tensor([0, 1]),), cr.ones(3)),
     r"value tensor of shape \(3,\) cannot be broadcast to indexing result of shape \(2, 4\)"),
    (lambda x: x.masked_scatter(cr.tensor(X > 0), cr.ones(2)),
     r"number of elements of source \(2\) < number of ones in mask"),
    (lambda x: x.masked_scatter(cr.ones(3, 4), cr.ones(12)), r"only supports boolean masks"),
    (lambda x: x.scatter(1, INDEX, cr.ones(3, 2, dtype=cr.float64)),
     r"scatter\(\): expected self and source to have the same dtype, got float32 and float64"),
    (lambda x: x.scatter_reduce(1, INDEX, cr.ones(3, 2, dtype=cr.float64), "sum"),
     r"scatter_reduce\(\): expected self and source to have the same dtype"),
    (lambda x: x.index_add(0, cr.tensor([0]), cr.ones(1, 4, dtype=cr.float64)),
     r"index_add\(\): expected self and source to have the same dtype"),
    (lambda x: x.index_put((cr.tensor([0]),), cr.ones(4, dtype=cr.float64)),
     r"index_put\(\): expected self and source to have the same dtype"),
    (lambda x: x.masked_scatter(cr.tensor(X > 0), cr.ones(12, dtype=cr.float64)),
     r"masked_scatter\(\): expected self and source to have the same dtype"),
    (lambda x: x.masked_scatter_(cr.ones(2, 3, 4, dtype=cr.bool), cr.ones(24)),
     r"masked_scatter_\(\): mask of shape \(2, 3, 4\) does not broadcast to self of shape"),
])
def test_errors(call: object, message: str) -> None:
    with pytest.raises((RuntimeError, IndexError), match=message):
        call(cr.tensor(X, dtype=cr.float32))  # type: ignore[operator]


def test_integer_and_value_forms() -> None:
    out = cr.zeros(2, 3, dtype=cr.int64).scatter(1, cr.tensor([[2], [0]]), value=7)
    assert out.dtype == cr.int64 and out.tolist() == [[0, 0, 7], [7, 0, 0]]
    x = cr.arange(4.0)
    assert x.scatter(0, cr.tensor([1, 3]), cr.tensor([2.0, 5.0]), reduce="multiply").tolist() \
        == [0.0, 2.0, 2.0, 15.0]

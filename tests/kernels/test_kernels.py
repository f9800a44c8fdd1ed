"""The compiled kernels (``chainrule.kernels``) against the NumPy forms of the same ops: values
and gradients equal to 1e-6 in float64 under random upstream gradients, float32 within the
tolerance stated per test, gradcheck in float64 through the compiled path, and the kernels
actually running when on (each test counts their calls)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("numba")

import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402
from chainrule import kernels, mkl, threads  # noqa: E402
from chainrule.autograd import engine  # noqa: E402
from chainrule.kernels import (  # noqa: E402
    activation,
    approx,
    arithmetic,
    linear,
    loss,
    normalization,
    pool,
    recurrent,
    scatter,
    softmax,
    team,
    windows,
)
from chainrule.kernels import attention as attention_kernels  # noqa: E402
from chainrule.ops import attention, elementwise  # noqa: E402
from chainrule.ops.rnn import lstm_sequence  # noqa: E402

# float32: the kernels compute in float32 with their own rounding order (and the rational erf
# and tanh, a few ulps off); the NumPy forms differ from them by about this much.
F32 = {"rtol": 2e-4, "atol": 2e-5}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Counts calls of each public kernel function, by name."""
    counts: dict[str, int] = {}
    for module in (activation, arithmetic, attention_kernels, linear, loss, normalization, pool,
                   recurrent, scatter, softmax, windows):
        for name in module.__dict__:
            fn = getattr(module, name)
            if name.startswith("_") or not callable(fn) or getattr(fn, "__module__", "") \
                    != module.__name__:
                continue

            def counted(*args: Any, _fn: Callable[..., Any] = fn, _name: str = name) -> Any:
                counts[_name] = counts.get(_name, 0) + 1
                return _fn(*args)
            monkeypatch.setattr(module, name, counted)
    yield counts


@pytest.fixture
def no_team(monkeypatch: pytest.MonkeyPatch) -> None:
    """Attention through its pieces in Python (``threads.split``), not wholly compiled on
    MKL's threads."""
    monkeypatch.setattr(mkl, "_team", None)


def _run(fn: Callable[..., cr.Tensor], arrays: list[np.ndarray], g: np.ndarray, jit: bool
         ) -> list[np.ndarray]:
    with kernels.use_jit(jit):
        xs = [cr.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*xs)
        out.backward(cr.tensor(g))
        return [out.array.copy(), *(x.grad.array.copy() for x in xs)]


def _check(fn: Callable[..., cr.Tensor], shapes: list[tuple[int, ...]], seed: int,
           dtype: Any, calls: dict[str, int], kernel: str) -> None:
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    with kernels.use_jit(False):
        shape = fn(*(cr.tensor(a) for a in arrays)).shape
    g = rng.standard_normal(tuple(shape)).astype(dtype)
    before = calls.get(kernel, 0)
    got = _run(fn, arrays, g, True)
    assert calls.get(kernel, 0) > before, f"{kernel} did not run"
    after = calls[kernel]
    want = _run(fn, arrays, g, False)
    assert calls[kernel] == after, f"{kernel} ran with the kernels off"
    tol = {"rtol": 1e-6, "atol": 1e-6} if dtype == np.float64 else F32
    for a, b in zip(got, want):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_allclose(a, b, **tol)


def _gradcheck(fn: Callable[..., cr.Tensor], shapes: list[tuple[int, ...]]) -> None:
    rng = np.random.default_rng(7)
    with kernels.use_jit(True):
        assert cr.autograd.gradcheck(fn, [cr.tensor(rng.standard_normal(s), requires_grad=True)
                              for s in shapes])


DTYPES = [np.float64, np.float32]
CASES: dict[str, tuple[Callable[..., cr.Tensor], list[tuple[int, ...]], str]] = {
    "relu": (lambda x: F.relu(x), [(3, 5, 7)], "relu_backward"),
    "relu-channels-last": (lambda x: F.relu(x.permute(0, 3, 1, 2)), [(2, 4, 5, 3)],
                           "relu"),
    "gelu": (lambda x: F.gelu(x), [(3, 5, 7)], "gelu_backward"),
    "gelu-tanh": (lambda x: F.gelu(x, approximate="tanh"), [(3, 5, 7)], "gelu_backward"),
    "layer-norm": (lambda x, w, b: F.layer_norm(x, (6,), w, b), [(2, 5, 6), (6,), (6,)],
                   "layer_norm_backward"),
    "layer-norm-2d": (lambda x, w, b: F.layer_norm(x, (4, 6), w, b),
                      [(3, 4, 6), (4, 6), (4, 6)], "layer_norm_backward"),
    "layer-norm-plain": (lambda x: F.layer_norm(x, (6,)), [(4, 6)], "layer_norm_backward"),
    "attention": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
                  [(2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 3)], "softmax_backward_"),
    "attention-causal": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v,
                                                                        is_causal=True),
                         [(2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 3)], "softmax_backward_"),
    # 64 or more queries: the causal products run by blocks (more keys, fewer keys, equal)
    "attention-causal-blocks": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v,
                                                                               is_causal=True),
                                [(2, 70, 3), (2, 90, 3), (2, 90, 2)], "softmax_backward_"),
    "attention-causal-blocks-fewer-keys": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        [(1, 2, 67, 3), (1, 2, 40, 3), (1, 2, 40, 2)], "softmax_backward_"),
    "attention-causal-blocks-square": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        [(2, 1, 128, 4), (2, 1, 128, 4), (2, 1, 128, 3)], "softmax_backward_"),
    # values batched over more dims than the queries and keys (the probabilities broadcast)
    "attention-value-batch": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
                              [(1, 2, 5, 3), (1, 2, 6, 3), (3, 2, 6, 2)], "softmax_backward_"),
    "attention-causal-blocks-value-batch": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        [(1, 1, 66, 3), (1, 1, 70, 3), (2, 1, 70, 2)], "softmax_backward_"),
    "attention-mask": (lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
                       [(2, 5, 4), (2, 6, 4), (2, 6, 3), (5, 6)], "softmax_backward_"),
    "conv2d": (lambda x, w: F.conv2d(x, w, padding=1), [(2, 3, 6, 5), (4, 3, 3, 3)],
               "rows2im"),
    "conv2d-strided": (lambda x, w: F.conv2d(x, w, stride=(2, 3), dilation=(1, 2)),
                       [(2, 3, 9, 11), (4, 3, 3, 2)], "rows2im"),
    "conv2d-grouped": (lambda x, w: F.conv2d(x, w, stride=2, padding=(1, 2), groups=3),
                       [(2, 6, 7, 8), (6, 2, 3, 2)], "col2im"),
    "conv-transpose2d": (lambda y, w, b: F.conv_transpose2d(y, w, b, stride=(2, 3), padding=(1, 2),
                                                            output_padding=(1, 0),
                                                            dilation=(1, 2)),
                         [(2, 3, 5, 4), (3, 4, 2, 3), (4,)], "rows2im"),
    "conv1d-transpose": (lambda y, w: F.conv_transpose1d(y, w, stride=3, padding=2,
                                                         output_padding=2, dilation=2),
                         [(2, 3, 6), (3, 2, 4)], "rows2im"),
    "conv2d-im2col": (lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=(2, 1),
                                               dilation=(2, 1), groups=2),
                      [(2, 4, 7, 8), (6, 2, 3, 2), (6,)], "im2col"),
    "conv2d-im2col-channel-major": (lambda x, w: F.conv2d(F.conv2d(x, w).relu(), w, groups=5),
                                    [(3, 1, 8, 9), (5, 1, 3, 3)], "im2col"),
    "conv1d-im2col": (lambda x, w: F.conv1d(x, w, stride=2, padding=1), [(2, 3, 9), (4, 3, 3)],
                      "im2col"),
    "fold": (lambda c: F.fold(c, (7, 8), (2, 3), dilation=(2, 1), padding=1, stride=(1, 2)),
             [(2, 18, 28)], "col2im"),
    "max-pool2d": (lambda x: F.max_pool2d(x, 2), [(2, 3, 6, 8)], "max_pool2d"),
    "max-pool2d-overlap": (lambda x: F.max_pool2d(x, (3, 2), (2, 1), (1, 0), (1, 2)),
                           [(2, 3, 9, 7)], "max_pool_scatter"),
    "max-pool2d-ceil": (lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), [(1, 4, 8, 7)],
                        "max_pool2d"),
    "max-pool1d": (lambda x: F.max_pool1d(x, 3, 2, 1), [(2, 3, 11)], "max_pool_scatter"),
    "linear": (lambda x, w, b: F.linear(x, w, b), [(3, 4, 5), (6, 5), (6,)], "add_bias"),
    "cross-entropy": (lambda x: F.cross_entropy(x, cr.tensor([2, 0, 4, 4, 1, 0, 3])),
                      [(7, 5)], "cross_entropy_backward"),
    "cross-entropy-rows": (lambda x: F.cross_entropy(x, cr.tensor([1, 0, 2]), reduction="none",
                                                     label_smoothing=0.1),
                           [(3, 4)], "cross_entropy_backward"),
    # probability targets, with a gradient into them too
    "cross-entropy-soft": (lambda x, t: F.cross_entropy(x, t.softmax(-1), reduction="sum"),
                           [(6, 3)] * 2, "cross_entropy"),
    # rows gathered with repeats and a negative index: the gradient adds the rows back
    "gather-rows": (lambda w: w[cr.tensor([[0, 3, -1], [3, 3, 1]])], [(5, 2, 3)], "add_rows"),
    "embedding": (lambda w: F.embedding(cr.tensor([4, 0, 4, 2, 4]), w), [(6, 3)], "add_rows"),
    "lstm": (lambda x, wi, wh, h, c, b: lstm_sequence(x, wi, wh, h, c, b),
             [(5, 3, 2), (16, 2), (16, 4), (3, 4), (3, 4), (16,)], "lstm_cell_backward"),
    "lstm-reverse": (lambda x, wi, wh, h, c, b: lstm_sequence(x, wi, wh, h, c, b, reverse=True),
                     [(5, 3, 2), (16, 2), (16, 4), (3, 4), (3, 4), (16,)],
                     "lstm_cell_backward"),
    "lstm-no-bias": (lambda x, wi, wh, h, c: lstm_sequence(x, wi, wh, h, c),
                     [(5, 3, 2), (16, 2), (16, 4), (3, 4), (3, 4)], "lstm_cell_backward"),
}


@pytest.mark.usefixtures("no_team")
@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_kernel_equals_the_numpy_form(case: str, dtype: Any, seed: int,
                                      calls: dict[str, int]) -> None:
    fn, shapes, kernel = CASES[case]
    _check(fn, shapes, seed, dtype, calls, kernel)


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradcheck_through_the_kernels(case: str) -> None:
    fn, shapes, _ = CASES[case]
    _gradcheck(fn, shapes)


# attention cuts its batch into pieces over threads, GELU its elements
SPLIT = ["attention", "attention-causal", "attention-causal-blocks",
         "attention-causal-blocks-fewer-keys", "attention-causal-blocks-value-batch",
         "attention-mask", "gelu", "gelu-tanh"]


@pytest.mark.usefixtures("no_team")
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("case", SPLIT)
def test_split_over_threads_equals_the_numpy_form(
        case: str, dtype: Any, calls: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    # three threads and pieces of any size, so that the batch is cut into uneven pieces
    ran_on: set[int] = set()
    split = threads.split

    def recorded(body: Callable[[int, int], None], n: int, grain: int = 1) -> None:
        def piece(lo: int, hi: int) -> None:
            ran_on.add(threading.get_ident())
            body(lo, hi)
        split(piece, n, grain)

    monkeypatch.setattr(threads, "split", recorded)
    monkeypatch.setattr(threads, "_count", 3)
    monkeypatch.setattr(attention, "PIECE_FLOPS", 1)
    monkeypatch.setattr(activation, "PIECE", 1)
    fn, shapes, kernel = CASES[case]
    _check(fn, shapes, 0, dtype, calls, kernel)
    assert len(ran_on) > 1


MORE_KEYS = [(1, 2, 3, 4), (1, 2, 7, 4), (1, 2, 7, 2)]


@pytest.mark.usefixtures("no_team")
def test_attention_causal_with_more_keys_than_queries(calls: dict[str, int]) -> None:
    # the causal mask hides the upper triangle of L×S: key j from query i when j > i
    _check(CASES["attention-causal"][0], MORE_KEYS, 3, np.float64, calls, "softmax_backward_")


needs_team = pytest.mark.skipif(mkl.team() is None,
                                reason="MKL is not installed (pip install 'chainrule[mkl]')")
# the cases without a mask: these run wholly compiled on MKL's threads (a batch that
# broadcasts through its matrices' offsets)
TEAM = {case: CASES[case][:2] for case in ("attention", "attention-causal",
                                           "attention-causal-blocks",
                                           "attention-causal-blocks-fewer-keys",
                                           "attention-causal-blocks-square",
                                           "attention-value-batch",
                                           "attention-causal-blocks-value-batch")}
TEAM["attention-causal-more-keys"] = (CASES["attention-causal"][0], MORE_KEYS)


@needs_team
@pytest.mark.parametrize("count", [1, 3])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("case", sorted(TEAM))
def test_attention_on_mkls_threads_equals_the_numpy_form(
        case: str, dtype: Any, count: int, calls: dict[str, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # on one thread, and on three with any share of the batch (uneven where it is 2 or 6)
    monkeypatch.setattr(threads, "_count", count)
    monkeypatch.setattr(attention, "TEAM_PIECE_FLOPS", 1)
    fn, shapes = TEAM[case]
    _check(fn, shapes, 0, dtype, calls, "backward")


# the cases whose kernels run over shares of their work on MKL's threads (a sum of large
# arrays among them)
SHARED = {case: CASES[case] for case in ("relu", "relu-channels-last", "gelu", "gelu-tanh",
                                         "layer-norm", "layer-norm-2d",
                                         "layer-norm-plain", "linear", "conv2d",
                                         "conv2d-strided", "conv2d-grouped", "conv2d-im2col",
                                         "conv-transpose2d")}
SHARED["add"] = (lambda a, b: a + b, [(3, 5, 7)] * 2, "add")
# the gradients of the slices of a non-leaf, added at their slices of its gradient
SHARED["split"] = (lambda x: (lambda q, k, v: q * 2 + k * v)(*(x * 1.0).split(3, dim=-1)),
                   [(2, 5, 9)], "into")


@needs_team
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("case", sorted(SHARED))
def test_shares_on_mkls_threads_equal_the_numpy_form(
        case: str, dtype: Any, calls: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    # three threads and shares of any size, uneven where the rows or elements do not divide
    counts: list[int] = []
    run = team.run

    def recorded(*args: Any) -> None:
        counts.append(args[-1])
        run(*args)

    monkeypatch.setattr(team, "run", recorded)
    monkeypatch.setattr(threads, "_count", 3)
    monkeypatch.setattr(team, "GRAIN", 1)
    monkeypatch.setattr(elementwise, "_SHARED", 1)
    monkeypatch.setattr(engine, "_SHARED", 1)
    fn, shapes, kernel = SHARED[case]
    _check(fn, shapes, 0, dtype, calls, kernel)
    assert counts and set(counts) == {3}


@needs_team
@pytest.mark.parametrize("need", [(True, False, False), (False, True, False),
                                  (False, False, True), (True, False, True)])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_on_mkls_threads_computes_the_gradients_asked(
        need: tuple[bool, ...], causal: bool, calls: dict[str, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((2, 3, 70, 4)) for _ in range(3)]
    g = rng.standard_normal((2, 3, 70, 4))
    outs = []
    for lent in (mkl.team(), None):
        monkeypatch.setattr(mkl, "_team", lent)
        xs = [cr.tensor(a, requires_grad=n) for a, n in zip(arrays, need)]
        y = F.scaled_dot_product_attention(*xs, is_causal=causal)
        y.backward(cr.tensor(g))
        outs.append([y.array] + [x.grad.array for x, n in zip(xs, need) if n])
        assert all(x.grad is None for x, n in zip(xs, need) if not n)
    assert calls["backward"] == 1
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("args", [(2,), ((2, 3), (1, 2), (1, 1), (2, 1))])
def test_max_pool_ties_and_non_finite_values_as_the_numpy_form(args: tuple[Any, ...]) -> None:
    # the first maximum wins a tie; a window with a NaN gives NaN and routes g to its last
    # offset; ±inf compare as numbers
    rng = np.random.default_rng(0)
    x = np.round(rng.standard_normal((2, 3, 8, 9)), 0)
    x.flat[::7], x.flat[3::11], x.flat[5::13] = np.nan, np.inf, -np.inf
    outs = []
    for jit in (True, False):
        with kernels.use_jit(jit):
            t = cr.tensor(x, requires_grad=True)
            y, idx = F.max_pool2d(t, *args, return_indices=True)
            y.backward(cr.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape))))
            outs.append((y.array, idx.array, t.grad.array))
    (y, idx, grad), (y0, idx0, grad0) = outs
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(idx, idx0)
    np.testing.assert_allclose(grad, grad0, rtol=1e-12)  # overlaps: summed in another order


def test_gelu_at_large_and_tiny_inputs() -> None:
    # float32 as PyTorch computes it: ½(1 + erf) cancels to 0 below about −5.5
    x = np.array([-40.0, -8.0, -1e-30, 0.0, 1e-30, 8.0, 40.0])
    want = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
    np.testing.assert_allclose(activation.gelu(x, "none"), want, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(activation.gelu(x.astype(np.float32), "none"), want, rtol=1e-6,
                               atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_relu_of_non_finite_values_as_the_numpy_form(dtype: Any) -> None:
    x = np.array([-np.inf, -1.0, -0.0, 0.0, 1e-30, 2.0, np.inf, np.nan], dtype)
    g = np.array([1.0, np.inf, np.nan, 2.0, 3.0, -np.inf, 4.0, 5.0], dtype)
    np.testing.assert_array_equal(activation.relu(x), np.maximum(x, 0))
    with np.errstate(invalid="ignore"):  # inf·0 is NaN in both forms
        np.testing.assert_array_equal(activation.relu_backward(x, g), g * (x > 0))


def test_relu_runs_in_the_arrays_own_layout_and_leaves_gapped_ones_to_numpy() -> None:
    rng = np.random.default_rng(3)
    base = rng.standard_normal((2, 4, 5, 3))
    x, g = base.transpose(0, 3, 1, 2), rng.standard_normal(base.shape).transpose(0, 3, 1, 2)
    y = activation.relu(x)
    assert y is not None and y.strides == x.strides  # no copy into C order
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    np.testing.assert_array_equal(activation.relu_backward(x, g), g * (x > 0))
    assert activation.relu(base[:, ::2]) is None  # gaps between rows: NumPy's pass instead
    assert activation.relu_backward(x, np.ascontiguousarray(g)) is None  # layouts differ
    for arr in (base[:, ::2], x):
        with kernels.use_jit(True):
            t = cr.tensor(arr, requires_grad=True)
            F.relu(t).backward(cr.tensor(np.ones(arr.shape)))
        np.testing.assert_array_equal(t.grad.numpy(), (arr > 0).astype(arr.dtype))


def test_rational_erf_and_tanh_to_float32_precision() -> None:
    x = np.linspace(-12, 12, 4001).astype(np.float32)
    for fn, ref in ((approx.erf, math.erf), (approx.tanh, math.tanh)):
        got = np.array([fn(v, False) for v in x])
        want = np.array([ref(v) for v in x.astype(np.float64)])
        np.testing.assert_allclose(got, want, rtol=0, atol=4e-7)  # ≤ 7 float32 ulps of 1
        assert np.abs(got).max() <= 1
        np.testing.assert_array_equal([fn(v, True) for v in x.astype(np.float64)], want)


def test_float32_exp_to_two_ulps_and_its_limits() -> None:
    x = np.concatenate([np.linspace(-87.3, 88.7, 20001), [-1e-30, 0.0, 1e-30]]).astype(np.float32)
    got = np.array([approx.exp(v, False) for v in x])
    want = np.exp(x.astype(np.float64))
    eps = np.finfo(np.float32).eps
    np.testing.assert_allclose(got, want, rtol=2 * eps, atol=0)
    np.testing.assert_allclose(got[x < 88.6], want[x < 88.6], rtol=eps, atol=0)  # (1 ulp)
    edges = np.array([np.nan, np.inf, -np.inf, 89.0, -88.0, -1e4], np.float32)
    np.testing.assert_array_equal([approx.exp(v, False) for v in edges],
                                  [np.nan, np.inf, 0, np.inf, 0, 0])  # (0 for subnormal results)
    np.testing.assert_allclose([approx.exp(v, True) for v in x.astype(np.float64)], want,
                               rtol=1e-15)  # (the C library's exp and NumPy's)


def test_softmax_rows_sum_to_one_and_hide_the_future() -> None:
    s = np.random.default_rng(0).standard_normal((2, 4, 6)).astype(np.float32)
    softmax.softmax_(s, 0.5, True)
    np.testing.assert_allclose(s.sum(-1), 1, rtol=1e-6)
    assert (s[:, np.triu_indices(4, 1, 6)[0], np.triu_indices(4, 1, 6)[1]] == 0).all()
    s = np.zeros((1, 2, 37), np.float32)  # a row longer than a vector, with a NaN late in it
    s[0, 0, 33] = np.nan
    softmax.softmax_(s, 1.0, False)
    assert np.isnan(s[0, 0]).all()
    np.testing.assert_allclose(s[0, 1], 1 / 37, rtol=1e-6)
    s = np.zeros((1, 3, 5), np.float32)
    s[0, 2, 1] = np.nan
    softmax.softmax_(s, 1.0, True)
    assert np.isnan(s[0, 2, :3]).all() and (s[0, 2, 3:] == 0).all()  # the future stays hidden
    s = np.full((1, 2, 3), -np.inf, np.float32)  # (a masked row: -inf scores)
    s[0, 0, 1] = 0.5
    softmax.softmax_(s, 1.0, False)
    np.testing.assert_array_equal(s[0, 0], [0, 1, 0])
    assert np.isnan(s[0, 1]).all()  # all keys masked: NaN, as in PyTorch's math form


@pytest.mark.parametrize("chosen", [None, "+avx2"])
def test_wide_vectors_unless_the_user_chose_numbas_target(chosen: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CPU")}
    if chosen is not None:
        env["NUMBA_CPU_FEATURES"] = chosen
    code = ("import numba; from numba.core.codegen import get_host_cpu_features as f; "
            "import chainrule.kernels.approx; print(numba.config.CPU_FEATURES); print(f())")
    got, host = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                               text=True, check=True).stdout.splitlines()
    if chosen is not None:
        assert got == chosen
    elif "+avx512f" in host.split(","):
        assert got == host + ",-prefer-256-bit"
    else:
        assert got == "None"


def test_fits_takes_numpy_float32_and_float64_of_one_dtype() -> None:
    a32, a64 = np.zeros(3, np.float32), np.zeros(3)
    with kernels.use_jit(True):
        assert kernels.fits(a32, a32) and kernels.fits(a64)
        assert not kernels.fits(a32, a64)
        assert not kernels.fits(np.zeros(3, np.float16))
        assert not kernels.fits(np.zeros(3, np.int64))
    with kernels.use_jit(False):
        assert not kernels.fits(a32)


def test_inputs_are_not_modified() -> None:
    rng = np.random.default_rng(1)
    for case in ("gelu", "layer-norm", "attention-causal", "lstm"):
        fn, shapes, _ = CASES[case]
        arrays = [rng.standard_normal(s) for s in shapes]
        copies = [a.copy() for a in arrays]
        g = None
        with kernels.use_jit(True):
            xs = [cr.tensor(a, requires_grad=True) for a in arrays]
            out = fn(*xs)
            g = rng.standard_normal(tuple(out.shape))
            g_copy = g.copy()
            out.backward(cr.tensor(g))
        for a, c in zip(arrays, copies):
            np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(g, g_copy)


def test_kernels_run_when_chainrule_is_imported_from_a_zip(tmp_path: Any) -> None:
    """From a zip (a wheel on sys.path) Numba cannot cache on disk: the kernels compile
    without caching instead of failing."""
    package = Path(cr.__file__).parent
    archive = tmp_path / "chainrule-0-py3-none-any.whl"  # (Numba caches in .zip, not .whl)
    with zipfile.ZipFile(archive, "w") as z:
        for f in package.rglob("*.py"):
            z.write(f, f.relative_to(package.parent))
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import chainrule as cr;"
            "assert cr.__file__.startswith(sys.argv[1]), cr.__file__;"
            "F = cr.nn.functional; x = cr.randn(2, 4, 8, requires_grad=True);"
            "y = F.gelu(F.layer_norm(x, (8,)));"
            "y = F.scaled_dot_product_attention(y, y, y, is_causal=True);"
            "y = cr.nn.LSTM(8, 8)(y)[0] + cr.nn.Conv1d(4, 4, 3, padding=1)(y);"
            "y.sum().backward(); opt = cr.optim.Adam([x]); opt.step();"
            "print(cr.kernels.enabled())")
    done = subprocess.run([sys.executable, "-I", "-c", code, str(archive)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


@needs_team
@pytest.mark.parametrize("causal", [False, True])
def test_attention_on_mkls_threads_reads_heads_where_they_lie(
        causal: bool, calls: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    # q, k, v sliced from one fused projection and split into heads (rows 3·d apart, no
    # copies), as a GPT block does; the output is laid out heads inner, as PyTorch's is, so
    # merging the heads back is a view
    B, T, H, E = 3, 70, 4, 8
    rng = np.random.default_rng(11)
    x, gy = rng.standard_normal((B, T, 3 * H * E)), rng.standard_normal((B, T, H * E))
    outs = []
    for lent in (mkl.team(), None):
        monkeypatch.setattr(mkl, "_team", lent)
        xt = cr.tensor(x, requires_grad=True)
        q, k, v = (t.reshape(B, T, H, E).transpose(1, 2) for t in xt.split(H * E, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        merged = y.transpose(1, 2)
        if lent is not None:
            assert merged.array.flags.c_contiguous
        merged.reshape(B, T, H * E).backward(cr.tensor(gy))
        outs.append((y.detach().numpy(), xt.grad.numpy()))
    assert calls["forward"] == calls["backward"] == 1
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@needs_team
def test_a_slices_gradient_placed_on_mkls_threads_leaves_zeros_beside_a_nan(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the rest of each row is zeroed in the pass that writes the slice: a NaN in the slice's
    # gradient stays in the slice, as with NumPy's zeros and a copy
    monkeypatch.setattr(threads, "_count", 3)
    monkeypatch.setattr(team, "GRAIN", 1)
    monkeypatch.setattr(engine, "_SHARED", 1)
    runs: list[int] = []
    run = team.run
    monkeypatch.setattr(team, "run", lambda *args: (runs.append(args[-1]), run(*args))[1])
    for dtype in DTYPES:
        x = cr.tensor(np.ones((2, 5, 9), dtype), requires_grad=True)
        g = np.ones((2, 5, 3), dtype)
        g[0, 0, 0] = np.nan
        (x * 1.0)[..., 3:6].backward(cr.tensor(g))
        grad = x.grad.array
        assert np.isnan(grad[0, 0, 3]) and np.isnan(grad).sum() == 1
        assert not grad[..., :3].any() and not grad[..., 6:].any()
    assert runs

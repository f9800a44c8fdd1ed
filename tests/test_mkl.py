"""Products through Intel MKL (``chainrule.mkl``, where the optional ``mkl`` package is
installed): equal to float64 references for every operand layout, the products MKL should not
take left to NumPy, thread counts as ``set_num_threads`` and ``split`` ask, and the choice
between the two libraries made by ``CHAINRULE_BLAS``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend, mkl, threads

needs_mkl = pytest.mark.skipif(not mkl.is_available(),
                               reason="MKL is not installed (pip install 'chainrule[mkl]')")

rng = np.random.default_rng(0)


def _two_mkl_threads() -> None:
    """Skip where MKL runs one thread (it caps its count at the machine's cores)."""
    if mkl._lib.MKL_Get_Max_Threads() < 2:
        pytest.skip("MKL runs one thread on this one-core machine")


def _matrix(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


def _views(dtype: type) -> dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]]:
    """Operand pairs of 96×160 @ 160×80 (1.2 M multiply-adds, above MKL's threshold), laid out
    every way a product meets them."""
    a, b = _matrix((96, 160), dtype), _matrix((160, 80), dtype)
    big = _matrix((400, 400), dtype)
    return {
        "row-major": lambda: (a, b),
        "a transposed": lambda: (np.ascontiguousarray(a.T).T, b),
        "b transposed": lambda: (a, np.ascontiguousarray(b.T).T),
        "both transposed": lambda: (np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T),
        "sliced blocks": lambda: (big[10:106, 5:165], big[200:360, 300:380]),
        "every other row": lambda: (big[:192:2, :160], b),
        "reversed rows": lambda: (big[::-1][:96, :160], b),
        "every other column": lambda: (big[:96, :320:2], b),
    }


@needs_mkl
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-4), (np.float64, 1e-12)])
@pytest.mark.parametrize("layout", list(_views(np.float32)))
def test_mkl_products_equal_float64_references(layout: str, dtype: type, tol: float) -> None:
    a, b = _views(dtype)[layout]()
    got = mkl.matmul(a, b)
    assert got is not None and got.dtype == dtype and got.shape == (96, 80)
    want = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


@needs_mkl
def test_mkl_writes_into_a_row_strided_out_and_nothing_else() -> None:
    a, b = _matrix((96, 160), np.float32), _matrix((160, 80), np.float32)
    buffer = np.full((100, 90), 7.0, np.float32)
    out = buffer[2:98, 3:83]
    assert mkl.matmul(a, b, out) is out
    np.testing.assert_allclose(out, a @ b, rtol=1e-4, atol=1e-4)
    outside = np.ones(buffer.shape, bool)
    outside[2:98, 3:83] = False
    assert (buffer[outside] == 7.0).all()


@needs_mkl
@pytest.mark.parametrize("a_shape, b_shape, taken", [
    ((3, 128, 128), (3, 128, 96), True),
    ((2, 3, 128, 128), (128, 96), True),  # b broadcast: stride 0
    ((128, 128), (4, 128, 96), True),
    ((50, 512, 32), (50, 32, 32), True),  # small products, many of them
    ((2, 1, 128, 128), (1, 3, 128, 96), False),  # no one stride steps through a's matrices
])
def test_mkl_stacks_broadcast_as_numpy(a_shape: tuple[int, ...], b_shape: tuple[int, ...],
                                       taken: bool) -> None:
    a, b = _matrix(a_shape, np.float64), _matrix(b_shape, np.float64)
    got = mkl.matmul(a, b)
    assert (got is not None) == taken
    np.testing.assert_allclose(backend.matmul(a, b), np.matmul(a, b), rtol=1e-12, atol=1e-11)
    if taken:
        np.testing.assert_allclose(got, np.matmul(a, b), rtol=1e-12, atol=1e-11)


@needs_mkl
def test_mkl_stacks_with_strided_views_and_out() -> None:
    base = _matrix((4, 3, 96, 200), np.float32)
    a = base[..., :80]  # rows with gaps
    b = np.ascontiguousarray(_matrix((4, 3, 128, 80), np.float32).swapaxes(-1, -2))  # (.., 80, 128)
    out = np.empty((4, 3, 96, 130), np.float32)[..., 1:129]
    assert mkl.matmul(a, b, out) is out
    np.testing.assert_allclose(out, np.matmul(a.astype(np.float64), b), rtol=1e-4, atol=1e-4)


@needs_mkl
def test_stacks_in_a_piece_of_a_split_are_left_to_numpy() -> None:
    """On one thread (each piece of ``threads.split``, as attention's heads run) NumPy's loop
    beats MKL's batched call."""
    a, b = _matrix((16, 128, 32), np.float32), _matrix((16, 32, 128), np.float32)
    before = cr.get_num_threads()
    try:
        cr.set_num_threads(2)
        _two_mkl_threads()
        assert mkl.matmul(a, b) is not None
        taken: list[bool] = []
        threads.split(lambda lo, hi: taken.append(mkl.matmul(a[lo:hi], b[lo:hi]) is not None),
                      2)
        assert taken == [False, False]
    finally:
        cr.set_num_threads(before)


@needs_mkl
@pytest.mark.parametrize("case", ["small", "int", "mixed dtypes", "vector", "complex",
                                  "column-major out", "stack of small products"])
def test_products_mkl_should_not_take_are_left_to_numpy(case: str) -> None:
    a, b = _matrix((96, 160), np.float32), _matrix((160, 80), np.float32)
    args = {"small": (a[:8, :8], b[:8, :8]),
            "int": (a.astype(np.int64), b.astype(np.int64)),
            "mixed dtypes": (a, b.astype(np.float64)),
            "vector": (a, b[:, 0]),
            "complex": (a.astype(np.complex64), b.astype(np.complex64)),
            "column-major out": (a, b, np.empty((80, 96), np.float32).T),
            "stack of small products": (_matrix((8, 32, 32), np.float32),
                                        _matrix((8, 32, 32), np.float32))}[case]
    assert mkl.matmul(*args) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backend_products_match_numpy_with_and_without_out(dtype: type) -> None:
    for a, b in (f() for f in _views(dtype).values()):
        want = np.matmul(a.astype(np.float64), b.astype(np.float64))
        tol = 1e-4 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(backend.matmul(a, b), want, rtol=tol, atol=tol * 10)
        out = np.empty(want.shape, dtype)
        assert backend.matmul(a, b, out=out) is out
        np.testing.assert_allclose(out, want, rtol=tol, atol=tol * 10)


def test_a_large_linear_layers_gradients_match_float64_references() -> None:
    x = cr.tensor(_matrix((256, 128), np.float64), requires_grad=True)
    layer = cr.nn.Linear(128, 64, dtype=cr.float64)
    g = _matrix((256, 64), np.float64)
    layer(x).backward(cr.tensor(g))
    w = layer.weight.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), g @ w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad.numpy(), g.T @ x.detach().numpy(),
                               rtol=1e-12, atol=1e-12)


@needs_mkl
def test_mkl_threads_follow_set_num_threads_and_one_per_piece_of_a_split(
        monkeypatch: pytest.MonkeyPatch) -> None:
    before = cr.get_num_threads()
    try:
        cr.set_num_threads(1)
        assert mkl._lib.MKL_Get_Max_Threads() == 1
        cr.set_num_threads(2)
        _two_mkl_threads()
        assert mkl._lib.MKL_Get_Max_Threads() == 2
        seen: list[int] = []
        threads.split(lambda lo, hi: seen.append(mkl._lib.MKL_Get_Max_Threads()), 2)
        assert seen == [1, 1]
        assert mkl._lib.MKL_Get_Max_Threads() == 2  # (the caller's count is restored)
    finally:
        cr.set_num_threads(before)


def test_chainrule_blas_numpy_keeps_numpys_and_a_bad_value_is_named() -> None:
    code = "import chainrule as cr; print(cr.backends.mkl.is_available())"

    def run(value: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "CHAINRULE_BLAS": value})

    done = run("numpy")
    assert done.returncode == 0 and done.stdout.split() == ["False"], done.stderr
    done = run("openblas")
    assert done.returncode != 0 and "CHAINRULE_BLAS: expected 'mkl' or 'numpy'" in done.stderr


def test_chainrule_blas_mkl_without_mkl_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINRULE_BLAS", "mkl")
    monkeypatch.setattr(mkl, "_candidates", lambda: [])
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[mkl\]'"):
        mkl._load()


@needs_mkl
@pytest.mark.parametrize("env, want", [({}, mkl._BLOCKTIME_MS), ({"KMP_BLOCKTIME": "50"}, "50")])
def test_mkl_workers_spin_briefly_unless_the_user_chose(env: dict[str, str], want: str) -> None:
    code = "import os, chainrule; print(os.environ['KMP_BLOCKTIME'])"
    environ = {k: v for k, v in os.environ.items() if k != "KMP_BLOCKTIME"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**environ, **env})
    assert done.stdout.split() == [want], done.stderr


@needs_mkl
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-4), (np.float64, 1e-12)])
def test_a_packed_matrix_multiplies_as_numpy_for_every_layout(dtype: type, tol: float) -> None:
    a = _matrix((512, 128), dtype)
    for left in (a, np.ascontiguousarray(a.T).T):  # row- and column-major
        packed = mkl.packed(left, 32)
        assert isinstance(packed, mkl.Packed)
        for x in (_matrix((128, 32), dtype), np.ascontiguousarray(_matrix((32, 128), dtype)).T):
            want = a.astype(np.float64) @ x.astype(np.float64)
            out = np.empty((520, 40), dtype)[3:515, 2:34]  # rows with gaps between them
            assert packed(x, out) is out
            np.testing.assert_allclose(out, want, rtol=tol, atol=tol * 10)


@needs_mkl
def test_a_packed_matrix_leaves_other_shapes_and_small_products_to_numpy() -> None:
    a = _matrix((512, 128), np.float32)
    packed = mkl.packed(a, 32)
    x = _matrix((128, 16), np.float32)  # not the 32 columns it was packed for
    out = np.empty((512, 16), np.float32)
    np.testing.assert_allclose(packed(x, out), a @ x, rtol=1e-5, atol=1e-5)
    assert mkl.packed(a[:16, :16], 8) is None and mkl.packed(a.astype(np.int64), 32) is None


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("steps, layers, bidirectional", [(6, 1, False), (1, 1, False),
                                                          (5, 2, True)])
def test_lstm_with_packed_weights_equals_the_plain_products(
        monkeypatch: pytest.MonkeyPatch, steps: int, layers: int, bidirectional: bool,
        dtype: type, tol: float) -> None:
    """The LSTM's time loops multiply by a packed W_hh where MKL is installed (hidden 128,
    batch 32: above the packing threshold), in one compiled loop a direction; values and
    gradients equal those of the Python loop over plain products."""
    x = _matrix((steps, 32, 16), dtype)

    def run() -> list[np.ndarray]:
        cr.manual_seed(0)
        lstm = cr.nn.LSTM(16, 128, num_layers=layers, bidirectional=bidirectional,
                          dtype=dtype)
        xs = cr.tensor(x, requires_grad=True)
        out, (h, c) = lstm(xs)
        (out.sum() + (h * c).sum()).backward()
        return [out.detach().numpy(), xs.grad.numpy(),
                *(p.grad.numpy() for p in lstm.parameters())]

    packed = run()
    monkeypatch.setattr(mkl, "packed", lambda a, n: None)
    for got, want in zip(packed, run(), strict=True):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@needs_mkl
@pytest.mark.parametrize("count, given", [(2, 2), (3, 3), (3, 1)])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lstm_time_loops_shared_over_mkls_threads_equal_one_thread(
        monkeypatch: pytest.MonkeyPatch, count: int, given: int, bidirectional: bool,
        dtype: type) -> None:
    """The packed time loops with the hidden units shared out over MKL's threads (three:
    uneven shares of 100 units), a barrier each step, equal the loops on one thread; and
    where OpenMP gives fewer threads than asked for, the first runs every unit alone."""
    if mkl.team() is None:
        pytest.skip("MKL does not run on Intel's OpenMP here")
    recurrent = pytest.importorskip("chainrule.kernels.recurrent")
    x = _matrix((9, 32, 16), dtype)
    runs: list[int] = []
    run_team = recurrent.team.run

    def recorded(*args: object) -> None:
        runs.append(args[-1])
        run_team(*args[:-1], given)

    def run() -> list[np.ndarray]:
        cr.manual_seed(0)
        lstm = cr.nn.LSTM(16, 100, bidirectional=bidirectional, dtype=dtype)
        xs = cr.tensor(x, requires_grad=True)
        out, (h, c) = lstm(xs)
        (out.sum() + (h * c).sum()).backward()
        return [out.detach().numpy(), xs.grad.numpy(),
                *(p.grad.numpy() for p in lstm.parameters())]

    monkeypatch.setattr(threads, "_count", count)
    monkeypatch.setattr(recurrent, "UNITS", 1)
    monkeypatch.setattr(recurrent, "_CORES", 3)  # (three threads where there are fewer cores)
    monkeypatch.setattr(recurrent.team, "run", recorded)
    shared = run()
    assert runs and set(runs) == {count}
    monkeypatch.setattr(recurrent, "UNITS", 1000)
    for got, want in zip(shared, run(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert len(runs) == 2 * (1 + bidirectional)  # (none more on one thread)


@needs_mkl
def test_lstm_time_loops_take_at_most_one_thread_per_core(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a barrier each step: a thread the OS deschedules holds up the others
    if mkl.team() is None:
        pytest.skip("MKL does not run on Intel's OpenMP here")
    recurrent = pytest.importorskip("chainrule.kernels.recurrent")
    monkeypatch.setattr(threads, "_count", 4)
    monkeypatch.setattr(recurrent, "_CORES", 2)
    assert recurrent._team_count(256) == 2
    monkeypatch.setattr(recurrent, "_CORES", 8)
    assert recurrent._team_count(256) == 4
    assert recurrent._team_count(40) == 1  # (32 units a thread at least)


@needs_mkl
def test_set_num_threads_wins_over_pytorchs_after_it() -> None:
    torch = pytest.importorskip("torch")
    before, torch_before = cr.get_num_threads(), torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        cr.set_num_threads(1)
        assert mkl._lib.MKL_Get_Max_Threads() == 1
    finally:
        torch.set_num_threads(torch_before)
        cr.set_num_threads(before)

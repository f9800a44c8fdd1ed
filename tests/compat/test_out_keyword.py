"""The out= keyword on PyTorch's functions: values written into out (resized, cast) as torch
does, the same warnings and errors."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from ulp import assert_ulp_close

torch = pytest.importorskip("torch")

A = np.arange(1.0, 7.0).reshape(2, 3)
B = np.linspace(-1.0, 2.0, 6).reshape(2, 3)
M = np.arange(1.0, 13.0).reshape(3, 4) / 7


def _cases(lib):
    a, b, m = lib.tensor(A), lib.tensor(B), lib.tensor(M)
    return {
        "add": ((a, b), {}), "sub": ((a, 2.0), {}), "mul": ((a, b), {}), "div": ((a, b), {}),
        "pow": ((a, 2), {}), "maximum": ((a, b), {}), "minimum": ((a, b), {}),
        "clamp": ((b,), {"min": 0.0, "max": 1.0}),
        "matmul": ((a, m), {}), "mm": ((a, m), {}),
        "bmm": ((a.reshape(1, 2, 3), m.reshape(1, 3, 4)), {}),
        "dot": ((a.reshape(-1), b.reshape(-1)), {}),
        "cat": (([a, b],), {"dim": 1}), "concat": (([a, b],), {}), "stack": (([a, b],), {}),
        "sum": ((a, 1), {}), "mean": ((a, 0), {}), "prod": ((a, 1), {}),
        "amax": ((a, 1), {}), "amin": ((b, 0), {}), "argmax": ((b, 1), {}),
        "argmin": ((b,), {"dim": 0}), "cumsum": ((a, 1), {}), "logsumexp": ((a, 1), {}),
        "abs": ((b,), {}), "exp": ((b,), {}), "log": ((a,), {}), "sqrt": ((a,), {}),
        "tanh": ((b,), {}), "neg": ((b,), {}),
    }


@pytest.mark.parametrize("name", sorted(_cases(torch)))
@pytest.mark.parametrize("start_shape", [(0,), "same"])
def test_functions_write_into_out_as_torch(name: str, start_shape) -> None:
    (args, kwargs), (targs, tkwargs) = _cases(cr)[name], _cases(torch)[name]
    expected = getattr(torch, name)(*targs, **tkwargs)
    shape = tuple(expected.shape) if start_shape == "same" else start_shape
    dtype = {torch.int64: cr.int64, torch.float64: cr.float64}[expected.dtype]
    out = cr.empty(*shape, dtype=dtype) if shape else cr.tensor(np.zeros(shape), dtype=dtype)
    before = out.array if start_shape == "same" else None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no resize warning for empty or right-shaped outs
        got = getattr(cr, name)(*args, out=out, **kwargs)
    assert got is out and tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)
    if before is not None:
        assert out.array is before  # written in place


def test_max_and_min_with_dim_fill_a_pair() -> None:
    a = cr.tensor(B)
    values, indices = cr.empty(0, dtype=cr.float64), cr.empty(0, dtype=cr.int64)
    res = cr.max(a, 1, out=(values, indices))
    ref = torch.max(torch.tensor(B), 1)
    assert res.values is values and res.indices is indices
    np.testing.assert_array_equal(values.numpy(), ref.values.numpy())
    np.testing.assert_array_equal(indices.numpy(), ref.indices.numpy())
    values, indices = cr.empty(0, dtype=cr.float64), cr.empty(0, dtype=cr.int64)
    cr.min(a, 0, out=(values, indices))
    np.testing.assert_array_equal(indices.numpy(), torch.min(torch.tensor(B), 0).indices)


@pytest.mark.parametrize("name, args", [
    ("zeros", (2, 3)), ("ones", (4,)), ("full", ((2, 2), 7)), ("arange", (5,)),
    ("linspace", (0, 1, 5)), ("eye", (3,)),
])
@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_factories_take_outs_dtype(name: str, args, dtype: str) -> None:
    if name == "linspace" and dtype == "int64":
        args = (0, 8, 5)
    out, tout = cr.empty(0, dtype=getattr(cr, dtype)), torch.empty(0, dtype=getattr(torch, dtype))
    got = getattr(cr, name)(*args, out=out)
    expected = getattr(torch, name)(*args, out=tout)
    assert got is out and str(out.dtype) == dtype
    assert_ulp_close(out.numpy(), expected.numpy(), ulps=1)  # linspace: torch's own formula


def test_random_factories_fill_out() -> None:
    out = cr.empty(3, 2)
    cr.manual_seed(0)
    assert cr.randn(3, 2, out=out) is out
    cr.manual_seed(0)
    np.testing.assert_array_equal(out.numpy(), cr.randn(3, 2).numpy())
    assert cr.randint(0, 5, (4,), out=cr.empty(0, dtype=cr.int64)).dtype == cr.int64
    assert cr.rand(2, out=cr.empty(2)).shape == (2,)


def test_resize_warning_cast_and_autograd_errors_read_as_torchs() -> None:
    with pytest.warns(UserWarning) as ours:
        cr.add(cr.ones(2, 3), 1, out=cr.empty(2))
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        torch.add(torch.ones(2, 3), 1, out=torch.empty(2))
    assert str(theirs[0].message).startswith(str(ours[0].message))
    for call in (lambda lib: lib.add(lib.ones(2), 1.5, out=lib.empty(2, dtype=lib.int64)),
                 lambda lib: lib.add(lib.ones(2, requires_grad=True), 1.5, out=lib.empty(2))):
        with pytest.raises(RuntimeError) as e_ours:
            call(cr)
        with pytest.raises(RuntimeError) as e_theirs:
            call(torch)
        assert str(e_ours.value) == str(e_theirs.value)
    with cr.no_grad():  # allowed without recording
        out = cr.add(cr.ones(2, requires_grad=True), 1.0, out=cr.empty(2))
    assert out.tolist() == [2.0, 2.0] and not out.requires_grad
    ints = cr.add(cr.ones(2, dtype=cr.int64), 1, out=cr.empty(2))  # an int result into float
    assert ints.dtype == cr.float32 and ints.tolist() == [2.0, 2.0]


def test_methods_and_plain_calls_are_unchanged() -> None:
    a = cr.ones(2, requires_grad=True)
    assert cr.add(a, 1).requires_grad and cr.sum(a).requires_grad
    with pytest.raises(TypeError):
        a.sum(out=cr.empty(()))

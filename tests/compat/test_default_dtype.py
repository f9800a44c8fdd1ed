"""set_default_dtype: every tensor and parameter made without a dtype follows it, as in
PyTorch."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture
def float64_default() -> Iterator[None]:
    cr.set_default_dtype(cr.float64)
    try:
        yield
    finally:
        cr.set_default_dtype(cr.float32)


MAKERS = {
    "tensor": lambda lib: lib.tensor([1.5]),
    "zeros": lambda lib: lib.zeros(2),
    "full": lambda lib: lib.full((2,), 1.5),
    "rand": lambda lib: lib.rand(2),
    "randn": lambda lib: lib.randn(2),
    "arange-float": lambda lib: lib.arange(0.0, 1.0, 0.5),
    "linspace": lambda lib: lib.linspace(0, 1, 3),
    "int*float": lambda lib: lib.arange(3) * 0.5,
    "int/int": lambda lib: lib.arange(3) / 2,
    "exp(int)": lambda lib: lib.exp(lib.arange(3)),
    "atan2(int)": lambda lib: lib.atan2(lib.arange(3), lib.arange(3)),
    "Linear": lambda lib: lib.nn.Linear(2, 2).weight,
    "Conv2d": lambda lib: lib.nn.Conv2d(1, 2, 3).bias,
    "LSTM": lambda lib: lib.nn.LSTM(2, 3).weight_hh_l0,
    "Embedding": lambda lib: lib.nn.Embedding(3, 2).weight,
    "LayerNorm": lambda lib: lib.nn.LayerNorm(2).weight,
    "BatchNorm1d": lambda lib: lib.nn.BatchNorm1d(2).running_mean,
    "MultiheadAttention": lambda lib: lib.nn.MultiheadAttention(4, 2).in_proj_weight,
    "PReLU": lambda lib: lib.nn.PReLU().weight,
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_float64_default_reaches_every_maker(name: str, float64_default: None) -> None:
    assert cr.get_default_dtype() == np.float64
    assert MAKERS[name](cr).dtype == np.float64


@pytest.mark.parametrize("name", list(MAKERS))
def test_dtypes_match_pytorch_under_float64_default(name: str, float64_default: None) -> None:
    torch = pytest.importorskip("torch")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        theirs = MAKERS[name](torch).dtype
    finally:
        torch.set_default_dtype(previous)
    assert str(MAKERS[name](cr).dtype) == str(theirs).removeprefix("torch.")


def test_float32_is_back_after_resetting() -> None:
    cr.set_default_dtype(cr.float64)
    (cr.arange(3) * 0.5).sum()  # caches the scalar constant under float64
    cr.set_default_dtype(cr.float32)
    assert (cr.arange(3) * 0.5).dtype == np.float32
    assert cr.nn.Linear(2, 2).weight.dtype == np.float32 == cr.get_default_dtype()


def test_a_model_trains_in_float64_end_to_end(float64_default: None) -> None:
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    x, y = cr.randn(8, 3), cr.randint(0, 2, (8,))
    loss = cr.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert loss.dtype == np.float64
    assert all(p.grad.dtype == np.float64 for p in model.parameters())
    assert cr.autograd.gradcheck(lambda inp: model(inp), (cr.randn(2, 3, requires_grad=True),))


def test_only_floating_defaults() -> None:
    with pytest.raises(TypeError, match="only floating-point types"):
        cr.set_default_dtype(cr.int64)

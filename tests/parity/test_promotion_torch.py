"""Type promotion equals PyTorch's ``torch.result_type`` for every dtype pair, with each operand
dimensioned or 0-d, and for every tensor dtype with each kind of Python scalar."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SCALARS = [True, 3, -2, 2.5]
OPS = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "maximum": (cr.maximum, torch.maximum),
    "where": (lambda a, b: cr.where(cr.tensor(True), a, b),
              lambda a, b: torch.where(torch.tensor(True), a, b)),
}


def _pair(lib: object, dtype: str, dims: bool) -> object:
    shape = (2,) if dims else ()
    if lib is torch:
        return torch.ones(shape, dtype=getattr(torch, dtype))
    return cr.ones(shape, dtype=getattr(cr, dtype) if hasattr(cr, dtype) else np.dtype(dtype))


def _name(dtype: object) -> str:
    return str(dtype).replace("torch.", "")


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("dims", list(itertools.product([True, False], repeat=2)))
def test_tensor_tensor_promotion_matches_torch(op: str, dims: tuple[bool, bool]) -> None:
    ours, theirs = OPS[op]
    wrong = []
    for a, b in itertools.product(DTYPES, repeat=2):
        got = ours(_pair(cr, a, dims[0]), _pair(cr, b, dims[1])).dtype
        want = theirs(_pair(torch, a, dims[0]), _pair(torch, b, dims[1])).dtype
        if _name(got) != _name(want):
            wrong.append(f"{a}{'[2]' if dims[0] else ''} {op} {b}{'[2]' if dims[1] else ''}: "
                         f"{got} != torch {_name(want)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("dims", [True, False])
@pytest.mark.parametrize("scalar", SCALARS, ids=repr)
def test_tensor_scalar_promotion_matches_torch(dims: bool, scalar: object) -> None:
    wrong = []
    for a in DTYPES:
        if a == "uint8" and scalar == -2:
            continue  # torch wraps the negative scalar around; NumPy refuses it
        for order in (0, 1):
            x, t = _pair(cr, a, dims), _pair(torch, a, dims)
            got = (x + scalar if order == 0 else scalar + x).dtype
            want = (t + scalar if order == 0 else scalar + t).dtype
            if _name(got) != _name(want):
                wrong.append(f"{a} + {scalar!r}: {got} != torch {_name(want)}")
    assert not wrong, "\n".join(wrong)


def test_float32_outputs_with_integer_targets_stay_float32() -> None:
    out = cr.randn(4, 3)
    target = cr.randint(0, 3, (4, 3))
    loss = cr.nn.functional.mse_loss(out, target.float()) + ((out - target) ** 2).mean()
    assert loss.dtype == cr.float32
    assert (out - target).dtype == cr.float32

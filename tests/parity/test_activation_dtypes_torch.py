"""Activations on integer, bool and half input: PyTorch's result dtype, or an error where
PyTorch refuses (never a silently truncated integer result)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")

NAMES = ["relu", "relu6", "elu", "selu", "celu", "gelu", "silu", "softplus", "leaky_relu",
         "hardtanh", "sigmoid", "tanh", "softsign", "mish", "hardswish", "hardsigmoid",
         "logsigmoid", "softmax", "log_softmax", "tanhshrink", "softshrink", "hardshrink", "glu",
         "threshold"]


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float16", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_activation_dtype_rules_match_torch(name: str, dtype: str) -> None:
    x = np.array([[-2, 0, 1, 3]] * 2).astype(dtype)
    args = (1,) if name in ("softmax", "log_softmax") else (0.5, 0.0) if name == "threshold" \
        else ()
    try:
        want = getattr(torch.nn.functional, name)(torch.tensor(x), *args)
    except (RuntimeError, NotImplementedError):
        with pytest.raises(RuntimeError, match=f"{name}: not implemented for dtype {dtype}"):
            getattr(F, name)(cr.tensor(x), *args)
        return
    got = getattr(F, name)(cr.tensor(x), *args)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.numpy().astype(np.float64),
                               want.numpy().astype(np.float64), rtol=2e-3, atol=2e-3)

"""``same_as_torch``: one function run in chainrule and in PyTorch on the same float64 inputs;
values equal, then gradients equal for one random upstream gradient per output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr


def same_as_torch(f_cr: Callable[..., Any], f_torch: Callable[..., Any], *arrays: np.ndarray,
                  rtol: float = 1e-7, atol: float = 1e-9, seed: int = 0) -> None:
    """``f_cr`` and ``f_torch`` map tensors of their library to a tensor or a tuple of them."""
    import torch

    xs = [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out_c, out_t = f_cr(*xs), f_torch(*ts)
    outs_c = list(out_c) if isinstance(out_c, (tuple, list)) else [out_c]
    outs_t = list(out_t) if isinstance(out_t, (tuple, list)) else [out_t]
    assert len(outs_c) == len(outs_t)
    rng = np.random.default_rng(seed)
    ups_c, ups_t, diff_t = [], [], []
    for k, (c, t) in enumerate(zip(outs_c, outs_t)):
        assert tuple(c.shape) == tuple(t.shape), f"output {k}: {c.shape} vs {tuple(t.shape)}"
        np.testing.assert_allclose(c.array, t.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"output {k}")
        if t.requires_grad:
            up = rng.standard_normal(tuple(t.shape))
            ups_c.append(cr.tensor(up))
            ups_t.append(torch.tensor(up))
            diff_t.append(t)
            assert c.requires_grad, f"output {k} has no gradient in chainrule"
    if not diff_t:
        return
    cr.autograd.backward([c for c in outs_c if c.requires_grad], ups_c)
    torch.autograd.backward(diff_t, ups_t)
    for i, (x, t) in enumerate(zip(xs, ts)):
        want = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        got = np.zeros(x.shape) if x.grad is None else x.grad.array
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"grad of input {i}")

"""Composite functions written once against a namespace ``M`` (``chainrule`` or ``torch``), so the
same code gives chainrule's Jacobians and PyTorch's reference ones.

``COMPOSITES[name] = (fn(M, *args), shapes of the args)``; every arg is differentiated.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

M = Any


def mlp(M: M, x: Any, w1: Any, b1: Any, w2: Any) -> Any:
    return M.tanh(x @ w1.T + b1) @ w2.T


def conv2d_unfold(M: M, x: Any, w: Any) -> Any:
    """A 3×3 valid convolution of x (C, H, W) with w (O, C, 3, 3) from slicing and matmul."""
    c, h, wd = x.shape
    patches = [x[:, i:i + h - 2, j:j + wd - 2] for i in range(3) for j in range(3)]
    cols = M.stack(patches, 1).reshape(c * 9, (h - 2) * (wd - 2))  # (C·9, positions)
    return (w.reshape(w.shape[0], -1) @ cols).reshape(w.shape[0], h - 2, wd - 2)


def conv2d_layer(M: M, x: Any, w: Any, b: Any) -> Any:
    """The library's conv2d primitive (``ops/conv.py``) in a small conv layer."""
    if M.__name__ == "chainrule":
        from chainrule.ops.conv import conv2d
    else:
        conv2d = M.nn.functional.conv2d
    return M.tanh(conv2d(x, w, b, stride=2, padding=1)).sum((2, 3))


def softmax_cross_entropy(M: M, logits: Any) -> Any:
    target = [1, 0, 3]
    logp = M.log_softmax(logits, 1)
    return -(logp[M.arange(3), M.tensor(target)]).mean()


def lstm_step(M: M, x: Any, h: Any, c: Any, wx: Any, wh: Any, b: Any) -> Any:
    gates = x @ wx + h @ wh + b
    n = h.shape[-1]
    i, f = M.sigmoid(gates[:, :n]), M.sigmoid(gates[:, n:2 * n])
    g, o = M.tanh(gates[:, 2 * n:3 * n]), M.sigmoid(gates[:, 3 * n:])
    c2 = f * c + i * g
    return M.cat([o * M.tanh(c2), c2], 1)


def attention(M: M, q: Any, k: Any, v: Any) -> Any:
    return M.softmax(q @ k.T / math.sqrt(q.shape[-1]), -1) @ v


def layer_norm(M: M, x: Any, gamma: Any) -> Any:
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / (var + 1e-5).sqrt() * gamma


def _fn(M: M, name: str) -> Callable[..., Any]:
    """``M.name`` (chainrule) or ``M.nn.functional.name`` (torch)."""
    return getattr(M, name, None) or getattr(M.nn.functional, name)


COMPOSITES: dict[str, tuple[Callable[..., Any], tuple[tuple[int, ...], ...]]] = {
    "mlp": (mlp, ((2, 3), (4, 3), (4,), (2, 4))),
    "conv2d_unfold": (conv2d_unfold, ((2, 4, 4), (2, 2, 3, 3))),
    "conv2d_layer": (conv2d_layer, ((2, 2, 5, 5), (3, 2, 3, 3), (3,))),
    "softmax_cross_entropy": (softmax_cross_entropy, ((3, 4),)),
    "lstm_step": (lstm_step, ((2, 3), (2, 2), (2, 2), (3, 8), (2, 8), (8,))),
    "attention": (attention, ((3, 2), (4, 2), (4, 2))),
    "layer_norm": (layer_norm, ((2, 4), (4,))),
    "notes_example": (lambda M, x: 2 / M.sin(M.exp(-x)), ((5,),)),
    "gram": (lambda M, x: x @ x.T, ((3, 2),)),
    "norm": (lambda M, x: x.norm(), ((4,),)),
    "logsumexp": (lambda M, x: M.logsumexp(x, 1), ((2, 3),)),
    "softmax": (lambda M, x: M.softmax(x, 0), ((4,),)),
    "cumprod_prod": (lambda M, x: M.cumprod(x, 0) + x.prod(), ((4,),)),
    "var_std": (lambda M, x: M.stack([x.var(), x.std()]), ((5,),)),
    "gelu_silu": (lambda M, x: _fn(M, "gelu")(x) * _fn(M, "silu")(x), ((4,),)),
    "einsum": (lambda M, a, b: M.einsum("ij,jk->ik", a, b), ((2, 3), (3, 2))),
    "pow_div": (lambda M, x, y: x ** 3 / (1 + y * y) - y ** 2.5, ((3,), (3,))),
    "movement": (lambda M, x: M.cat([x.flip(0).reshape(-1), x.T.reshape(-1), x[1:, :1].squeeze(1)]),
                 ((3, 2),)),
    "max_dim": (lambda M, x: x.max(1).values * x.amax(0).sum(), ((3, 4),)),
    "mse": (lambda M, x, y: ((x - y) ** 2).mean(), ((6,), (6,))),
    "curve": (lambda M, t: M.stack([M.sin(t), M.cos(t), t ** 2, M.exp(t)]).reshape(-1),
              ((1,),)),
    "log_sigmoid_chain": (lambda M, x: M.log(M.sigmoid(x) + 1) * M.tanh(x), ((2, 2),)),
    "rosenbrock": (lambda M, x: ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum(),
                   ((4,),)),
}

"""Weight initialisation (``torch.nn.init``): fill a tensor in place, without recording a graph.

Every function draws from the global generator (``chainrule.manual_seed``) unless a
``generator=`` is passed, and returns the tensor it filled. The distributions match PyTorch's:

- ``xavier_uniform_``: U(−a, a), a = gain·√(6 / (fan_in + fan_out));
- ``xavier_normal_``: N(0, std²), std = gain·√(2 / (fan_in + fan_out));
- ``kaiming_uniform_``: U(−b, b), b = gain·√(3 / fan), gain = ``calculate_gain(nonlinearity, a)``;
- ``kaiming_normal_``: N(0, std²), std = gain / √fan.

For a weight of shape (out, in, k1, k2, ...) fan_in = in·k1·k2·…, fan_out = out·k1·k2·….
"""

from __future__ import annotations

import math
from typing import Any

from chainrule import random as _random
from chainrule.backend import Array, xp
from chainrule.random import Generator
from chainrule.tensor import Tensor

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for an activation (``torch.nn.init.calculate_gain``).

    linear/conv/sigmoid: 1; tanh: 5/3; relu: √2; leaky_relu: √(2 / (1 + slope²)) (slope
    ``param``, default 0.01); selu: 3/4.

    Example:
        >>> from chainrule.nn import init
        >>> round(init.calculate_gain("relu"), 4)
        1.4142
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {param!r} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions (got shape {tuple(tensor.shape)})")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode!r} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _write(tensor: Tensor, values: Array) -> Tensor:
    """Copy ``values`` into ``tensor`` in place (no graph; the version counter moves on)."""
    xp.copyto(tensor.array, values, casting="unsafe")
    tensor._version += 1
    return tensor


def _rng(generator: Generator | None) -> Any:
    return _random.numpy_generator(generator)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: Generator | None = None) -> Tensor:
    """Fill with U(a, b).

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.init.uniform_(cr.empty(1000), a=-2.0, b=2.0)
        >>> bool(w.min() >= -2.0), bool(w.max() < 2.0)
        (True, True)
    """
    return _write(tensor, _rng(generator).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: Generator | None = None) -> Tensor:
    """Fill with N(mean, std²).

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.init.normal_(cr.empty(10000), mean=3.0, std=0.5)
        >>> round(w.mean().item(), 1), round(w.std().item(), 1)
        (3.0, 0.5)
    """
    return _write(tensor, _rng(generator).normal(mean, std, tensor.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Generator | None = None) -> Tensor:
    """Fill with N(mean, std²) truncated to [a, b] (rejection sampling).

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.init.trunc_normal_(cr.empty(1000), a=-1.0, b=1.0)
        >>> bool(w.abs().max() <= 1.0)
        True
    """
    rng = _rng(generator)
    out = rng.normal(mean, std, tensor.shape)
    bad = (out < a) | (out > b)
    while bad.any():
        out[bad] = rng.normal(mean, std, int(bad.sum()))
        bad = (out < a) | (out > b)
    return _write(tensor, out)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.init.constant_(cr.empty(2), 0.5)
        tensor([0.5000, 0.5000])
    """
    return _write(tensor, xp.full(tensor.shape, val))


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.init.zeros_(cr.empty(2, 2))
        tensor([[0., 0.],
                [0., 0.]])
    """
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.init.ones_(cr.empty(3))
        tensor([1., 1., 1.])
    """
    return constant_(tensor, 1.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.init.eye_(cr.empty(2, 3))
        tensor([[1., 0., 0.],
                [0., 1., 0.]])
    """
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tuple(tensor.shape)}")
    return _write(tensor, xp.eye(*tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: Generator | None = None) -> Tensor:
    """Glorot uniform: U(−a, a), a = gain·√(6 / (fan_in + fan_out)).

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.init.xavier_uniform_(cr.empty(10, 14))
        >>> bool(w.abs().max() <= 0.5)
        True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: Generator | None = None) -> Tensor:
    """Glorot normal: N(0, std²), std = gain·√(2 / (fan_in + fan_out)).

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.init.xavier_normal_(cr.empty(300, 500))
        >>> round(w.std().item(), 2)
        0.05
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: Generator | None = None) -> Tensor:
    """He uniform: U(−b, b), b = gain·√(3 / fan), gain = calculate_gain(nonlinearity, a).

    ``Linear`` uses a = √5, which gives b = 1/√fan_in.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.init.kaiming_uniform_(cr.empty(100, 24), nonlinearity="relu")
        >>> bool(w.abs().max() <= 0.5)
        True
    """
    if 0 in tensor.shape:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: Generator | None = None) -> Tensor:
    """He normal: N(0, std²), std = gain / √fan.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.init.kaiming_normal_(cr.empty(500, 200), nonlinearity="relu")
        >>> round(w.std().item(), 2)
        0.1
    """
    if 0 in tensor.shape:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0,
                generator: Generator | None = None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one (Saxe et al.),
    with the sign of R's diagonal folded in so the result is uniformly distributed; tensors with
    more than 2 dims are treated as (shape[0], rest).

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.init.orthogonal_(cr.empty(3, 3))
        >>> cr.allclose(w @ w.T, cr.eye(3), atol=1e-5)
        True
    """
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _rng(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q *= xp.sign(xp.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (gain * q).reshape(tensor.shape))


__all__ = [
    "calculate_gain", "constant_", "eye_", "kaiming_normal_", "kaiming_uniform_", "normal_",
    "ones_", "orthogonal_", "trunc_normal_", "uniform_", "xavier_normal_", "xavier_uniform_",
    "zeros_",
]

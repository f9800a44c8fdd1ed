"""Dense layers: ``Identity``, ``Linear``, ``Bilinear`` and ``MultiplicativeInteraction``."""

from __future__ import annotations

import math
from typing import Any

from chainrule.backend import float_or_default, xp
from chainrule.device import check as check_device
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.modules.module import Module, Parameter
from chainrule.ops.linalg import einsum
from chainrule.tensor import Tensor


def _float_dtype(dtype: Any) -> Any:
    return float_or_default(dtype)


class Identity(Module):
    """Returns its input unchanged; accepts and ignores any constructor arguments.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Identity(54, unused="ignored")(cr.tensor([1.0, 2.0]))
        tensor([1., 2.])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """y = x Wᵀ + b.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: whether to learn an additive bias.

    Shape:
        input (*, in_features) → output (*, out_features).

    Attributes:
        weight: (out_features, in_features), initialised U(−1/√in, 1/√in)
            (``kaiming_uniform_`` with a = √5, as in PyTorch).
        bias: (out_features,), initialised U(−1/√in, 1/√in).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Linear(2, 3)
        Linear(in_features=2, out_features=3, bias=True)
        >>> cr.nn.Linear(2, 3)(cr.ones(4, 2)).shape
        chainrule.Size([4, 3])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        check_device(device, type(self).__name__)
        if in_features < 0 or out_features < 0:
            raise ValueError(f"Linear: feature sizes must be non-negative, got in_features="
                             f"{in_features}, out_features={out_features}")
        self.in_features = in_features
        self.out_features = out_features
        dt = _float_dtype(dtype)
        self.weight = Parameter(xp.empty((out_features, in_features), dt))
        if bias:
            self.bias = Parameter(xp.empty((out_features,), dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """y_k = x1ᵀ W_k x2 + b_k.

    Shape:
        input1 (*, in1_features), input2 (*, in2_features) → output (*, out_features).

    Attributes:
        weight: (out_features, in1_features, in2_features), U(−1/√in1, 1/√in1).
        bias: (out_features,), U(−1/√in1, 1/√in1).

    Example:
        >>> import chainrule as cr
        >>> m = cr.nn.Bilinear(2, 3, 4)
        >>> m(cr.ones(5, 2), cr.ones(5, 3)).shape, m.weight.shape
        (chainrule.Size([5, 4]), chainrule.Size([4, 2, 3]))
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        check_device(device, type(self).__name__)
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        dt = _float_dtype(dtype)
        self.weight = Parameter(xp.empty((out_features, in1_features, in2_features), dt))
        if bias:
            self.bias = Parameter(xp.empty((out_features,), dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class MultiplicativeInteraction(Module):
    """The multiplicative-interaction layer of the lecture notes (Jayakumar et al., 2020):

        f(x, z) = xᵀ W z + zᵀ U + V x + b,   componentwise
        f_k = Σ_ij x_i W_ijk z_j + Σ_j z_j U_jk + Σ_i V_ki x_i + b_k.

    It contains ``Linear`` (W = 0, U = 0), a gating/hyper-network term (xᵀW z: z selects a
    weight matrix W·z applied to x) and ``Bilinear`` as special cases.

    Args:
        x_features: p, the size of x.
        z_features: q, the size of z (the context).
        out_features: m, the size of f.
        bias: whether to learn b.

    Shape:
        x (N, p) or (*, p), z (N, q) or (*, q) → output (N, m) or (*, m).

    Attributes:
        W: (p, q, m), U(−1/√p, 1/√p) (like ``Bilinear``).
        U: (q, m), U(−1/√q, 1/√q).
        V: (m, p), as ``Linear(p, m).weight``: U(−1/√p, 1/√p).
        b: (m,), U(−1/√p, 1/√p).

    Example:
        >>> import chainrule as cr
        >>> mi = cr.nn.MultiplicativeInteraction(3, 2, 4)
        >>> mi(cr.ones(5, 3), cr.ones(5, 2)).shape
        chainrule.Size([5, 4])
    """

    def __init__(self, x_features: int, z_features: int, out_features: int,
                 bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        self.x_features = x_features
        self.z_features = z_features
        self.out_features = out_features
        dt = _float_dtype(dtype)
        self.W = Parameter(xp.empty((x_features, z_features, out_features), dt))
        self.U = Parameter(xp.empty((z_features, out_features), dt))
        self.V = Parameter(xp.empty((out_features, x_features), dt))
        if bias:
            self.b = Parameter(xp.empty((out_features,), dt))
        else:
            self.register_parameter("b", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bx = 1 / math.sqrt(self.x_features) if self.x_features else 0.0
        bz = 1 / math.sqrt(self.z_features) if self.z_features else 0.0
        init.uniform_(self.W, -bx, bx)
        init.uniform_(self.U, -bz, bz)
        init.uniform_(self.V, -bx, bx)
        if self.b is not None:
            init.uniform_(self.b, -bx, bx)

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        if x.shape[-1] != self.x_features or z.shape[-1] != self.z_features:
            raise ValueError(f"MultiplicativeInteraction: expected x (*, {self.x_features}) and "
                             f"z (*, {self.z_features}), got {tuple(x.shape)} and "
                             f"{tuple(z.shape)}")
        out = einsum("...i,ijk,...j->...k", x, self.W, z) + z @ self.U
        return out + F.linear(x, self.V, self.b)

    def extra_repr(self) -> str:
        return (f"x_features={self.x_features}, z_features={self.z_features}, "
                f"out_features={self.out_features}, bias={self.b is not None}")

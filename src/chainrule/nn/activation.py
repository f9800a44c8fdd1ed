"""Activation modules: thin wrappers of the activation ops, with PyTorch's names and arguments.

``inplace=True`` is accepted for compatibility and computes out of place (same values and
gradients; chainrule's ops never alias their inputs).
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import float_or_default, xp
from chainrule.device import check as check_device
from chainrule.nn import functional as F
from chainrule.nn import init as _init
from chainrule.nn.module import Module, Parameter
from chainrule.tensor import Tensor


class _Inplace(Module):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_Inplace):
    """max(x, 0) elementwise.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ReLU()(cr.tensor([-1.0, 0.0, 2.0]))
        tensor([0., 0., 2.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input)


class ReLU6(_Inplace):
    """min(max(x, 0), 6) elementwise.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ReLU6()(cr.tensor([-1.0, 3.0, 8.0]))
        tensor([0., 3., 6.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.relu6(input)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope·x.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.LeakyReLU(0.1)(cr.tensor([-1.0, 2.0]))
        tensor([-0.1000,  2.0000])
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x if x > 0 else alpha·(eˣ − 1).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ELU(alpha=0.5)(cr.tensor([-100.0, 2.0]))
        tensor([-0.5000,  2.0000])
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    """x if x > 0 else alpha·(e^(x/alpha) − 1) (continuously differentiable ELU).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.CELU()(cr.tensor([-1.0, 2.0]))
        tensor([-0.6321,  2.0000])
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        if alpha == 0:
            raise ValueError(f"CELU: alpha cannot be 0, got {alpha}")
        super().__init__(alpha, inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha)


class SELU(_Inplace):
    """scale·(x if x > 0 else alpha·(eˣ − 1)) with alpha ≈ 1.6733, scale ≈ 1.0507
    (self-normalising; Klambauer et al., 2017).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.SELU()(cr.tensor([-1.0, 1.0]))
        tensor([-1.1113,  1.0507])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.selu(input)


class PReLU(Module):
    """x if x > 0 else a·x with a learnable slope a, shared (``num_parameters=1``) or one per
    channel (dim 1 of the input; ``num_parameters`` = C).

    Shape:
        (*) → same shape; with C slopes the input is (N, C, *).

    Attributes:
        weight a: (num_parameters,), all ``init`` (0.25).

    Example:
        >>> import chainrule as cr
        >>> m = cr.nn.PReLU()
        >>> m(cr.tensor([-2.0, 3.0]))
        tensor([-0.5000,  3.0000], grad_fn=<WhereBackward>)
        >>> m.weight
        Parameter containing:
        tensor([0.2500], requires_grad=True)
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        check_device(device, type(self).__name__)
        if num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be >= 1, got {num_parameters}")
        self.num_parameters = num_parameters
        self.init = init
        dt = float_or_default(dtype)
        self.weight = Parameter(xp.empty(num_parameters, dt))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Threshold(Module):
    """x if x > threshold else value.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Threshold(1.0, -1.0)(cr.tensor([0.5, 2.0]))
        tensor([-1.,  2.])
    """

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (
            ", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e⁻ˣ).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Sigmoid()(cr.tensor([0.0, 2.0]))
        tensor([0.5000, 0.8808])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class LogSigmoid(Module):
    """log σ(x), computed stably.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.LogSigmoid()(cr.tensor([0.0, -100.0]))
        tensor([  -0.6931, -100.0000])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.logsigmoid(input)


class Tanh(Module):
    """tanh(x).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Tanh()(cr.tensor([0.0, 0.5]))
        tensor([0.0000, 0.4621])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Hardtanh(Module):
    """x clamped to [min_val, max_val].

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Hardtanh(-2.0, 2.0)(cr.tensor([-3.0, 0.5, 3.0]))
        tensor([-2.0000,  0.5000,  2.0000])
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0,
                 inplace: bool = False) -> None:
        super().__init__()
        if max_val <= min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val "
                             f"({min_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (
            ", inplace=True" if self.inplace else "")


class Hardsigmoid(_Inplace):
    """0 if x ≤ −3, 1 if x ≥ 3, else x/6 + 1/2.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Hardsigmoid()(cr.tensor([-4.0, 0.0, 4.0]))
        tensor([0.0000, 0.5000, 1.0000])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.hardsigmoid(input)


class Hardswish(_Inplace):
    """x·hardsigmoid(x): 0 if x ≤ −3, x if x ≥ 3, else x·(x + 3)/6 (Howard et al., 2019).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Hardswish()(cr.tensor([-4.0, 1.0, 4.0]))
        tensor([-0.0000,  0.6667,  4.0000])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.hardswish(input)


class Softshrink(Module):
    """x − lambd if x > lambd, x + lambd if x < −lambd, else 0.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Softshrink(0.5)(cr.tensor([-1.0, 0.3, 0.6]))
        tensor([-0.5000,  0.0000,  0.1000])
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        if lambd < 0:
            raise ValueError(f"Softshrink: lambd must be >= 0, got {lambd}")
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Hardshrink(Module):
    """x if |x| > lambd else 0.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Hardshrink()(cr.tensor([-1.0, 0.3, 0.6]))
        tensor([-1.0000,  0.0000,  0.6000])
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Tanhshrink(Module):
    """x − tanh(x).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Tanhshrink()(cr.tensor([0.0, 1.0]))
        tensor([0.0000, 0.2384])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.tanhshrink(input)


class GELU(Module):
    """x·Φ(x) (Φ the standard normal CDF); ``approximate='tanh'`` for the tanh form.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.GELU()(cr.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.1587,  0.0000,  0.8413])
        >>> cr.nn.GELU(approximate="tanh")(cr.tensor([1.0]))
        tensor([0.8412])
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(_Inplace):
    """x·σ(x) (swish).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.SiLU()(cr.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.2689,  0.0000,  0.7311])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input)


class Mish(_Inplace):
    """x·tanh(softplus(x)).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Mish()(cr.tensor([0.0, 1.0]))
        tensor([0.0000, 0.8651])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.mish(input)


class Softplus(Module):
    """(1/β)·ln(1 + e^(βx)), linear where βx > threshold.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Softplus(beta=2.0)(cr.tensor([0.0, 30.0]))
        tensor([ 0.3466, 30.0000])
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(Module):
    """x / (1 + |x|).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Softsign()(cr.tensor([-1.0, 3.0]))
        tensor([-0.5000,  0.7500])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.softsign(input)


class Softmax(Module):
    """e^(x_i) / Σ_j e^(x_j) along ``dim``.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Softmax(dim=1)(cr.zeros(1, 4))
        tensor([[0.2500, 0.2500, 0.2500, 0.2500]])
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log softmax along ``dim``, computed stably.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.LogSoftmax(dim=1)(cr.tensor([[1.0, 1.0]]))
        tensor([[-0.6931, -0.6931]])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)


class Softmin(Softmax):
    """e^(−x_i) / Σ_j e^(−x_j) along ``dim`` (softmax of −x).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Softmin(dim=0)(cr.tensor([1.0, 2.0, 3.0]))
        tensor([0.6652, 0.2447, 0.0900])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim)


class GLU(Module):
    """a·σ(b), a and b the halves of the input along ``dim``.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.GLU()(cr.tensor([[1.0, 2.0, 0.0, 100.0]]))
        tensor([[0.5000, 2.0000]])
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

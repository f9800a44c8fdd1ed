"""Activation modules: thin wrappers of the activation ops, with PyTorch's names and arguments.

``inplace=True`` writes the result into the input tensor and returns it, as in PyTorch (its
graph history is updated, so gradients are those of the out-of-place form).
"""

from __future__ import annotations

import math
from typing import Any

from chainrule.autograd.grad_mode import no_grad
from chainrule.backend import default_float, float_or_default, xp
from chainrule.device import check as check_device
from chainrule.nn import functional as F
from chainrule.nn import init as _init
from chainrule.nn.modules.linear import Identity
from chainrule.nn.modules.module import Module, Parameter
from chainrule.ops.attention import scaled_dot_product_attention as fused_attention
from chainrule.ops.fused import softmax
from chainrule.ops.linalg import linear
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
        return F.relu(input, inplace=self.inplace)


class ReLU6(_Inplace):
    """min(max(x, 0), 6) elementwise.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ReLU6()(cr.tensor([-1.0, 3.0, 8.0]))
        tensor([0., 3., 6.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.relu6(input, inplace=self.inplace)


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
        return F.leaky_relu(input, self.negative_slope, self.inplace)

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
        return F.elu(input, self.alpha, self.inplace)

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
        return F.celu(input, self.alpha, self.inplace)


class SELU(_Inplace):
    """scale·(x if x > 0 else alpha·(eˣ − 1)) with alpha ≈ 1.6733, scale ≈ 1.0507
    (self-normalising; Klambauer et al., 2017).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.SELU()(cr.tensor([-1.0, 1.0]))
        tensor([-1.1113,  1.0507])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.selu(input, inplace=self.inplace)


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
        return F.threshold(input, self.threshold, self.value, self.inplace)

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
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

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
        return F.hardsigmoid(input, inplace=self.inplace)


class Hardswish(_Inplace):
    """x·hardsigmoid(x): 0 if x ≤ −3, x if x ≥ 3, else x·(x + 3)/6 (Howard et al., 2019).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Hardswish()(cr.tensor([-4.0, 1.0, 4.0]))
        tensor([-0.0000,  0.6667,  4.0000])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.hardswish(input, inplace=self.inplace)


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
        return F.silu(input, inplace=self.inplace)


class Mish(_Inplace):
    """x·tanh(softplus(x)).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Mish()(cr.tensor([0.0, 1.0]))
        tensor([0.0000, 0.8651])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.mish(input, inplace=self.inplace)


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


class Softmax2d(Module):
    """Softmax over the channels of (N, C, H, W) or (C, H, W), at every position.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Softmax2d()(cr.zeros(1, 2, 1, 1)).flatten()
        tensor([0.5000, 0.5000])
    """

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input of 3 or 4 dims, got shape "
                             f"{tuple(input.shape)}")
        return F.softmax(input, -3)


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


ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU, "relu6": ReLU6, "leaky_relu": LeakyReLU, "elu": ELU, "selu": SELU, "celu": CELU,
    "gelu": GELU, "silu": SiLU, "mish": Mish, "sigmoid": Sigmoid, "tanh": Tanh,
    "softplus": Softplus, "softsign": Softsign, "hardtanh": Hardtanh, "hardsigmoid": Hardsigmoid,
    "hardswish": Hardswish, "logsigmoid": LogSigmoid, "tanhshrink": Tanhshrink,
    "softshrink": Softshrink, "hardshrink": Hardshrink, "identity": Identity,
}
"""The elementwise activation layers built with no argument, by their ``F`` name (``identity``:
none); the list that applications offer (the playground)."""


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al., 2017) with PyTorch's parameters and semantics.

    Args:
        embed_dim: model width E (split over ``num_heads`` heads of E / num_heads).
        num_heads: number of heads.
        dropout: dropout on the attention weights (training only).
        bias: biases in the input and output projections.
        add_bias_kv, add_zero_attn: not supported (must be False).
        kdim, vdim: key / value feature sizes (default E); when they differ from E the
            projections are ``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` instead of
            the packed ``in_proj_weight``.
        batch_first: inputs and output are (N, L, E) instead of (L, N, E).

    Attributes:
        in_proj_weight (3E, E) ~ Xavier-uniform, in_proj_bias (3E,) zeros, ``out_proj``
        (Linear(E, E), bias zeros).

    Shape:
        query (L, N, E), key (S, N, kdim), value (S, N, vdim) (or batch-first, or unbatched
        without N); key_padding_mask (N, S); attn_mask (L, S) or (N·num_heads, L, S).
        Returns output (L, N, E) and weights (N, L, S) averaged over heads (or
        (N, num_heads, L, S)), or None when ``need_weights=False``.

    Example:
        >>> import chainrule as cr
        >>> mha = cr.nn.MultiheadAttention(embed_dim=8, num_heads=2, batch_first=True)
        >>> x = cr.randn(3, 5, 8)
        >>> out, weights = mha(x, x, x)
        >>> out.shape, weights.shape
        (chainrule.Size([3, 5, 8]), chainrule.Size([3, 5, 5]))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: int | None = None, vdim: int | None = None,
                 batch_first: bool = False) -> None:
        super().__init__()
        from chainrule.nn.modules.linear import Linear

        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim must be divisible by num_heads, got {embed_dim} and "
                             f"{num_heads}")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are "
                                      "not supported")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim = embed_dim // num_heads
        self.batch_first = batch_first
        f32 = default_float()
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(xp.empty((3 * embed_dim, embed_dim), f32))
            for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(n, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(xp.empty((embed_dim, embed_dim), f32))
            self.k_proj_weight = Parameter(xp.empty((embed_dim, self.kdim), f32))
            self.v_proj_weight = Parameter(xp.empty((embed_dim, self.vdim), f32))
        if bias:
            self.in_proj_bias = Parameter(xp.empty(3 * embed_dim, f32))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        from chainrule.nn import init

        with no_grad():
            if self._qkv_same_embed_dim:
                init.xavier_uniform_(self.in_proj_weight)
            else:
                init.xavier_uniform_(self.q_proj_weight)
                init.xavier_uniform_(self.k_proj_weight)
                init.xavier_uniform_(self.v_proj_weight)
            if self.in_proj_bias is not None:
                init.constant_(self.in_proj_bias, 0.0)
                init.constant_(self.out_proj.bias, 0.0)

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, ...]:
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if query is key and key is value:
                qkv = linear(query, w, b)
                return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
            return (linear(query, w[:E], bq), linear(key, w[E:2 * E], bk),
                    linear(value, w[2 * E:], bv))
        return (linear(query, self.q_proj_weight, bq), linear(key, self.k_proj_weight, bk),
                linear(value, self.v_proj_weight, bv))

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                               "the Transformer module method `generate_square_subsequent_mask`"
                               " to create this mask.")
        batched = query.ndim == 3
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"MultiheadAttention: query, key and value must all be 2-D "
                             f"(unbatched) or 3-D, got shapes {tuple(query.shape)}, "
                             f"{tuple(key.shape)}, {tuple(value.shape)}")
        if query.shape[-1] != self.embed_dim:
            raise ValueError(f"MultiheadAttention: was expecting embedding dimension of "
                             f"{self.embed_dim}, but got {query.shape[-1]}")
        if not batched:  # treat as batch of one, batch-first
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        bf = self.batch_first or not batched
        n_ax, t_ax = (0, 1) if bf else (1, 0)
        N, L, S = query.shape[n_ax], query.shape[t_ax], key.shape[t_ax]
        h, hd = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value)
        # (.., .., E) → (N, h, T, hd)
        perm = (0, 2, 1, 3) if bf else (1, 2, 0, 3)
        q = q.reshape(*q.shape[:2], h, hd).permute(*perm)
        k = k.reshape(*k.shape[:2], h, hd).permute(*perm)
        v = v.reshape(*v.shape[:2], h, hd).permute(*perm)
        dtype = q.dtype
        mask = None
        if attn_mask is not None:
            mask = F._additive(attn_mask, dtype, True, "attn_mask")
            if mask.ndim == 3:
                if mask.shape != (N * h, L, S):
                    raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(mask.shape)}, "
                                       f"but should be {(N * h, L, S)}.")
                mask = mask.reshape(N, h, L, S)
            elif mask.shape != (L, S):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(mask.shape)}, but "
                                   f"should be {(L, S)}.")
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (N, S):
                raise RuntimeError(f"expecting key_padding_mask shape of {(N, S)}, but got "
                                   f"{tuple(key_padding_mask.shape)}")
            kpm = F._additive(key_padding_mask, dtype, True,
                              "key_padding_mask").reshape(N, 1, 1, S)
            mask = kpm if mask is None else mask + kpm
        if not need_weights and (self.dropout == 0.0 or not self.training):
            out = fused_attention(q, k, v, mask, 1.0 / math.sqrt(hd), False)  # (N, h, L, hd)
        else:
            scores = (q * (1.0 / math.sqrt(hd))) @ k.mT  # (N, h, L, S)
            if mask is not None:
                scores = scores + mask
            weights = softmax(scores, -1)
            if self.dropout > 0.0:
                weights = F.dropout(weights, self.dropout, self.training)
            out = weights @ v  # (N, h, L, hd)
        out = out.permute(0, 2, 1, 3) if bf else out.permute(2, 0, 1, 3)
        out = self.out_proj(out.reshape(*out.shape[:2], self.embed_dim))
        if not batched:
            out = out.squeeze(0)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(1)
        return out, (weights if batched else weights.squeeze(0))

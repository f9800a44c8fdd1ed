"""Attention: ``scaled_dot_product_attention`` and ``MultiheadAttention`` (PyTorch semantics).

Masks follow PyTorch: in ``scaled_dot_product_attention`` a bool ``attn_mask`` is True where
attention is *allowed*; in ``MultiheadAttention`` bool masks are True where attention is
*blocked* (both ``attn_mask`` and ``key_padding_mask``). Float masks are added to the scores.
"""

from __future__ import annotations

import math
from typing import Any

from chainrule.autograd.grad_mode import no_grad
from chainrule.backend import default_float, xp
from chainrule.nn.module import Module, Parameter
from chainrule.ops.elementwise import where
from chainrule.ops.fused import softmax
from chainrule.ops.linalg import linear
from chainrule.tensor import Tensor


def _additive(mask: Any, dtype: Any, blocked_when: bool, name: str) -> Tensor:
    """A bool or float mask as an additive float mask (−inf where blocked)."""
    if not isinstance(mask, Tensor):
        mask = Tensor._wrap(xp.asarray(mask))
    kind = mask.dtype.kind
    if kind == "b":
        blocked = mask if blocked_when else mask.logical_not()
        return where(blocked, -xp.inf, 0.0).to(dtype)
    if kind != "f":
        raise TypeError(f"only bool and floating types of {name} are supported, got "
                        f"{mask.dtype}")
    return mask if mask.dtype == dtype else mask.to(dtype)


def _dropout(x: Tensor, p: float, training: bool) -> Tensor:
    from chainrule.nn import functional as F

    return F.dropout(x, p, training)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None) -> Tensor:
    """softmax(q kᵀ · scale + mask) v over the last two dims, batch dims broadcasting.

    Args:
        query: (..., L, E); key: (..., S, E); value: (..., S, Ev).
        attn_mask: bool (True = may attend) or float (added to the scores), broadcastable to
            (..., L, S).
        dropout_p: dropout on the attention weights (always applied when > 0, as in PyTorch).
        is_causal: mask out keys after each query (upper triangle); excludes ``attn_mask``.
        scale: defaults to 1/√E.

    Returns:
        (..., L, Ev).

    Example:
        >>> import chainrule as cr
        >>> q = cr.randn(2, 4, 8)
        >>> scaled_dot_product_attention(q, q, q, is_causal=True).shape
        chainrule.Size([2, 4, 8])
    """
    L, S = query.shape[-2], key.shape[-2]
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: attn_mask and is_causal cannot both "
                         "be set")
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query * s) @ key.mT
    if is_causal:
        attn_mask = Tensor._wrap(xp.tril(xp.ones((L, S), bool)))
    if attn_mask is not None:
        scores = scores + _additive(attn_mask, scores.dtype, False, "attn_mask")
    weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = _dropout(weights, dropout_p, True)
    return weights @ value


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
        from chainrule.nn.linear import Linear

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
        scores = (q * (1.0 / math.sqrt(hd))) @ k.mT  # (N, h, L, S)
        mask = None
        if attn_mask is not None:
            mask = _additive(attn_mask, scores.dtype, True, "attn_mask")
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
            kpm = _additive(key_padding_mask, scores.dtype, True,
                            "key_padding_mask").reshape(N, 1, 1, S)
            mask = kpm if mask is None else mask + kpm
        if mask is not None:
            scores = scores + mask
        weights = softmax(scores, -1)
        if self.dropout > 0.0:
            weights = _dropout(weights, self.dropout, self.training)
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

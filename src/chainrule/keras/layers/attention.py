"""``MultiHeadAttention`` with Keras's signature, weights and masking."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import chainrule as cr
from chainrule.keras.layers.activations import masked_softmax
from chainrule.keras.layers.layer import Layer, Shape, get_mask
from chainrule.nn import functional as F
from chainrule.tensor import Tensor


class MultiHeadAttention(Layer):
    """Multi-head scaled dot-product attention (Vaswani et al., 2017) as Keras defines it.

    Per head h: ``q_h = query @ Wq_h + bq_h`` (and k, v likewise), scores
    ``softmax(q_h k_hᵀ / √key_dim)`` over the value steps with masked positions given 0,
    dropout on the scores while training, then ``Σ_h (scores_h v_h) @ Wo_h + bo``.

    Masks: ``attention_mask`` (N, T, S), True where query step t may attend to value step s;
    the masks carried by ``query`` and ``value`` (e.g. from ``Embedding(mask_zero=True)``) and
    ``use_causal_mask`` are combined with it by a logical and.

    Weights (Keras's layout): ``query_kernel`` (Cq, heads, key_dim), ``key_kernel``
    (Ck, heads, key_dim), ``value_kernel`` (Cv, heads, value_dim), their biases (heads, dim);
    ``output_kernel`` (heads, value_dim, out), ``output_bias`` (out,), out = ``output_shape``
    or Cq. Kernels glorot_uniform, biases zeros.

    Shape:
        query (N, T, Cq), value (N, S, Cv), key (N, S, Ck) (defaults to value) →
        (N, T, out); with ``return_attention_scores`` also the scores (N, heads, T, S).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> mha = layers.MultiHeadAttention(num_heads=2, key_dim=4)
        >>> x = keras.Input((5, 8))
        >>> mha(x, x).shape
        (None, 5, 8)
    """

    min_ndim = 3
    supports_masking = True

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None,
                 dropout: float = 0.0, use_bias: bool = True,
                 output_shape: int | Sequence[int] | None = None,
                 attention_axes: Any = None, **kwargs: Any) -> None:
        for what, v in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not isinstance(v, int) or v <= 0:
                raise ValueError(f"MultiHeadAttention: `{what}` must be a positive integer. "
                                 f"Received: {what}={v!r}")
        if attention_axes not in (None, 1, (1,), [1]):
            raise ValueError(f"MultiHeadAttention: only attention over axis 1 "
                             f"(attention_axes=None) is supported. Received: "
                             f"attention_axes={attention_axes}")
        super().__init__(**kwargs)
        self.num_heads, self.key_dim = num_heads, key_dim
        self.value_dim = key_dim if value_dim is None else value_dim
        self.dropout, self.use_bias = dropout, use_bias
        self.output_shape_arg = output_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(num_heads=self.num_heads, key_dim=self.key_dim, value_dim=self.value_dim,
                      dropout=self.dropout, use_bias=self.use_bias,
                      output_shape=self.output_shape_arg, attention_axes=None)
        return config

    def _build_shape(self, shape: Shape) -> Shape:
        return (None,) * (len(shape) - 1) + (shape[-1],)

    def _dense(self, name: str, fan_in: int, dim: int) -> None:
        self.add_weight(f"{name}_kernel", (fan_in, self.num_heads, dim), "glorot_uniform")
        if self.use_bias:
            self.add_weight(f"{name}_bias", (self.num_heads, dim), "zeros")

    def _build_all(self, cq: int, cv: int, ck: int) -> None:
        self._dense("query", cq, self.key_dim)
        self._dense("key", ck, self.key_dim)
        self._dense("value", cv, self.value_dim)
        out = self.output_shape_arg
        out_dims = (cq,) if out is None else (out,) if isinstance(out, int) else tuple(out)
        self.add_weight("output_kernel", (self.num_heads, self.value_dim, *out_dims),
                        "glorot_uniform")
        if self.use_bias:
            self.add_weight("output_bias", out_dims, "zeros")

    def _project(self, x: Tensor, name: str) -> Tensor:
        y = cr.einsum("btd,dhk->bthk", x, getattr(self, f"{name}_kernel"))
        return y + getattr(self, f"{name}_bias") if self.use_bias else y

    def call(self, query: Tensor, value: Any, key: Any = None, query_mask: Any = None,
             value_mask: Any = None, key_mask: Any = None, attention_mask: Any = None,
             return_attention_scores: bool = False, training: bool = False,
             use_causal_mask: bool = False) -> Any:
        value = cr.as_tensor(value)
        key = value if key is None else cr.as_tensor(key)
        if "query_kernel" not in self._parameters:
            self._build_all(query.shape[-1], value.shape[-1], key.shape[-1])
        mask = self._attention_mask(query, value, key, query_mask, value_mask, key_mask,
                                    attention_mask, use_causal_mask)
        q = self._project(query, "query") * (1.0 / math.sqrt(self.key_dim))
        k, v = self._project(key, "key"), self._project(value, "value")
        scores = cr.einsum("bshk,bthk->bhts", k, q)
        scores = masked_softmax(scores, None if mask is None else mask.unsqueeze(1))
        dropped = F.dropout(scores, self.dropout, True) if training and self.dropout else scores
        context = cr.einsum("bhts,bshk->bthk", dropped, v)
        out = cr.einsum("bthk,hko->bto", context,
                        self.output_kernel.reshape(self.num_heads, self.value_dim, -1))
        out = out.reshape(*out.shape[:2], *self.output_kernel.shape[2:])
        if self.use_bias:
            out = out + self.output_bias
        return (out, scores) if return_attention_scores else out

    def _attention_mask(self, query: Tensor, value: Tensor, key: Tensor, query_mask: Any,
                        value_mask: Any, key_mask: Any, attention_mask: Any,
                        use_causal_mask: bool) -> Tensor | None:
        """The (N, T, S) boolean mask: True where query step t may attend to value step s."""
        q_mask = get_mask(query) if query_mask is None else cr.as_tensor(query_mask)
        v_mask = get_mask(value) if value_mask is None else cr.as_tensor(value_mask)
        k_mask = get_mask(key) if key_mask is None else cr.as_tensor(key_mask)
        t, s = query.shape[1], value.shape[1]
        masks: list[Tensor] = []
        if q_mask is not None:
            masks.append(q_mask.bool().unsqueeze(-1))
        for m in (v_mask, k_mask):
            if m is not None:
                masks.append(m.bool().unsqueeze(-2))
        if use_causal_mask:
            masks.append(cr.tril(cr.ones(t, s, dtype=bool)).unsqueeze(0))
        if attention_mask is not None:
            masks.append(cr.as_tensor(attention_mask).bool())
        if not masks:
            return None
        out = masks[0]
        for m in masks[1:]:
            out = out & m
        return out.expand(query.shape[0], t, s)

    def _keras_weight_groups(self) -> list[tuple[str, list[tuple[Tensor, Any, Any]]]]:
        same = (lambda a: a), (lambda a: a)
        return [(f"{name}_dense", [(getattr(self, f"{name}_{kind}"), *same)
                                   for kind in ("kernel", "bias") if self.use_bias or
                                   kind == "kernel"])
                for name in ("query", "key", "value", "output")]

    def compute_output_shape(self, query_shape: Any, value_shape: Any = None,
                             key_shape: Any = None) -> Any:
        """(N, T, out) for a query (N, T, Cq); ``value_shape`` is accepted as in Keras."""
        out = self.output_shape_arg
        dims = (query_shape[-1],) if out is None else (out,) if isinstance(out, int) else out
        return (*tuple(query_shape)[:-1], *dims)

    def forward(self, query: Any, value: Any = None, key: Any = None, **kwargs: Any) -> Any:
        if value is None:
            raise TypeError("MultiHeadAttention.call() missing required argument: 'value'")
        return super().forward(query, value, key, **kwargs)


__all__ = ["MultiHeadAttention"]

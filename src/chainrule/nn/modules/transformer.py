"""Transformer layers (PyTorch's ``TransformerEncoderLayer``, ``TransformerEncoder``,
``TransformerDecoderLayer``, ``TransformerDecoder``, same state_dict keys) and positional
encodings (sinusoidal and learned)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from chainrule.autograd.grad_mode import no_grad
from chainrule.backend import default_float, float_or_default, xp
from chainrule.device import check as check_device
from chainrule.nn.modules.activation import MultiheadAttention
from chainrule.nn.modules.container import ModuleList
from chainrule.nn.modules.module import Module, Parameter
from chainrule.tensor import Tensor


def _activation(activation: str | Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    if callable(activation):
        return activation
    if activation == "relu":
        return lambda x: x.relu()
    if activation == "gelu":
        return lambda x: x.gelu()
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _norm_ff(d_model: int, dim_feedforward: int, dropout: float, layer_norm_eps: float,
             bias: bool, n_norms: int, owner: Module) -> None:
    """Register linear1, dropout, linear2, norm1..n, dropout1..n on ``owner`` (torch order)."""
    from chainrule.nn.modules.dropout import Dropout
    from chainrule.nn.modules.linear import Linear
    from chainrule.nn.modules.normalization import LayerNorm

    owner.linear1 = Linear(d_model, dim_feedforward, bias=bias)
    owner.dropout = Dropout(dropout)
    owner.linear2 = Linear(dim_feedforward, d_model, bias=bias)
    for i in range(1, n_norms + 1):
        setattr(owner, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
    for i in range(1, n_norms + 1):
        setattr(owner, f"dropout{i}", Dropout(dropout))


class _TransformerLayer(Module):
    """What the encoder and decoder layers share: self-attention (and, with ``cross``, the
    attention over memory), the feed-forward block, norms and dropouts in PyTorch's key order."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float,
                 activation: str | Callable[[Tensor], Tensor], layer_norm_eps: float,
                 batch_first: bool, norm_first: bool, bias: bool, cross: bool) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first)
        if cross:
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                     batch_first=batch_first)
        n_norms = 3 if cross else 2
        _norm_ff(d_model, dim_feedforward, dropout, layer_norm_eps, bias, n_norms, self)
        self._ff_dropout = f"dropout{n_norms}"
        self.norm_first = norm_first
        self.activation = _activation(activation)

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any,
                  is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        out = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return getattr(self, self._ff_dropout)(out)


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention then a position-wise feed-forward block, each with a residual connection
    and LayerNorm — after (post-norm, default) or before (``norm_first``) the block.

    Args:
        d_model, nhead, dim_feedforward, dropout, activation ('relu' | 'gelu' | callable),
        layer_norm_eps, batch_first, norm_first, bias: as in ``torch.nn.TransformerEncoderLayer``.

    Shape:
        src (S, N, E), or (N, S, E) with ``batch_first``, or unbatched (S, E) → same shape.

    Example:
        >>> import chainrule as cr
        >>> layer = cr.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16,
        ...     dropout=0.0)
        >>> layer(cr.randn(5, 3, 8)).shape
        chainrule.Size([5, 3, 8])
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable[[Tensor], Tensor] = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True) -> None:
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                         batch_first, norm_first, bias, cross=False)

    def forward(self, src: Tensor, src_mask: Tensor | None = None,
                src_key_padding_mask: Tensor | None = None, is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x



class TransformerDecoderLayer(_TransformerLayer):
    """Masked self-attention, cross-attention over ``memory``, then feed-forward; residuals
    and LayerNorms as in ``TransformerEncoderLayer`` (keys ``self_attn``, ``multihead_attn``,
    ``linear1``, ``linear2``, ``norm1``..``norm3``).

    Shape:
        tgt (T, N, E), memory (S, N, E) (batch-first or unbatched accordingly) → tgt's shape.

    Example:
        >>> import chainrule as cr
        >>> layer = cr.nn.TransformerDecoderLayer(d_model=8, nhead=2, dim_feedforward=16)
        >>> layer(cr.randn(5, 2, 8), cr.randn(7, 2, 8)).shape
        chainrule.Size([5, 2, 8])
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable[[Tensor], Tensor] = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True) -> None:
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                         batch_first, norm_first, bias, cross=True)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask,
                                   tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask,
                                              tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask,
                                               memory_key_padding_mask, memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x


    def _mha_block(self, x: Tensor, mem: Tensor, attn_mask: Any, key_padding_mask: Any,
                   is_causal: bool) -> Tensor:
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, need_weights=False,
                                is_causal=is_causal)[0]
        return self.dropout2(x)


class TransformerEncoder(Module):
    """A stack of ``num_layers`` deep copies of ``encoder_layer`` (keys ``layers.0.…``), then
    the optional final ``norm``.

    Example:
        >>> import chainrule as cr
        >>> layer = cr.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16,
        ...     batch_first=True)
        >>> encoder = cr.nn.TransformerEncoder(layer, num_layers=2)
        >>> mask = cr.nn.Transformer.generate_square_subsequent_mask(5)
        >>> encoder(cr.randn(3, 5, 8), mask=mask).shape
        chainrule.Size([3, 5, 8])
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int,
                 norm: Module | None = None, enable_nested_tensor: bool = True) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Tensor, mask: Tensor | None = None,
                src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal))
        return self.norm(x) if self.norm is not None else x


class TransformerDecoder(Module):
    """A stack of ``num_layers`` deep copies of ``decoder_layer``, then the optional ``norm``.

    Example:
        >>> import chainrule as cr
        >>> layer = cr.nn.TransformerDecoderLayer(d_model=8, nhead=2, dim_feedforward=16,
        ...     batch_first=True)
        >>> decoder = cr.nn.TransformerDecoder(layer, num_layers=2)
        >>> decoder(cr.randn(2, 5, 8), cr.randn(2, 7, 8)).shape
        chainrule.Size([2, 5, 8])
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int,
                 norm: Module | None = None) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                      memory_key_padding_mask, bool(tgt_is_causal), memory_is_causal)
        return self.norm(x) if self.norm is not None else x


def generate_square_subsequent_mask(sz: int, dtype: Any = None) -> Tensor:
    """(sz, sz) float mask: 0 on and below the diagonal, −inf above (a causal mask)."""
    dt = float_or_default(dtype)
    return Tensor._wrap(xp.triu(xp.full((sz, sz), -xp.inf, dt), 1))


def sinusoidal_table(max_len: int, d_model: int) -> Any:
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d))."""
    pos = xp.arange(max_len, dtype=xp.float64)[:, None]
    div = xp.exp(xp.arange(0, d_model, 2, dtype=xp.float64) * (-math.log(10000.0) / d_model))
    pe = xp.zeros((max_len, d_model))
    pe[:, 0::2] = xp.sin(pos * div)
    pe[:, 1::2] = xp.cos(pos * div)[:, : d_model // 2]
    return pe.astype(default_float())


class _PositionalBase(Module):
    def _add(self, x: Tensor, table: Tensor) -> Tensor:
        t_ax = 1 if self.batch_first else 0
        T = x.shape[t_ax] if x.ndim == 3 else x.shape[0]
        if T > table.shape[0]:
            raise ValueError(f"{type(self).__name__}: sequence length {T} exceeds max_len "
                             f"{table.shape[0]}")
        pe = table[:T]
        if x.ndim == 3 and not self.batch_first:
            pe = pe.unsqueeze(1)
        out = x + (pe if pe.dtype == x.dtype else pe.to(x.dtype))
        if self.dropout_p > 0.0:
            from chainrule.nn import functional as F

            out = F.dropout(out, self.dropout_p, self.training)
        return out


class SinusoidalPositionalEncoding(_PositionalBase):
    """Adds the fixed sine/cosine table of Vaswani et al. (2017) to its input, then dropout.

    Args:
        d_model: feature size; max_len: longest sequence; dropout: applied after the sum;
        batch_first: input (N, T, E) rather than (T, N, E). Unbatched (T, E) also works.

    The table is a non-persistent buffer ``pe`` (max_len, d_model): not in the state_dict.

    Example:
        >>> import chainrule as cr
        >>> pe = cr.nn.SinusoidalPositionalEncoding(d_model=4)
        >>> pe(cr.zeros(3, 1, 4))[:, 0]
        tensor([[ 0.0000,  1.0000,  0.0000,  1.0000],
                [ 0.8415,  0.5403,  0.0100,  0.9999],
                [ 0.9093, -0.4161,  0.0200,  0.9998]])
    """

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0,
                 batch_first: bool = False) -> None:
        super().__init__()
        self.d_model, self.max_len, self.dropout_p = d_model, max_len, dropout
        self.batch_first = batch_first
        self.register_buffer("pe", Tensor._wrap(sinusoidal_table(max_len, d_model)),
                             persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return self._add(x, self.pe)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}"


class LearnedPositionalEncoding(_PositionalBase):
    """Adds a trained embedding of each position, ``weight`` (max_len, d_model) ~ N(0, 0.02²),
    then dropout. Same layouts as ``SinusoidalPositionalEncoding``.

    Example:
        >>> import chainrule as cr
        >>> pe = cr.nn.LearnedPositionalEncoding(max_len=16, d_model=8, batch_first=True)
        >>> pe(cr.zeros(2, 10, 8)).shape, pe.weight.shape
        (chainrule.Size([2, 10, 8]), chainrule.Size([16, 8]))
    """

    def __init__(self, max_len: int, d_model: int, dropout: float = 0.0,
                 batch_first: bool = False) -> None:
        super().__init__()
        self.d_model, self.max_len, self.dropout_p = d_model, max_len, dropout
        self.batch_first = batch_first
        self.weight = Parameter(xp.empty((max_len, d_model), default_float()))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with no_grad():
            self.weight.normal_(0.0, 0.02)

    def forward(self, x: Tensor) -> Tensor:
        return self._add(x, self.weight)

    def extra_repr(self) -> str:
        return f"max_len={self.max_len}, d_model={self.d_model}"


class Transformer(Module):
    """The encoder–decoder Transformer of Vaswani et al. (2017), as ``torch.nn.Transformer``:
    an encoder stack over ``src`` with a final LayerNorm, and a decoder stack over ``tgt`` that
    attends to the encoder's output, with a final LayerNorm. Every parameter with more than one
    dim starts Glorot-uniform.

    Keys: ``encoder.layers.N.…``, ``encoder.norm.…``, ``decoder.layers.N.…``, ``decoder.norm.…``.

    Shape:
        src (S, N, E), tgt (T, N, E) → (T, N, E); (N, S, E) etc. with ``batch_first``.

    Example:
        >>> import chainrule as cr
        >>> model = cr.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1,
        ...                           num_decoder_layers=1, dim_feedforward=16, dropout=0.0)
        >>> model(cr.randn(5, 3, 8), cr.randn(4, 3, 8)).shape
        chainrule.Size([4, 3, 8])
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = "relu",
                 custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        from chainrule.nn.init import xavier_uniform_
        from chainrule.nn.modules.normalization import LayerNorm

        super().__init__()
        check_device(device, "Transformer")
        args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                batch_first, norm_first, bias)
        self.encoder = custom_encoder or TransformerEncoder(
            TransformerEncoderLayer(*args), num_encoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        self.decoder = custom_decoder or TransformerDecoder(
            TransformerDecoderLayer(*args), num_decoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        for p in self.parameters():
            if p.ndim > 1:
                xavier_uniform_(p)
        if dtype is not None:
            self.to(dtype)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Tensor | None = None,
                tgt_mask: Tensor | None = None, memory_mask: Tensor | None = None,
                src_key_padding_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        b = 0 if self.batch_first else 1
        if src.ndim == 3 and tgt.ndim == 3 and src.shape[b] != tgt.shape[b]:
            raise RuntimeError(f"Transformer: the batch number of src and tgt must be equal, got "
                               f"shapes {tuple(src.shape)} and {tuple(tgt.shape)}")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"Transformer: the feature number of src and tgt must be equal to "
                               f"d_model ({self.d_model}), got shapes {tuple(src.shape)} and "
                               f"{tuple(tgt.shape)}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """(sz, sz) causal mask: 0 on and below the diagonal, −inf above."""
        check_device(device, "generate_square_subsequent_mask")
        return generate_square_subsequent_mask(sz, dtype)

"""Parity with PyTorch: with identical weights (through the PyTorch-compatible state_dict),
recurrent, attention and transformer layers give the same outputs and gradients (float64)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.functional import scaled_dot_product_attention
from chainrule.nn.modules.activation import MultiheadAttention
from chainrule.nn.modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from chainrule.nn.modules.transformer import (
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

torch = pytest.importorskip("torch")

ATOL = 1e-10


def _load_into_torch(m: cr.nn.Module, tm: object) -> None:
    ours, theirs = m.state_dict(), tm.state_dict()  # type: ignore[attr-defined]
    assert set(ours) == set(theirs)
    tm.load_state_dict({k: torch.from_numpy(np.array(v.array)) for k, v in ours.items()})


def _load_from_torch(tm: object, m: cr.nn.Module) -> None:
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


def _flat(out: object) -> list:
    if out is None:
        return []
    if isinstance(out, (cr.Tensor, torch.Tensor)):
        return [out]
    return [t for o in out for t in _flat(o)]  # type: ignore[union-attr]


def _compare(m: cr.nn.Module, tm: object, inputs: list[np.ndarray], call: object,
             rng: np.random.Generator, grad_inputs: bool = True, atol: float = ATOL) -> None:
    """Run both with the same inputs, backpropagate the same random cotangents, compare."""
    ci = [cr.tensor(a, requires_grad=grad_inputs and a.dtype.kind == "f") for a in inputs]
    ti = [torch.tensor(a, requires_grad=grad_inputs and a.dtype.kind == "f") for a in inputs]
    co, to = _flat(call(m, ci)), _flat(call(tm, ti))  # type: ignore[operator]
    assert len(co) == len(to)
    cots = [rng.standard_normal(tuple(t.shape)) for t in to]
    for c, t in zip(co, to):
        np.testing.assert_allclose(c.array, t.detach().numpy(), atol=atol, rtol=1e-7)
    sum((c * cr.tensor(g)).sum() for c, g in zip(co, cots)).backward()
    sum((t * torch.tensor(g)).sum() for t, g in zip(to, cots)).backward()
    for c, t in zip(ci, ti):
        if t.requires_grad:
            np.testing.assert_allclose(c.grad.array, t.grad.numpy(), atol=atol, rtol=1e-7)
    tp = dict(tm.named_parameters())  # type: ignore[attr-defined]
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.array, tp[name].grad.numpy(), atol=atol, rtol=1e-7,
                                   err_msg=name)


@pytest.mark.parametrize("kw", [
    {}, {"num_layers": 2, "bidirectional": True}, {"batch_first": True, "num_layers": 3},
    {"bias": False, "bidirectional": True, "batch_first": True}])
@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_recurrent_layers_match_torch(name: str, kw: dict, rng: np.random.Generator) -> None:
    ours = {"LSTM": LSTM, "GRU": GRU, "RNN": RNN}[name]
    cr.manual_seed(0)
    m = ours(3, 5, **kw).double()
    tm = getattr(torch.nn, name)(3, 5, **kw).double()
    _load_into_torch(m, tm)
    D = 2 if kw.get("bidirectional") else 1
    L = kw.get("num_layers", 1)
    x = rng.standard_normal((4, 6, 3))
    h0 = rng.standard_normal((L * D, 6 if not kw.get("batch_first") else 4, 5))
    state = [h0, rng.standard_normal(h0.shape)] if name == "LSTM" else [h0]

    def call(mod: object, xs: list) -> object:
        hx = (xs[1], xs[2]) if name == "LSTM" else xs[1]
        return mod(xs[0], hx)  # type: ignore[operator]

    _compare(m, tm, [x, *state], call, rng)
    if name == "LSTM":  # default zero state, the unbatched layout and the composite path
        m.zero_grad()
        tm.zero_grad()
        m.fused = False
        _compare(m, tm, [x[:, 0]], lambda mod, xs: mod(xs[0]), rng)


def test_torch_weights_load_into_chainrule(rng: np.random.Generator) -> None:
    torch.manual_seed(0)
    tm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    m = LSTM(3, 4, num_layers=2, bidirectional=True).double()
    _load_from_torch(tm, m)
    _compare(m, tm, [rng.standard_normal((5, 2, 3))], lambda mod, xs: mod(xs[0]), rng)


@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells_match_torch(name: str, rng: np.random.Generator) -> None:
    ours = {"LSTMCell": LSTMCell, "GRUCell": GRUCell, "RNNCell": RNNCell}[name]
    m = ours(3, 4).double()
    tm = getattr(torch.nn, name)(3, 4).double()
    _load_into_torch(m, tm)
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    if name == "LSTMCell":
        _compare(m, tm, [x, h, rng.standard_normal((2, 4))],
                 lambda mod, xs: mod(xs[0], (xs[1], xs[2])), rng)
    else:
        _compare(m, tm, [x, h], lambda mod, xs: mod(xs[0], xs[1]), rng)


def _mask_inputs(kind: str, rng: np.random.Generator, N: int, h: int, L: int,
                 S: int) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if kind in ("attn_bool", "both"):
        m = rng.random((L, S)) < 0.4
        m[:, 0] = False
        out["attn_mask"] = m
    if kind == "attn_float":
        out["attn_mask"] = rng.standard_normal((L, S))
    if kind == "attn_3d":
        out["attn_mask"] = rng.standard_normal((N * h, L, S))
    if kind in ("kpm_bool", "both"):
        m = rng.random((N, S)) < 0.4
        m[:, 0] = False
        out["key_padding_mask"] = m
    if kind == "kpm_float":
        out["key_padding_mask"] = rng.standard_normal((N, S))
    return out


@pytest.mark.parametrize("kind", ["none", "attn_bool", "attn_float", "attn_3d", "kpm_bool",
                                  "kpm_float", "both"])
@pytest.mark.parametrize("batch_first,kdim", [(False, None), (True, 5)])
def test_multihead_attention_matches_torch(kind: str, batch_first: bool, kdim: int | None,
                                           rng: np.random.Generator) -> None:
    E, h, L, S, N = 8, 2, 4, 6, 3
    m = MultiheadAttention(E, h, batch_first=batch_first, kdim=kdim, vdim=kdim).double()
    tm = torch.nn.MultiheadAttention(E, h, batch_first=batch_first, kdim=kdim,
                                     vdim=kdim).double()
    _load_into_torch(m, tm)
    kd = kdim or E

    def shape(T: int, d: int) -> tuple[int, ...]:
        return (N, T, d) if batch_first else (T, N, d)

    masks = _mask_inputs(kind, rng, N, h, L, S)
    names = list(masks)
    arrays = [rng.standard_normal(shape(L, E)), rng.standard_normal(shape(S, kd)),
              rng.standard_normal(shape(S, kd)), *masks.values()]
    for avg in (True, False):
        m.zero_grad()
        tm.zero_grad()

        def call(mod: object, xs: list, avg: bool = avg) -> object:
            for x in xs[3:]:
                x.requires_grad_(False)
            kw = dict(zip(names, xs[3:]))
            return mod(xs[0], xs[1], xs[2], average_attn_weights=avg, **kw)  # type: ignore

        _compare(m, tm, arrays, call, rng)


def test_self_attention_unbatched_and_sdpa_match_torch(rng: np.random.Generator) -> None:
    m = MultiheadAttention(8, 4).double()
    tm = torch.nn.MultiheadAttention(8, 4).double()
    _load_into_torch(m, tm)
    x = rng.standard_normal((5, 8))
    _compare(m, tm, [x], lambda mod, xs: mod(xs[0], xs[0], xs[0]), rng)
    q, k, v = (rng.standard_normal((2, 3, 5, 4)) for _ in range(3))
    keep = rng.random((5, 5)) < 0.7
    keep[:, 0] = True
    for kw_np in ({}, {"is_causal": True}, {"attn_mask": keep},
                  {"attn_mask": rng.standard_normal((5, 5)), "scale": 0.3}):
        ours = scaled_dot_product_attention(
            *(cr.tensor(a) for a in (q, k, v)),
            **{key: cr.tensor(val) if isinstance(val, np.ndarray) else val
               for key, val in kw_np.items()})
        theirs = torch.nn.functional.scaled_dot_product_attention(
            *(torch.tensor(a) for a in (q, k, v)),
            **{key: torch.tensor(val) if isinstance(val, np.ndarray) else val
               for key, val in kw_np.items()})
        np.testing.assert_allclose(ours.array, theirs.numpy(), atol=ATOL)


@pytest.mark.parametrize("norm_first,batch_first,activation", [
    (False, False, "relu"), (True, True, "relu"), (False, True, "gelu")])
def test_transformer_encoder_layer_matches_torch(norm_first: bool, batch_first: bool,
                                                 activation: str,
                                                 rng: np.random.Generator) -> None:
    m = TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=batch_first,
                                norm_first=norm_first, activation=activation).double()
    tm = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=batch_first,
                                          norm_first=norm_first,
                                          activation=activation).double()
    _load_into_torch(m, tm)
    x = rng.standard_normal((3, 5, 8) if batch_first else (5, 3, 8))
    mask = np.triu(np.full((5, 5), -np.inf), 1)
    kpm = np.zeros((3, 5))
    kpm[0, 3:] = -np.inf  # float padding mask, same type as the float attention mask
    # NOTE: chainrule's erf is a 1.5e-7-accurate approximation, so GELU agrees to ~1e-6.
    atol = 1e-6 if activation == "gelu" else ATOL

    def call(mod: object, xs: list) -> object:
        for t in xs[1:]:
            t.requires_grad_(False)
        return mod(xs[0], src_mask=xs[1], src_key_padding_mask=xs[2])  # type: ignore

    _compare(m, tm, [x, mask, kpm], call, rng, atol=atol)


def test_transformer_encoder_stack_and_decoder_match_torch(rng: np.random.Generator) -> None:
    from chainrule.nn.modules.normalization import LayerNorm

    enc = TransformerEncoder(TransformerEncoderLayer(8, 2, 16, dropout=0.0), 2,
                             norm=LayerNorm(8)).double()
    tenc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0),
                                       2, norm=torch.nn.LayerNorm(8),
                                       enable_nested_tensor=False).double()
    _load_into_torch(enc, tenc)
    _compare(enc, tenc, [rng.standard_normal((5, 2, 8))], lambda mod, xs: mod(xs[0]), rng)
    dec = TransformerDecoderLayer(8, 2, 16, dropout=0.0, norm_first=True).double()
    tdec = torch.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, norm_first=True).double()
    _load_into_torch(dec, tdec)
    mask = np.triu(np.full((4, 4), -np.inf), 1)

    def call(mod: object, xs: list) -> object:
        xs[2].requires_grad_(False)
        return mod(xs[0], xs[1], tgt_mask=xs[2])  # type: ignore

    _compare(dec, tdec, [rng.standard_normal((4, 2, 8)), rng.standard_normal((6, 2, 8)), mask],
             call, rng)


_EMPTY_DIMS = [((2, 3, 0), (2, 4, 0), (2, 4, 5)), ((2, 0, 6), (2, 4, 6), (2, 4, 5)),
               ((2, 3, 6), (2, 4, 6), (2, 4, 0)), ((2, 3, 4), (2, 0, 4), (2, 0, 5))]
_SDPA_KW = {"plain": {}, "causal": {"is_causal": True}, "dropout": {"dropout_p": 0.5}}


def _zero_output(shapes: tuple[tuple[int, ...], ...]) -> bool:
    """Whether attention over these shapes gives an empty or all-zero output (no queries, no
    keys or no value features), the cases where dropout's random draws do not show."""
    q_shape, k_shape, v_shape = shapes
    return not (q_shape[-2] and k_shape[-2] and v_shape[-1])


@pytest.mark.parametrize("q_shape,k_shape,v_shape,kw", [
    pytest.param(*shapes, kw, id=f"{shapes}-{name}")
    for shapes in _EMPTY_DIMS for name, kw in _SDPA_KW.items()
    if name != "dropout" or _zero_output(shapes)])  # (the dropout draws differ from torch's)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_sdpa_on_empty_dims_matches_torch(q_shape, k_shape, v_shape, kw, dtype):
    """Empty head or sequence dims, forward and backward: E = 0 gives all-zero scores (uniform
    weights), not 1/√0; no keys (S = 0) gives a zero output and a zero query gradient.
    float16 takes the composite twin, dropout the unfused path."""
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s).astype(dtype) for s in (q_shape, k_shape, v_shape))
    g = rng.standard_normal((*q_shape[:-1], v_shape[-1])).astype(dtype)
    ins = [cr.tensor(a, requires_grad=True) for a in (q, k, v)]
    tins = [torch.tensor(a.astype(np.float32), requires_grad=True) for a in (q, k, v)]
    ours = cr.nn.functional.scaled_dot_product_attention(*ins, **kw)
    theirs = torch.nn.functional.scaled_dot_product_attention(*tins, **kw)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.array, theirs.detach().numpy(), rtol=1e-3, atol=1e-3)
    ours.backward(cr.tensor(g))
    theirs.backward(torch.tensor(g.astype(np.float32)))
    for a, b in zip(ins, tins):
        assert tuple(a.grad.shape) == tuple(b.grad.shape)
        np.testing.assert_allclose(a.grad.array, b.grad.numpy(), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("kw", [{}, {"num_layers": 2, "bidirectional": True},
                                {"batch_first": True, "bias": False}])
def test_lstm_with_projections_matches_torch(kw: dict, rng: np.random.Generator) -> None:
    """``proj_size``: h_t = W_hr (o ⊙ tanh c_t), so h and each direction's output have
    proj_size features and c keeps hidden_size; same parameters, outputs and gradients."""
    cr.manual_seed(0)
    m = LSTM(3, 5, proj_size=2, **kw).double()
    tm = torch.nn.LSTM(3, 5, proj_size=2, **kw).double()
    _load_into_torch(m, tm)
    D, L = (2 if kw.get("bidirectional") else 1), kw.get("num_layers", 1)
    x = rng.standard_normal((4, 6, 3))
    B = 4 if kw.get("batch_first") else 6
    h0, c0 = rng.standard_normal((L * D, B, 2)), rng.standard_normal((L * D, B, 5))

    def call(mod: object, xs: list) -> object:
        out, (h, c) = mod(xs[0], (xs[1], xs[2]))  # type: ignore[operator]
        return out, h, c

    _compare(m, tm, [x, h0, c0], call, rng)
    out, (h, c) = m(cr.tensor(x))
    assert out.shape[-1] == 2 * D and h.shape[-1] == 2 and c.shape[-1] == 5
    assert "proj_size=2" in repr(m)


def test_lstm_with_projections_over_a_packed_batch_matches_torch(
        rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    m = LSTM(3, 5, proj_size=2, bidirectional=True).double()
    tm = torch.nn.LSTM(3, 5, proj_size=2, bidirectional=True).double()
    _load_into_torch(m, tm)
    x, lengths = rng.standard_normal((5, 3, 3)), [5, 2, 4]
    ours = m(cr.nn.utils.rnn.pack_padded_sequence(cr.tensor(x), lengths,
                                                  enforce_sorted=False))
    theirs = tm(torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths,
                                                       enforce_sorted=False))
    np.testing.assert_allclose(ours[0].data.array, theirs[0].data.detach().numpy(), atol=ATOL)
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a.array, b.detach().numpy(), atol=ATOL)


@pytest.mark.parametrize("kw, message", [
    ({"proj_size": 5}, "proj_size has to be smaller than hidden_size"),
    ({"proj_size": -1}, "proj_size should be a positive integer or zero"),
])
def test_lstm_projection_sizes_are_checked_as_torch_checks_them(kw: dict,
                                                                message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LSTM(3, 5, **kw)
    with pytest.raises(ValueError, match=message):
        torch.nn.LSTM(3, 5, **kw)

"""RNN / LSTM / GRU and their cells: gradients against finite differences, the fused LSTM
primitive against its composite twin, long sequences, layouts, names and init."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.nn.modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from chainrule.ops.rnn import lstm_sequence, lstm_sequence_composite


def _t(arr: np.ndarray, grad: bool = True) -> cr.Tensor:
    return cr.tensor(arr, dtype=cr.float64, requires_grad=grad)


def _flat(out: object) -> list[cr.Tensor]:
    if isinstance(out, cr.Tensor):
        return [out]
    res: list[cr.Tensor] = []
    for o in out:  # type: ignore[union-attr]
        res += _flat(o)
    return res


@pytest.mark.parametrize("cell,kw", [(RNNCell, {}), (RNNCell, {"nonlinearity": "relu"}),
                                     (LSTMCell, {}), (GRUCell, {}), (GRUCell, {"bias": False})])
def test_cells_gradcheck(cell: type, kw: dict, rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    m = cell(3, 4, **kw).double()
    x, h = _t(rng.standard_normal((2, 3))), _t(rng.standard_normal((2, 4)))
    state = (h, _t(rng.standard_normal((2, 4)))) if cell is LSTMCell else h
    gradcheck(lambda *_: tuple(_flat(m(x, state))), [x, *_flat(state), *m.parameters()])


@pytest.mark.parametrize("cls,kw", [
    (RNN, {"num_layers": 2, "bidirectional": True}),
    (RNN, {"nonlinearity": "relu", "num_layers": 2}),
    (LSTM, {"num_layers": 2, "bidirectional": True}),
    (LSTM, {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    (GRU, {"num_layers": 2, "bidirectional": True}),
    (GRU, {"bias": False, "batch_first": True}),
])
def test_layers_gradcheck(cls: type, kw: dict, rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    m = cls(2, 2, **kw).double()
    D = 2 if kw.get("bidirectional") else 1
    L = kw.get("num_layers", 1)
    x = _t(rng.standard_normal((2, 3, 2)))
    B = 2 if kw.get("batch_first") else 3
    h0 = _t(rng.standard_normal((L * D, B, 2)) * 0.5)
    state = (h0, _t(rng.standard_normal(h0.shape) * 0.5)) if cls is LSTM else h0
    gradcheck(lambda *_: tuple(_flat(m(x, state))), [x, *_flat(state), *m.parameters()])


def test_lstm_composite_path_gradcheck(rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    m = LSTM(2, 3, bidirectional=True).double()
    m.fused = False
    x = _t(rng.standard_normal((3, 2, 2)))
    gradcheck(lambda *_: tuple(_flat(m(x))), [x, *m.parameters()])


def _lstm_args(rng: np.random.Generator, T: int, B: int, n_in: int, H: int,
               bias: bool = True) -> list[np.ndarray]:
    """x, w_ih, w_hh, h0, c0 (and b) for ``lstm_sequence``."""
    shapes = [(T, B, n_in), (4 * H, n_in), (4 * H, H), (B, H), (B, H), (4 * H,)]
    return [rng.standard_normal(s) for s in shapes[:6 if bias else 5]]


@pytest.mark.parametrize("jit", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
def test_fused_lstm_matches_composite(reverse: bool, bias: bool, jit: bool,
                                      rng: np.random.Generator) -> None:
    args = _lstm_args(rng, 5, 3, 2, 4, bias)
    a, b = [_t(v) for v in args], [_t(v) for v in args]
    with cr.kernels.use_jit(jit):
        ya = lstm_sequence(*a, reverse=reverse)
        yb = lstm_sequence_composite(*b, reverse=reverse)
        np.testing.assert_allclose(ya.array, yb.array, rtol=1e-12, atol=1e-12)
        g = _t(rng.standard_normal(ya.shape), grad=False)
        (ya * g).sum().backward()
        (yb * g).sum().backward()
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.grad.array, y.grad.array, rtol=1e-10, atol=1e-12)


def test_fused_lstm_gradient_of_some_inputs_only(rng: np.random.Generator) -> None:
    """Each input's gradient alone (the weight GEMM is shared by w_ih and w_hh)."""
    args = _lstm_args(rng, 4, 2, 3, 2)
    y_ref = lstm_sequence_composite(*[_t(v) for v in args])
    g = rng.standard_normal(y_ref.shape)
    for k in range(len(args)):
        xs = [_t(v, grad=i == k) for i, v in enumerate(args)]
        ref = [_t(v, grad=i == k) for i, v in enumerate(args)]
        (lstm_sequence(*xs) * _t(g, False)).sum().backward()
        (lstm_sequence_composite(*ref) * _t(g, False)).sum().backward()
        np.testing.assert_allclose(xs[k].grad.array, ref[k].grad.array, rtol=1e-10,
                                   atol=1e-12)


def test_fused_lstm_gradcheck_and_second_order(rng: np.random.Generator) -> None:
    args = [_t(v) for v in _lstm_args(rng, 3, 2, 2, 2)]
    gradcheck(lambda *xs: lstm_sequence(*xs, reverse=True), args)
    gradgradcheck(lambda *xs: lstm_sequence(*xs), args)
    gradgradcheck(lambda *xs: lstm_sequence(*xs), args[:5])


def test_fused_lstm_float32_matches_float64(rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    m = LSTM(3, 8)
    x = rng.standard_normal((6, 2, 3)).astype(np.float32)
    out32 = m(cr.tensor(x))[0].array
    out64 = m.double()(cr.tensor(x, dtype=cr.float64))[0].array
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, atol=1e-5)


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_long_sequence_bptt(cls: type, rng: np.random.Generator) -> None:
    """≥ 500 steps backpropagate (no recursion limit) and reach the first input."""
    cr.manual_seed(0)
    m = cls(2, 4)
    x = cr.tensor(rng.standard_normal((600, 1, 2)).astype(np.float32), requires_grad=True)
    out, _ = m(x)
    out[-1].sum().backward()
    assert x.grad.shape == x.shape and np.isfinite(x.grad.array).all()
    assert np.abs(x.grad.array[-1]).sum() > 0
    assert all(np.isfinite(p.grad.array).all() for p in m.parameters())


def test_long_sequence_fused_equals_composite(rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    m = LSTM(2, 3).double()
    x = _t(rng.standard_normal((500, 2, 2)))
    out, (h, c) = m(x)
    (out.sum() + c.sum()).backward()
    g_fused = [x.grad.array.copy()] + [p.grad.array.copy() for p in m.parameters()]
    m.zero_grad()
    x.grad = None
    m.fused = False
    out2, (h2, c2) = m(x)
    (out2.sum() + c2.sum()).backward()
    np.testing.assert_allclose(out.array, out2.array, atol=1e-12)
    for a, b in zip(g_fused, [x.grad.array] + [p.grad.array for p in m.parameters()]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


@given(T=st.integers(1, 4), B=st.integers(1, 3), n_in=st.integers(1, 3), H=st.integers(1, 4),
       bidir=st.booleans())
def test_lstm_fused_vs_composite_property(T: int, B: int, n_in: int, H: int,
                                          bidir: bool) -> None:
    cr.manual_seed(T * 7 + H)
    m = LSTM(n_in, H, bidirectional=bidir).double()
    x = _t(np.random.default_rng(B).standard_normal((T, B, n_in)))
    y1 = m(x)[0]
    m.fused = False
    y2 = m(x)[0]
    np.testing.assert_allclose(y1.array, y2.array, atol=1e-12)
    assert y1.shape == (T, B, H * (2 if bidir else 1))


def test_pytorch_parameter_names_and_init() -> None:
    cr.manual_seed(0)
    m = LSTM(3, 16, num_layers=2, bidirectional=True)
    names = list(m.state_dict())
    expected = [f"{k}_l{layer}{sfx}" for layer in range(2) for sfx in ("", "_reverse")
                for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    assert names == expected
    assert m.weight_ih_l1.shape == (64, 32) and m.weight_hh_l0_reverse.shape == (64, 16)
    bound = 1 / math.sqrt(16)
    allp = np.concatenate([p.array.ravel() for p in m.parameters()])
    assert np.abs(allp).max() <= bound
    assert abs(allp.std() - bound / math.sqrt(3)) < 0.02  # U(−b, b) has std b/√3
    gru = GRU(3, 5, bias=False)
    assert list(gru.state_dict()) == ["weight_ih_l0", "weight_hh_l0"]
    assert gru.weight_ih_l0.shape == (15, 3)
    cell = LSTMCell(3, 5)
    assert list(cell.state_dict()) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_batch_first_and_unbatched_layouts(cls: type, rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    m = cls(3, 4, num_layers=2, bidirectional=True)
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    out, state = m(cr.tensor(x))
    m.batch_first = True
    out_bf, state_bf = m(cr.tensor(x.transpose(1, 0, 2)))
    np.testing.assert_allclose(out_bf.array.transpose(1, 0, 2), out.array, atol=1e-6)
    out_u, state_u = m(cr.tensor(x[:, 0]))  # unbatched (T, in): batch_first does not apply
    np.testing.assert_allclose(out_u.array, out.array[:, 0], atol=1e-6)
    h = state[0] if cls is LSTM else state
    h_u = state_u[0] if cls is LSTM else state_u
    assert h.shape == (4, 2, 4) and h_u.shape == (4, 4)
    np.testing.assert_allclose(h_u.array, h.array[:, 0], atol=1e-6)


def test_final_states_are_last_outputs(rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    m = LSTM(3, 4, bidirectional=True)
    out, (h, c) = m(cr.tensor(rng.standard_normal((6, 2, 3)).astype(np.float32)))
    np.testing.assert_array_equal(h.array[0], out.array[-1, :, :4])   # forward: last step
    np.testing.assert_array_equal(h.array[1], out.array[0, :, 4:])    # reverse: first step


def test_initial_state_and_cell_consistency(rng: np.random.Generator) -> None:
    """Stepping a cell with the layer's weights reproduces the layer, from a given state."""
    cr.manual_seed(0)
    for layer_cls, cell_cls in ((LSTM, LSTMCell), (GRU, GRUCell), (RNN, RNNCell)):
        layer = layer_cls(3, 4)
        cell = cell_cls(3, 4)
        cell.load_state_dict({k.replace("_l0", ""): v for k, v in layer.state_dict().items()})
        x = cr.tensor(rng.standard_normal((5, 2, 3)).astype(np.float32))
        h0 = cr.tensor(rng.standard_normal((1, 2, 4)).astype(np.float32))
        state = (h0, h0 * 0.5) if layer_cls is LSTM else h0
        out, _ = layer(x, state)
        s = (h0[0], h0[0] * 0.5) if layer_cls is LSTM else h0[0]
        for t in range(5):
            s = cell(x[t], s)
            h = s[0] if layer_cls is LSTM else s
            np.testing.assert_allclose(h.array, out.array[t], atol=1e-6)


def test_dropout_between_layers_only_in_training(rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    m = GRU(3, 8, num_layers=2, dropout=0.5)
    x = cr.tensor(rng.standard_normal((4, 2, 3)).astype(np.float32))
    a, b = m(x)[0].array, m(x)[0].array
    assert not np.allclose(a, b)
    m.eval()
    np.testing.assert_array_equal(m(x)[0].array, m(x)[0].array)
    one = GRU(3, 8, num_layers=1, dropout=0.5)  # dropout after the last layer never applies
    np.testing.assert_array_equal(one(x)[0].array, one(x)[0].array)


def test_bad_input_raises() -> None:
    m = LSTM(3, 4)
    with pytest.raises(ValueError, match="input_size"):
        m(cr.zeros(5, 2, 7))
    with pytest.raises(RuntimeError, match="hx"):
        m(cr.zeros(5, 2, 3), (cr.zeros(2, 2, 4), cr.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        GRU(3, 0)


@pytest.mark.parametrize("cls", [RNN, GRU, LSTM])
@pytest.mark.parametrize("kw,shape", [({}, (0, 2, 3)), ({"batch_first": True}, (2, 0, 3)),
                                      ({}, (0, 3)), ({"bidirectional": True}, (0, 2, 3))])
def test_empty_sequence_raises_naming_the_module_and_shape(cls: type, kw: dict,
                                                           shape: tuple) -> None:
    """T = 0 is refused, as torch refuses it (RuntimeError), not left to fail in the loop."""
    with pytest.raises(RuntimeError, match=rf"{cls.__name__}: expected sequence length to be "
                                           rf"larger than 0, got input of shape "
                                           rf"{re.escape(str(shape))}"):
        cls(3, 4, **kw)(cr.zeros(*shape))


@pytest.mark.parametrize("cls", [RNN, GRU, LSTM])
def test_empty_batch_runs(cls: type) -> None:
    """B = 0 is fine, as in torch: an empty output."""
    out = cls(3, 4, batch_first=True)(cr.zeros(0, 5, 3))[0]
    assert tuple(out.shape) == (0, 5, 4)


def test_lstm_learns_to_remember_first_token(rng: np.random.Generator) -> None:
    """A tiny end-to-end check: an LSTM recalls the sign of the first input after 8 steps."""
    import chainrule.optim  # noqa: F401

    cr.manual_seed(0)
    lstm, head = LSTM(1, 8, batch_first=True), cr.nn.Linear(8, 1)
    params = [*lstm.parameters(), *head.parameters()]
    opt = cr.optim.Adam(params, lr=0.03)
    x = rng.standard_normal((64, 8, 1)).astype(np.float32)
    y = (x[:, 0, 0] > 0).astype(np.float32)
    xt, yt = cr.tensor(x), cr.tensor(y)
    for _ in range(60):
        opt.zero_grad()
        _, (h, _) = lstm(xt)
        logits = head(h[-1])[:, 0]
        loss = (logits.softplus() - logits * yt).mean()  # BCE with logits
        loss.backward()
        opt.step()
    assert loss.item() < 0.2


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_recurrent_layers_take_pytorchs_factory_keywords(cls: str) -> None:
    layer = getattr(cr.nn, cls)(3, 4, dtype=cr.float64, device="cpu")
    assert {p.dtype for p in layer.parameters()} == {cr.float64}
    assert {p.dtype for p in getattr(cr.nn, cls)(3, 4).parameters()} == {cr.float32}
    with pytest.raises(RuntimeError, match=f"{cls}: .*device 'cuda'"):
        getattr(cr.nn, cls)(3, 4, device="cuda")

"""Parity with PyTorch for ``nn.utils.rnn`` and the recurrent layers on packed batches: with
identical weights, the packed data, the unpacked outputs, h_n (and c_n) and the gradients of
the inputs, the initial states and every parameter agree (float64)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.utils import rnn as R

torch = pytest.importorskip("torch")
TR = torch.nn.utils.rnn

ATOL = 1e-12


def _close(a: cr.Tensor, b: object) -> None:
    np.testing.assert_allclose(a.data, b.detach().numpy(), atol=ATOL, rtol=1e-9)  # type: ignore


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_and_pad(batch_first: bool, enforce_sorted: bool) -> None:
    rng = np.random.default_rng(0)
    lengths = [5, 4, 2, 1] if enforce_sorted else [2, 5, 1, 4]
    x = rng.standard_normal((4, 5, 3) if batch_first else (5, 4, 3))
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    p = R.pack_padded_sequence(cx, lengths, batch_first, enforce_sorted)
    tp = TR.pack_padded_sequence(tx, torch.tensor(lengths), batch_first, enforce_sorted)
    _close(p.data, tp.data)
    assert p.batch_sizes.tolist() == tp.batch_sizes.tolist()
    if not enforce_sorted:
        assert p.sorted_indices.tolist() == tp.sorted_indices.tolist()
        assert p.unsorted_indices.tolist() == tp.unsorted_indices.tolist()
    y, lens = R.pad_packed_sequence(p, batch_first, padding_value=-2.0, total_length=7)
    ty, tlens = TR.pad_packed_sequence(tp, batch_first, padding_value=-2.0, total_length=7)
    _close(y, ty)
    assert lens.tolist() == tlens.tolist()
    g = rng.standard_normal(tuple(ty.shape))
    (y * cr.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    _close(cx.grad, tx.grad)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence(batch_first: bool, side: str) -> None:
    rng = np.random.default_rng(1)
    seqs = [rng.standard_normal((n, 2, 2)) for n in (3, 5, 1)]
    got = R.pad_sequence([cr.tensor(s) for s in seqs], batch_first, 0.5, side)
    _close(got, TR.pad_sequence([torch.tensor(s) for s in seqs], batch_first, 0.5, side))
    packed = R.pack_sequence([cr.tensor(s) for s in seqs], enforce_sorted=False)
    _close(packed.data, TR.pack_sequence([torch.tensor(s) for s in seqs], False).data)


@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("kwargs", [{}, {"num_layers": 2, "bidirectional": True},
                                    {"batch_first": True, "bidirectional": True,
                                     "nonlinearity": "relu"}])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_recurrent_layers_on_packed_batches(cls: str, kwargs: dict,
                                            enforce_sorted: bool) -> None:
    if "nonlinearity" in kwargs and cls != "RNN":
        kwargs = {k: v for k, v in kwargs.items() if k != "nonlinearity"}
    rng = np.random.default_rng(2)
    cr.manual_seed(2)
    m = getattr(cr.nn, cls)(3, 4, **kwargs).double()
    tm = getattr(torch.nn, cls)(3, 4, **kwargs).double()
    tm.load_state_dict({k: torch.from_numpy(np.array(v.data)) for k, v in
                        m.state_dict().items()})
    batch_first = kwargs.get("batch_first", False)
    lengths = [5, 4, 2, 1] if enforce_sorted else [2, 5, 1, 4]
    x = rng.standard_normal((4, 5, 3) if batch_first else (5, 4, 3))
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    states = [rng.standard_normal((layers, 4, 4)) for _ in range(2 if cls == "LSTM" else 1)]
    cin = [cr.tensor(a, requires_grad=True) for a in [x, *states]]
    tin = [torch.tensor(a, requires_grad=True) for a in [x, *states]]
    p = R.pack_padded_sequence(cin[0], lengths, batch_first, enforce_sorted)
    tp = TR.pack_padded_sequence(tin[0], torch.tensor(lengths), batch_first, enforce_sorted)
    hx = tuple(cin[1:]) if cls == "LSTM" else cin[1]
    thx = tuple(tin[1:]) if cls == "LSTM" else tin[1]
    out, state = m(p, hx)
    tout, tstate = tm(tp, thx)
    assert isinstance(out, R.PackedSequence)
    _close(out.data, tout.data)
    assert out.batch_sizes.tolist() == tout.batch_sizes.tolist()
    y, _ = R.pad_packed_sequence(out, batch_first)
    ty, _ = TR.pad_packed_sequence(tout, batch_first)
    ours = [y, *(state if cls == "LSTM" else (state,))]
    theirs = [ty, *(tstate if cls == "LSTM" else (tstate,))]
    cots = [rng.standard_normal(tuple(t.shape)) for t in theirs]
    for a, b in zip(ours, theirs):
        _close(a, b)
    sum((a * cr.tensor(g)).sum() for a, g in zip(ours, cots)).backward()
    sum((b * torch.tensor(g)).sum() for b, g in zip(theirs, cots)).backward()
    for a, b in zip(cin, tin):
        _close(a.grad, b.grad)
    tp_ = dict(tm.named_parameters())
    for name, param in m.named_parameters():
        _close(param.grad, tp_[name].grad)

"""``cr.autocast``: PyTorch's CPU op lists, nesting, the decorator form, gradients in each
parameter's own dtype."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

pytest.importorskip("ml_dtypes")


def test_products_and_convolutions_run_in_bfloat16() -> None:
    x, w = cr.randn(2, 3), cr.randn(4, 3)
    img, k = cr.randn(1, 2, 5, 5), cr.randn(3, 2, 3, 3)
    with cr.autocast("cpu", dtype=cr.bfloat16):
        outs = [F.linear(x, w), x @ w.T, cr.bmm(x[None], w.T[None]), cr.einsum("ij,kj->ik", x, w),
                F.conv2d(img, k), F.conv1d(img[:, :, 0], k[:, :, 0]),
                F.conv_transpose2d(img, k.transpose(0, 1)),
                F.conv_transpose2d(img, cr.randn(2, 1, 3, 3), groups=2)]
    assert [o.dtype for o in outs] == [cr.bfloat16] * len(outs)


def test_losses_and_prod_run_in_float32_and_other_ops_keep_their_dtype() -> None:
    x = cr.randn(3, 4).bfloat16()
    with cr.autocast("cpu"):
        assert F.mse_loss(x, x * 0.5).dtype == cr.float32
        assert F.cross_entropy(x, cr.tensor([0, 1, 2])).dtype == cr.float32
        assert x.prod().dtype == cr.float32
        for out in [F.softmax(x, -1), F.layer_norm(x, (4,)), x.sum(), x.exp(), F.gelu(x)]:
            assert out.dtype == cr.bfloat16
        assert (x + cr.randn(3, 4)).dtype == cr.float32  # promotes to the widest input


def test_nesting_and_disabling_restore_the_outer_state() -> None:
    x, w = cr.randn(2, 3), cr.randn(4, 3)
    assert not cr.is_autocast_enabled("cpu")
    with cr.autocast("cpu"):
        with cr.autocast("cpu", enabled=False):
            assert F.linear(x, w).dtype == cr.float32
            assert not cr.is_autocast_enabled()
        assert F.linear(x, w).dtype == cr.bfloat16
        with cr.amp.autocast("cpu", dtype=cr.float16):
            assert F.linear(x, w).dtype == cr.float16
            assert cr.get_autocast_dtype("cpu") == cr.float16
        assert cr.get_autocast_dtype("cpu") == cr.bfloat16
    assert F.linear(x, w).dtype == cr.float32


def test_an_exception_inside_the_region_still_restores_the_state() -> None:
    with pytest.raises(ValueError), cr.autocast("cpu"):
        raise ValueError("boom")
    assert not cr.is_autocast_enabled()


def test_decorator_form() -> None:
    @cr.autocast("cpu")
    def forward(x: cr.Tensor, w: cr.Tensor) -> cr.Tensor:
        return F.linear(x, w)

    assert forward(cr.randn(2, 3), cr.randn(4, 3)).dtype == cr.bfloat16
    assert not cr.is_autocast_enabled()


def test_cpu_amp_autocast_is_the_deprecated_spelling() -> None:
    with pytest.warns(FutureWarning, match="cpu.amp.autocast"), cr.cpu.amp.autocast():
        assert F.linear(cr.randn(2, 3), cr.randn(4, 3)).dtype == cr.bfloat16


def test_bad_device_and_dtype() -> None:
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'gpu'"):
        cr.autocast("gpu")
    with pytest.warns(UserWarning, match="device_type of 'cuda', but cuda is not available"):
        ctx = cr.autocast("cuda", dtype=cr.bfloat16)
    with ctx:  # disabled, as PyTorch on a machine without CUDA
        assert F.linear(cr.randn(2, 3), cr.randn(4, 3)).dtype == cr.float32
    with pytest.warns(UserWarning, match="target dtype is not supported"):
        ctx = cr.autocast("cpu", dtype=cr.float64)
    with warnings.catch_warnings(), ctx:
        assert F.linear(cr.randn(2, 3), cr.randn(4, 3)).dtype == cr.float32


def test_gradients_flow_back_in_each_parameters_own_dtype() -> None:
    cr.manual_seed(0)
    net = cr.nn.Sequential(cr.nn.Linear(5, 6), cr.nn.Tanh(), cr.nn.Linear(6, 3))
    net[2].double()
    with cr.autocast("cpu"):
        out = net(cr.randn(4, 5))
        loss = F.cross_entropy(out, cr.tensor([0, 1, 2, 0]))
    assert out.dtype == cr.bfloat16 and loss.dtype == cr.float32
    loss.backward()
    assert [p.grad.dtype for p in net.parameters()] == [cr.float32] * 2 + [cr.float64] * 2


def test_matches_torch_autocast_on_a_small_network() -> None:
    torch = pytest.importorskip("torch")
    cr.manual_seed(1)
    net = cr.nn.Sequential(cr.nn.Linear(8, 16), cr.nn.GELU(), cr.nn.Linear(16, 4))
    tnet = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.GELU(), torch.nn.Linear(16, 4))
    with torch.no_grad():
        for p, q in zip(net.parameters(), tnet.parameters()):
            q.copy_(torch.from_numpy(p.detach().numpy()))
    x = np.random.default_rng(0).standard_normal((10, 8)).astype(np.float32)
    y = np.arange(10) % 4
    with cr.autocast("cpu", dtype=cr.bfloat16):
        out = net(cr.tensor(x))
        loss = F.cross_entropy(out, cr.tensor(y))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        tout = tnet(torch.from_numpy(x))
        tloss = torch.nn.functional.cross_entropy(tout, torch.from_numpy(y))
    assert str(tout.dtype) == "torch.bfloat16" and out.dtype == cr.bfloat16
    loss.backward()
    tloss.backward()
    # GELU's bfloat16 kernel rounds differently inside; allow a few bfloat16 ulps
    np.testing.assert_allclose(out.float().detach().numpy(), tout.float().detach().numpy(),
                               rtol=3e-2, atol=3e-2)
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-2)
    for p, q in zip(net.parameters(), tnet.parameters()):
        assert p.grad.dtype == cr.float32
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=5e-2, atol=5e-3)


@pytest.mark.parametrize("fused", [True, False])
def test_recurrent_layers_take_pytorchs_autocast_dtypes(fused: bool) -> None:
    # PyTorch on the CPU: the LSTM layer (mkldnn_rnn_layer) is on the low-precision list, GRU
    # and LSTMCell on none (float32 in, float32 out), RNN runs through linear (low precision)
    cr.manual_seed(0)
    x = cr.randn(5, 2, 8)
    lstm = cr.nn.LSTM(8, 16)
    lstm.fused = fused
    with cr.autocast("cpu", dtype=cr.bfloat16):
        out, (h, c) = lstm(x)
        cell_h, cell_c = cr.nn.LSTMCell(8, 16)(x[0])
        gru_out, _ = cr.nn.GRU(8, 16)(x)
        rnn_out, _ = cr.nn.RNN(8, 16)(x)
    assert (out.dtype, h.dtype, c.dtype) == (cr.bfloat16,) * 3
    assert (cell_h.dtype, cell_c.dtype, gru_out.dtype) == (cr.float32,) * 3
    assert rnn_out.dtype == cr.bfloat16
    out.float().sum().backward()
    assert [p.grad.dtype for p in lstm.parameters()] == [cr.float32] * 4


def test_lstm_matches_torch_autocast() -> None:
    torch = pytest.importorskip("torch")
    tnet = torch.nn.LSTM(8, 16, num_layers=2, bidirectional=True)
    net = cr.nn.LSTM(8, 16, num_layers=2, bidirectional=True)
    net.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tnet.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3, 8)).astype(np.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        tout, (th, tc) = tnet(torch.from_numpy(x))
    with cr.autocast("cpu", dtype=cr.bfloat16):
        out, (h, c) = net(cr.tensor(x))
    assert str(tout.dtype) == "torch.bfloat16" and out.dtype == cr.bfloat16
    for mine, theirs in [(out, tout), (h, th), (c, tc)]:
        np.testing.assert_allclose(mine.float().detach().numpy(), theirs.float().detach().numpy(),
                                   rtol=2e-2, atol=1e-2)
    out.float().square().sum().backward()
    tout.float().square().sum().backward()
    for p, q in zip(net.parameters(), tnet.parameters()):
        assert p.grad.dtype == cr.float32
        scale = float(q.grad.abs().max())
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=5e-2 * scale)

"""nn.Transformer (encoder–decoder): PyTorch's state_dict keys, outputs and gradients with the
same weights, masks, batch_first and norm_first; Glorot init of matrices; shape errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor:UserWarning")  # torch's

KW = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16,
          dropout=0.0)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_outputs_and_gradients_match_pytorch(batch_first: bool, norm_first: bool) -> None:
    torch = pytest.importorskip("torch")
    cr.manual_seed(0)
    ours = cr.nn.Transformer(**KW, batch_first=batch_first, norm_first=norm_first).double()
    theirs = torch.nn.Transformer(**KW, batch_first=batch_first, norm_first=norm_first).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(0)
    S, T, N = 5, 4, 3
    src = rng.standard_normal((N, S, 8) if batch_first else (S, N, 8))
    tgt = rng.standard_normal((N, T, 8) if batch_first else (T, N, 8))
    pad = np.zeros((N, S), bool)
    pad[0, -2:] = True  # the last two source positions of sample 0 are padding
    causal = ours.generate_square_subsequent_mask(T, dtype=cr.float64)
    np.testing.assert_array_equal(causal.numpy(), torch.nn.Transformer
                                  .generate_square_subsequent_mask(T, dtype=torch.float64))
    s_c, t_c = cr.tensor(src, requires_grad=True), cr.tensor(tgt, requires_grad=True)
    s_t, t_t = torch.tensor(src, requires_grad=True), torch.tensor(tgt, requires_grad=True)
    out_c = ours(s_c, t_c, tgt_mask=causal, src_key_padding_mask=cr.tensor(pad),
                 memory_key_padding_mask=cr.tensor(pad))
    out_t = theirs(s_t, t_t, tgt_mask=torch.from_numpy(causal.numpy()),
                   src_key_padding_mask=torch.tensor(pad),
                   memory_key_padding_mask=torch.tensor(pad))
    np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(), rtol=1e-9,
                               atol=1e-10)
    g = rng.standard_normal(out_t.shape)
    out_c.backward(cr.tensor(g))
    out_t.backward(torch.tensor(g))
    np.testing.assert_allclose(s_c.grad.numpy(), s_t.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(t_c.grad.numpy(), t_t.grad.numpy(), rtol=1e-8, atol=1e-10)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-7, atol=1e-9,
                                   err_msg=name)


def test_matrices_start_glorot_uniform_and_layers_differ() -> None:
    m = cr.nn.Transformer(d_model=16, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                          dim_feedforward=32)
    w = m.encoder.layers[0].linear1.weight.detach().numpy()  # (32, 16)
    bound = np.sqrt(6 / (16 + 32))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    other = m.encoder.layers[1].linear1.weight.detach().numpy()
    assert not np.array_equal(w, other)
    assert m.encoder.norm is not None and m.decoder.norm is not None


def test_shape_errors_name_the_model() -> None:
    m = cr.nn.Transformer(**KW)
    with pytest.raises(RuntimeError, match="batch number of src and tgt"):
        m(cr.randn(5, 3, 8), cr.randn(4, 2, 8))
    with pytest.raises(RuntimeError, match=r"equal to d_model \(8\)"):
        m(cr.randn(5, 3, 8), cr.randn(4, 3, 6))

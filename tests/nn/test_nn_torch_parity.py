"""Parity with PyTorch: every layer (torch's weights loaded through ``load_state_dict``) and every
loss give the same outputs and the same gradients for inputs and parameters (float64)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
R = np.random.default_rng(0)


def _away(shape):
    x = R.standard_normal(shape)
    return np.where(x >= 0, x + 0.1, x - 0.1)


LAYERS = [
    ("Linear", (4, 3), {}, [(5, 4)]),
    ("Linear", (4, 3), {"bias": False}, [(2, 5, 4)]),
    ("Bilinear", (3, 2, 4), {}, [(5, 3), (5, 2)]),
    ("Identity", (), {}, [(2, 3)]),
    ("Flatten", (), {}, [(2, 3, 4)]),
    ("Flatten", (0, 1), {}, [(2, 3, 4)]),
    ("Unflatten", (1, (2, 3)), {}, [(4, 6)]),
    ("LayerNorm", ((2, 3),), {}, [(4, 2, 3)]),
    ("LayerNorm", (3,), {"elementwise_affine": False}, [(4, 3)]),
    ("LayerNorm", (0,), {}, [(2, 0)]),                 # nothing to normalise: an empty output
    ("LayerNorm", ((3, 0),), {}, [(2, 3, 0)]),
    ("LayerNorm", (0,), {"elementwise_affine": False}, [(2, 0)]),
    ("LayerNorm", (3,), {}, [(0, 3)]),                 # an empty batch: zero weight gradients
    ("RMSNorm", (5,), {}, [(3, 5)]),
    ("RMSNorm", (5,), {"eps": 1e-3}, [(2, 3, 5)]),
    ("BatchNorm1d", (3,), {}, [(6, 3)]),
    ("BatchNorm1d", (3,), {"momentum": None}, [(4, 3, 5)]),
    ("BatchNorm1d", (3,), {"affine": False, "track_running_stats": False}, [(6, 3)]),
    ("BatchNorm2d", (2,), {}, [(3, 2, 3, 3)]),
    ("ReLU", (), {}, [(3, 4)]),
    ("ReLU6", (), {}, [(3, 4)]),
    ("LeakyReLU", (0.2,), {}, [(3, 4)]),
    ("ELU", (0.5,), {}, [(3, 4)]),
    ("Sigmoid", (), {}, [(3, 4)]),
    ("LogSigmoid", (), {}, [(3, 4)]),
    ("Tanh", (), {}, [(3, 4)]),
    ("Hardtanh", (-0.5, 0.8), {}, [(3, 4)]),
    ("GELU", (), {}, [(3, 4)]),
    ("GELU", (), {"approximate": "tanh"}, [(3, 4)]),
    ("SiLU", (), {}, [(3, 4)]),
    ("Mish", (), {}, [(3, 4)]),
    ("Softplus", (2.0, 3.0), {}, [(3, 4)]),
    ("Softsign", (), {}, [(3, 4)]),
    ("Softmax", (1,), {}, [(3, 4)]),
    ("LogSoftmax", (0,), {}, [(3, 4)]),
    ("Softmax", (1,), {}, [(3, 0)]),
    ("LogSoftmax", (-1,), {}, [(3, 0)]),
    ("GLU", (1,), {}, [(3, 4)]),
]


def _pair(name, args, kwargs):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    ours = getattr(nn, name)(*args, **kwargs).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _compare(ours, theirs, shapes, train: bool = True, atol: float = 1e-12) -> None:
    ours.train(train)
    theirs.train(train)
    arrays = [_away(s) for s in shapes]
    xo = [cr.tensor(a, requires_grad=True) for a in arrays]
    xt = [torch.tensor(a, requires_grad=True) for a in arrays]
    yo, yt = ours(*xo), theirs(*xt)
    np.testing.assert_allclose(yo.array, yt.detach().numpy(), rtol=1e-10, atol=atol)
    g = R.standard_normal(yo.shape)
    yo.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    for a, b in zip(xo, xt):
        np.testing.assert_allclose(a.grad.array, b.grad.numpy(), rtol=1e-9, atol=atol)
    tp = dict(theirs.named_parameters())
    assert set(dict(ours.named_parameters())) == set(tp)
    for k, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.array, tp[k].grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=k)
    for k, b in theirs.state_dict().items():  # buffers too (running statistics)
        np.testing.assert_allclose(ours.state_dict()[k].array, b.numpy(), rtol=1e-12, err_msg=k)


@pytest.mark.parametrize("name,args,kwargs,shapes", LAYERS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(LAYERS)])
def test_layer_matches_torch(name, args, kwargs, shapes) -> None:
    ours, theirs = _pair(name, args, kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    # NOTE: chainrule's erf is a polynomial approximation (|error| < 1.5e-7), so exact GELU
    # agrees to that; everything else agrees to rounding.
    _compare(ours, theirs, shapes, train=True, atol=3e-7 if kwargs == {} and name == "GELU"
             else 1e-12)
    if name.startswith("BatchNorm"):  # a second training step, then evaluation
        _compare(ours, theirs, shapes, train=True)
        _compare(ours, theirs, shapes, train=False)


def test_embedding_matches_torch() -> None:
    ours, theirs = _pair("Embedding", (7, 3), {"padding_idx": 2})
    idx = R.integers(0, 7, (4, 5))
    idx[0, :2] = 2
    yo, yt = ours(cr.tensor(idx)), theirs(torch.tensor(idx))
    np.testing.assert_allclose(yo.array, yt.detach().numpy())
    g = R.standard_normal(yo.shape)
    yo.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.weight.grad.array, theirs.weight.grad.numpy(), rtol=1e-12)


def test_dropout_eval_matches_torch_and_train_statistics() -> None:
    x = R.standard_normal((100, 100))
    ours, theirs = nn.Dropout(0.3).eval(), torch.nn.Dropout(0.3).eval()
    np.testing.assert_array_equal(ours(cr.tensor(x)).array, theirs(torch.tensor(x)).numpy())
    yo = nn.Dropout(0.3)(cr.tensor(x)).array
    yt = torch.nn.Dropout(0.3)(torch.tensor(x)).numpy()
    assert abs((yo == 0).mean() - (yt == 0).mean()) < 0.03
    np.testing.assert_allclose(yo[yo != 0], x[yo != 0] / 0.7)


# ---- losses -----------------------------------------------------------------------------------
X = R.standard_normal((5, 4, 3))
Y = R.integers(0, 4, (5, 3))
Y[0, 0] = Y[2, 1] = -100
Y1 = np.where(Y == -100, 1, Y)
W = R.uniform(0.3, 2.0, 4)
PR = R.uniform(0.1, 1, (5, 4, 3))
PR /= PR.sum(1, keepdims=True)
A = R.standard_normal((6, 3))
B = R.uniform(0.05, 0.95, (6, 3))
PW = R.uniform(0.2, 3.0, 3)
SIGNS = np.where(R.random((6, 3)) > 0.5, 1.0, -1.0)
YI = R.integers(0, 3, 6)
SIG = 1 / (1 + np.exp(-A))
B0 = B.copy()
B0[0, 0] = 0.0

C = cr.tensor
T = torch.tensor
# name: (our call, torch call, inputs (float64 arrays differentiated in both))
LOSSES = {
    "ce": (lambda x: F.cross_entropy(x, C(Y)), lambda x: TF.cross_entropy(x, T(Y)), [X]),
    "ce-w-ls": (lambda x: F.cross_entropy(x, C(Y), weight=C(W), label_smoothing=0.3),
                lambda x: TF.cross_entropy(x, T(Y), weight=T(W), label_smoothing=0.3), [X]),
    "ce-w-none": (lambda x: F.cross_entropy(x, C(Y), weight=C(W), reduction="none"),
                  lambda x: TF.cross_entropy(x, T(Y), weight=T(W), reduction="none"), [X]),
    "ce-ls-sum-ignore": (
        lambda x: F.cross_entropy(x, C(Y1), label_smoothing=0.2, reduction="sum", ignore_index=1),
        lambda x: TF.cross_entropy(x, T(Y1), label_smoothing=0.2, reduction="sum",
                                   ignore_index=1), [X]),
    "ce-ignore-in-range": (lambda x: F.cross_entropy(x, C(Y1), ignore_index=1),
                           lambda x: TF.cross_entropy(x, T(Y1), ignore_index=1), [X]),
    "ce-2d": (lambda x: F.cross_entropy(x, C(Y[:, 0] % 4)),
              lambda x: TF.cross_entropy(x, T(Y[:, 0] % 4)), [X[:, :, 0]]),
    "ce-soft": (lambda x, p: F.cross_entropy(x, p), lambda x, p: TF.cross_entropy(x, p),
                [X, PR]),
    "ce-soft-w-ls": (lambda x, p: F.cross_entropy(x, p, weight=C(W), label_smoothing=0.1),
                     lambda x, p: TF.cross_entropy(x, p, weight=T(W), label_smoothing=0.1),
                     [X, PR]),
    "ce-soft-none": (lambda x, p: F.cross_entropy(x, p, reduction="none"),
                     lambda x, p: TF.cross_entropy(x, p, reduction="none"), [X, PR]),
    "nll": (lambda x: F.nll_loss(x, C(Y), weight=C(W)),
            lambda x: TF.nll_loss(x, T(Y), weight=T(W)), [X]),
    "nll-none": (lambda x: F.nll_loss(x, C(Y), reduction="none"),
                 lambda x: TF.nll_loss(x, T(Y), reduction="none"), [X]),
    "mse": (lambda a, b: F.mse_loss(a, b), lambda a, b: TF.mse_loss(a, b), [A, B]),
    "mse-sum": (lambda a, b: F.mse_loss(a, b, reduction="sum"),
                lambda a, b: TF.mse_loss(a, b, reduction="sum"), [A, B]),
    "l1": (lambda a, b: F.l1_loss(a, b), lambda a, b: TF.l1_loss(a, b), [A, B]),
    "huber": (lambda a, b: F.huber_loss(a, b, delta=0.7),
              lambda a, b: TF.huber_loss(a, b, delta=0.7), [A, B]),
    "smooth_l1": (lambda a, b: F.smooth_l1_loss(a, b, beta=0.7, reduction="none"),
                  lambda a, b: TF.smooth_l1_loss(a, b, beta=0.7, reduction="none"), [A, B]),
    "bce": (lambda p, y: F.binary_cross_entropy(p, y), lambda p, y: TF.binary_cross_entropy(p, y),
            [SIG, B]),
    "bce-weight-sum": (lambda p, y: F.binary_cross_entropy(p, y, weight=C(PW), reduction="sum"),
                       lambda p, y: TF.binary_cross_entropy(p, y, weight=T(PW), reduction="sum"),
                       [SIG, B]),
    "bce-logits": (lambda x, y: F.binary_cross_entropy_with_logits(x, y),
                   lambda x, y: TF.binary_cross_entropy_with_logits(x, y), [A, B]),
    "bce-logits-pw": (
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, weight=C(PW[::-1].copy()),
                                                        pos_weight=C(PW), reduction="none"),
        lambda x, y: TF.binary_cross_entropy_with_logits(x, y, weight=T(PW[::-1].copy()),
                                                         pos_weight=T(PW), reduction="none"),
        [A, B]),
    "hinge": (lambda x: F.hinge_embedding_loss(x, C(SIGNS), margin=0.5),
              lambda x: TF.hinge_embedding_loss(x, T(SIGNS), margin=0.5), [A]),
    "multi_margin": (lambda x: F.multi_margin_loss(x, C(YI), margin=0.8, reduction="none"),
                     lambda x: TF.multi_margin_loss(x, T(YI), margin=0.8, reduction="none"), [A]),
    "multi_margin-p2-w": (lambda x: F.multi_margin_loss(x, C(YI), p=2, weight=C(PW)),
                          lambda x: TF.multi_margin_loss(x, T(YI), p=2, weight=T(PW)), [A]),
    "kl": (lambda x, y: F.kl_div(x, y, reduction="batchmean"),
           lambda x, y: TF.kl_div(x, y, reduction="batchmean"), [np.log(B), B]),
    "kl-sum": (lambda x: F.kl_div(x, C(B0), reduction="sum"),
               lambda x: TF.kl_div(x, T(B0), reduction="sum"), [np.log(B)]),
    "kl-log_target": (lambda x, y: F.kl_div(x, y, log_target=True, reduction="none"),
                      lambda x, y: TF.kl_div(x, y, log_target=True, reduction="none"),
                      [np.log(B), np.log(B[::-1].copy())]),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_matches_torch(name: str) -> None:
    ours_fn, torch_fn, arrays = LOSSES[name]
    xo = [cr.tensor(a, requires_grad=True) for a in arrays]
    xt = [torch.tensor(a, requires_grad=True) for a in arrays]
    lo, lt = ours_fn(*xo), torch_fn(*xt)
    np.testing.assert_allclose(lo.array, lt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = R.standard_normal(lo.shape)
    lo.backward(cr.tensor(g))
    lt.backward(torch.tensor(g))
    for i, (a, b) in enumerate(zip(xo, xt)):
        np.testing.assert_allclose(a.grad.array, b.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"input {i}")


def test_loss_modules_match_torch_modules() -> None:
    pairs = [(nn.CrossEntropyLoss(weight=C(W), label_smoothing=0.1),
              torch.nn.CrossEntropyLoss(weight=T(W), label_smoothing=0.1), X, Y),
             (nn.BCEWithLogitsLoss(pos_weight=C(PW)),
              torch.nn.BCEWithLogitsLoss(pos_weight=T(PW)), A, B),
             (nn.KLDivLoss(reduction="batchmean"), torch.nn.KLDivLoss(reduction="batchmean"),
              np.log(B), B)]
    for ours, theirs, x, y in pairs:
        assert list(ours.state_dict()) == list(theirs.state_dict())
        np.testing.assert_allclose(ours(C(x), C(y)).item(), theirs(T(x), T(y)).item(),
                                   rtol=1e-10)

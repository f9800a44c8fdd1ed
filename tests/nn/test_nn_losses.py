"""Losses: float64 gradients (inputs and, where differentiable, targets), the fused cross
entropy's stability, PyTorch's reduction rules, and the errors for bad targets."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import gradcheck
from chainrule.nn import functional as F

R = np.random.default_rng(0)


def t(arr, grad: bool = True) -> cr.Tensor:
    return cr.tensor(arr, dtype=np.float64, requires_grad=grad)


def _away(shape, gap: float = 0.1) -> np.ndarray:
    x = R.standard_normal(shape)
    return np.where(x >= 0, x + gap, x - gap)


X = R.standard_normal((4, 5))
X3 = R.standard_normal((3, 4, 2))
Y = np.array([0, 4, 2, -100])
Y3 = np.array([[0, 3], [1, -100], [2, 2]])
P = R.uniform(0.1, 1, (4, 5))
P /= P.sum(1, keepdims=True)
W = R.uniform(0.5, 2, 5)
Z = R.uniform(0.05, 0.95, (4, 3))
T = R.uniform(0, 1, (4, 3))
SIGNS = np.sign(R.standard_normal((4, 5)))
HX = R.choice([-1.2, -0.4, 0.2, 0.5, 1.1], (4, 5)) + R.uniform(-0.05, 0.05, (4, 5))

GRAD_CASES = {
    "ce-index": (lambda x: F.cross_entropy(x, cr.tensor(Y)), [X]),
    "ce-index-weight-smooth-sum": (lambda x: F.cross_entropy(
        x, cr.tensor(Y), weight=cr.tensor(W), label_smoothing=0.2, reduction="sum"), [X]),
    "ce-index-weight-mean": (lambda x: F.cross_entropy(x, cr.tensor(Y), weight=cr.tensor(W)),
                             [X]),
    "ce-index-none-3d": (lambda x: F.cross_entropy(x, cr.tensor(Y3), reduction="none"), [X3]),
    "ce-soft": (lambda x, p: F.cross_entropy(x, p, label_smoothing=0.1), [X, P]),
    "ce-soft-weight-none": (lambda x, p: F.cross_entropy(
        x, p, weight=cr.tensor(W), reduction="none"), [X, P]),
    "ce-unbatched": (lambda x: F.cross_entropy(x, cr.tensor(3)), [X[0]]),
    "nll": (lambda x: F.nll_loss(x, cr.tensor(Y), weight=cr.tensor(W)), [X]),
    "nll-3d-none": (lambda x: F.nll_loss(x, cr.tensor(Y3), reduction="none"), [X3]),
    "mse": (lambda a, b: F.mse_loss(a, b), [X, P]),
    "l1": (lambda a, b: F.l1_loss(a, b, reduction="sum"), [X, X + _away(X.shape)]),
    "huber": (lambda a, b: F.huber_loss(a, b, delta=0.5), [X, X + _away(X.shape) * 0.8]),
    "smooth_l1": (lambda a, b: F.smooth_l1_loss(a, b, beta=0.5), [X, X + _away(X.shape) * 0.8]),
    "bce": (lambda p, y: F.binary_cross_entropy(p, y, weight=cr.tensor(W[:3])), [Z, T]),
    "bce-logits": (lambda x, y: F.binary_cross_entropy_with_logits(x, y), [X[:, :3], T]),
    "bce-logits-pos-weight": (lambda x, y: F.binary_cross_entropy_with_logits(
        x, y, pos_weight=cr.tensor(W[:3]), reduction="none"), [X[:, :3], T]),
    "hinge": (lambda x: F.hinge_embedding_loss(x, cr.tensor(SIGNS), margin=0.7), [HX]),
    "multi_margin-p1": (lambda x: F.multi_margin_loss(x, cr.tensor(Y[:3]), margin=0.9),
                        [X[:3] * 0.1]),
    "multi_margin-p2-weight": (lambda x: F.multi_margin_loss(
        x, cr.tensor(Y[:3]), p=2, weight=cr.tensor(W)), [X[:3]]),
    "kl_div": (lambda x, y: F.kl_div(x, y, reduction="batchmean"), [np.log(P), P[::-1].copy()]),
    "kl_div-log_target": (lambda x, y: F.kl_div(x, y, log_target=True),
                          [np.log(P), np.log(P[::-1].copy())]),
}


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_loss_gradients(name: str) -> None:
    fn, arrays = GRAD_CASES[name]
    assert gradcheck(fn, [t(a) for a in arrays])


@pytest.mark.parametrize("cls,args,kwargs", [
    (nn.MSELoss, (X, P), {}), (nn.L1Loss, (X, P), {"reduction": "sum"}),
    (nn.HuberLoss, (X, P), {"delta": 0.5}), (nn.SmoothL1Loss, (X, P), {"beta": 2.0}),
    (nn.CrossEntropyLoss, (X, Y), {"label_smoothing": 0.1}), (nn.NLLLoss, (X, Y), {}),
    (nn.BCELoss, (Z, T), {}), (nn.BCEWithLogitsLoss, (X[:, :3], T), {}),
    (nn.HingeEmbeddingLoss, (X, np.sign(X)), {}), (nn.MultiMarginLoss, (X, Y[:4] % 5), {}),
    (nn.KLDivLoss, (np.log(P), P), {"reduction": "batchmean"}),
])
def test_loss_modules_match_functional(cls, args, kwargs) -> None:
    name = {nn.MSELoss: "mse_loss", nn.L1Loss: "l1_loss", nn.HuberLoss: "huber_loss",
            nn.SmoothL1Loss: "smooth_l1_loss", nn.CrossEntropyLoss: "cross_entropy",
            nn.NLLLoss: "nll_loss", nn.BCELoss: "binary_cross_entropy",
            nn.BCEWithLogitsLoss: "binary_cross_entropy_with_logits",
            nn.HingeEmbeddingLoss: "hinge_embedding_loss",
            nn.MultiMarginLoss: "multi_margin_loss", nn.KLDivLoss: "kl_div"}[cls]
    x = cr.tensor(args[0])
    y = cr.tensor(args[1])
    got = cls(**kwargs)(x, y)
    np.testing.assert_allclose(got.array, getattr(F, name)(x, y, **kwargs).array)


# ---- the fused cross entropy ------------------------------------------------------------------
def test_cross_entropy_is_one_fused_node() -> None:
    x = t(X)
    loss = F.cross_entropy(x, cr.tensor(Y), reduction="none")
    assert loss.grad_fn.name == "cross_entropy"


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_cross_entropy_finite_for_huge_logits(scale: float) -> None:
    logits = np.array([[scale, 0.0, -scale], [0.0, scale, 1.0]])
    x = cr.tensor(logits, requires_grad=True)  # float32
    loss = F.cross_entropy(x, cr.tensor([0, 2]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(x.grad.array).all()
    top = logits.max(1, keepdims=True)
    logp = logits - top - np.log(np.exp(logits - top).sum(1, keepdims=True))
    assert loss.item() == pytest.approx(-(logp[0, 0] + logp[1, 2]) / 2, rel=1e-6)
    onehot = np.array([[1.0, 0, 0], [0, 0, 1.0]])
    np.testing.assert_allclose(x.grad.array, (np.exp(logp) - onehot) / 2, atol=1e-7)


def test_cross_entropy_with_masked_minus_inf_logits() -> None:
    x = cr.tensor([[2.0, -np.inf, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, cr.tensor([0]))
    loss.backward()
    assert loss.item() == pytest.approx(np.log1p(np.exp(-2.0)), rel=1e-6)
    np.testing.assert_allclose(x.grad.array, [[-1 / (1 + np.e**2), 0.0, 1 / (1 + np.e**2)]],
                               rtol=1e-6)


def test_cross_entropy_backward_is_softmax_minus_target() -> None:
    x = t(X)
    p = t(P)
    g = R.standard_normal(4)
    F.cross_entropy(x, p, reduction="none").backward(cr.tensor(g))
    sm = np.exp(X - X.max(1, keepdims=True))
    sm /= sm.sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad.array, (sm - P) * g[:, None], rtol=1e-12, atol=1e-15)
    logsm = X - np.log(np.exp(X).sum(1, keepdims=True))
    np.testing.assert_allclose(p.grad.array, -logsm * g[:, None], rtol=1e-12)


def test_cross_entropy_second_derivative() -> None:
    assert cr.autograd.gradgradcheck(lambda x, p: F.cross_entropy(x, p), [t(X[:2]), t(P[:2])])


def test_cross_entropy_weighted_mean_divides_by_weight_of_counted_targets() -> None:
    x, y = cr.tensor(X), cr.tensor(Y)
    per = F.cross_entropy(x, y, weight=cr.tensor(W), reduction="none").array
    kept = Y != -100
    assert per[~kept] == 0
    mean = F.cross_entropy(x, y, weight=cr.tensor(W)).item()
    assert mean == pytest.approx(per.sum() / W[Y[kept]].sum())


def test_cross_entropy_all_ignored_is_nan_like_pytorch() -> None:
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = F.cross_entropy(cr.tensor(X), cr.tensor([-100] * 4))
    assert np.isnan(loss.item())


# ---- errors -----------------------------------------------------------------------------------
def test_class_index_out_of_range_names_the_values() -> None:
    with pytest.raises(IndexError, match=r"\[5, 7\].*5 classes"):
        F.cross_entropy(cr.tensor(X), cr.tensor([0, 5, 7, 1]))
    with pytest.raises(IndexError, match=r"\[-1\]"):
        F.nll_loss(cr.tensor(X), cr.tensor([0, -1, 1, 1]))
    with pytest.raises(IndexError, match=r"\[9\]"):
        F.multi_margin_loss(cr.tensor(X), cr.tensor([0, 9, 1, 1]))


def test_wrong_target_shapes_are_errors() -> None:
    with pytest.raises(ValueError, match=r"expected target of shape \(4,\).*got \(4, 1\)"):
        F.cross_entropy(cr.tensor(X), cr.tensor(Y[:, None]))
    with pytest.raises(ValueError, match=r"\(4, 4\).*\(4, 5\)"):
        F.cross_entropy(cr.tensor(X), cr.tensor(P[:, :4]))
    with pytest.raises(ValueError, match=r"target size \(4, 1\).*input size \(4, 3\)"):
        F.binary_cross_entropy_with_logits(cr.tensor(Z), cr.tensor(T[:, :1]))
    with pytest.warns(UserWarning, match=r"target size \(4, 1\)"):
        F.mse_loss(cr.tensor(Z), cr.tensor(T[:, :1]))
    with pytest.raises(TypeError, match="int64 class indices"):
        F.cross_entropy(cr.tensor(X), cr.tensor([True, False, True, True]))
    with pytest.raises(ValueError, match=r"weight must have shape \(5,\)"):
        F.cross_entropy(cr.tensor(X), cr.tensor(Y), weight=cr.ones(3))


def test_bad_options_are_errors() -> None:
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        F.mse_loss(cr.tensor(Z), cr.tensor(T), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(cr.tensor(X), cr.tensor(Y), label_smoothing=1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(cr.tensor(X[:, :3]), cr.tensor(T))
    with pytest.raises(ValueError, match="p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)


def test_bce_clamps_logs_at_minus_100() -> None:
    loss = F.binary_cross_entropy(cr.tensor([0.0, 1.0]), cr.tensor([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(loss.array, [100.0, 100.0])


def test_bce_with_logits_is_stable() -> None:
    x = cr.tensor([-1e4, 1e4, 0.0], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, cr.tensor([1.0, 0.0, 1.0]), reduction="none")
    np.testing.assert_allclose(loss.array, [1e4, 1e4, np.log(2)], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.array, [-1.0, 1.0, -0.5])


def test_cross_entropy_second_backward_and_forward_mode() -> None:
    from chainrule.func import jvp

    x, y = t(X), cr.tensor(Y)
    loss = F.cross_entropy(x, y, label_smoothing=0.1)
    loss.backward(retain_graph=True)  # array path, reusing the forward's softmax
    first = x.grad.array.copy()
    loss.backward()  # Tensor-op path
    np.testing.assert_allclose(x.grad.array, 2 * first, rtol=1e-12)
    u = R.standard_normal(X.shape)

    def f(z: cr.Tensor) -> cr.Tensor:
        return F.cross_entropy(z, y, label_smoothing=0.1)

    _, tangent = jvp(f, (t(X, grad=False),), (cr.tensor(u),))
    assert tangent.item() == pytest.approx((first * u).sum(), rel=1e-10)

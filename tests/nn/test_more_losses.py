"""Margin, embedding and likelihood losses (margin_ranking, cosine_embedding, triplet_margin,
soft_margin, multilabel_soft_margin, gaussian_nll, poisson_nll) and their modules: outputs and
input gradients equal PyTorch's for every reduction in float32 and float64; float64 gradcheck
away from the kinks; modules equal the functional forms and PyTorch's reprs / state_dict keys;
and errors for bad shapes and arguments."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
R = np.random.default_rng(7)

TOL = {"float32": (2e-5, 2e-6), "float64": (1e-10, 1e-12)}
REDUCTIONS = ["none", "mean", "sum"]


def _signs(shape) -> np.ndarray:
    return np.where(R.standard_normal(shape) >= 0, 1.0, -1.0)


def _gap(x: np.ndarray, at: float, gap: float = 0.1) -> np.ndarray:
    """x with every entry within ``gap`` of ``at`` pushed ``gap`` away from it."""
    near = np.abs(x - at) < gap
    return np.where(near, at + np.where(x >= at, gap, -gap), x)


# ---- data, chosen away from each loss's kinks -------------------------------------------------
A1 = R.standard_normal(6)
DIFF = _gap(_gap(R.standard_normal(6), 0.3), -0.3)  # −y·(x1 − x2) + 0.3 ≠ 0
A2 = A1 - DIFF
Y6 = _signs(6)
M1, M2 = R.standard_normal((3, 4)), R.standard_normal((3, 4))
Y34 = _signs((3, 4))
E1, E2 = R.standard_normal((5, 4)), R.standard_normal((5, 4))
YE = np.array([1.0, -1.0, -1.0, 0.0, 1.0])
TA, TP, TN = (R.standard_normal((5, 4)) for _ in range(3))
TN[1] = TA[1] + 0.05  # a triplet whose negative is close (swap changes the distance)
X45 = R.standard_normal((4, 5)) * 2
Y45 = _signs((4, 5))
MULTI = (R.uniform(size=(4, 5)) > 0.5).astype(float)
W5 = R.uniform(0.5, 2.0, 5)
MU, OBS = R.standard_normal((4, 3)), R.standard_normal((4, 3))
VAR = R.uniform(0.3, 2.0, (4, 3))
LOGRATE = R.standard_normal((4, 3))
RATE = R.uniform(0.2, 3.0, (4, 3))
COUNTS = np.array([[0.0, 1.0, 2.0], [3.0, 0.0, 5.0], [1.0, 4.0, 0.5], [7.0, 2.5, 1.5]])

# name: (function of (F, const, *differentiated, reduction=...), differentiated arrays,
#        gradcheck?)  F is our functional or torch's; const wraps a non-differentiated array
CASES = {
    "margin_ranking": (lambda f, c, a, b, **kw: f.margin_ranking_loss(a, b, c(Y6), margin=0.3,
                                                                      **kw), [A1, A2], True),
    "margin_ranking-2d": (lambda f, c, a, b, **kw: f.margin_ranking_loss(a, b, c(Y34), **kw),
                          [M1, M2], True),
    "margin_ranking-broadcast": (lambda f, c, a, b, **kw: f.margin_ranking_loss(
        a, b, c(Y34[:1]), margin=0.1, **kw), [M1, M2[:1]], True),
    "cosine_embedding": (lambda f, c, a, b, **kw: f.cosine_embedding_loss(a, b, c(YE), **kw),
                         [E1, E2], True),
    "cosine_embedding-margin": (lambda f, c, a, b, **kw: f.cosine_embedding_loss(
        a, b, c(-np.ones(5)), margin=-0.5, **kw), [E1, E2], True),
    "cosine_embedding-1d": (lambda f, c, a, b, **kw: f.cosine_embedding_loss(
        a, b, c(np.array(-1.0)), margin=-0.9, **kw), [E1[0], E2[0]], True),
    "triplet": (lambda f, c, a, p, n, **kw: f.triplet_margin_loss(a, p, n, **kw),
                [TA, TP, TN], True),
    "triplet-swap": (lambda f, c, a, p, n, **kw: f.triplet_margin_loss(
        a, p, n, margin=2.0, swap=True, **kw), [TA, TP, TN], True),
    "triplet-p1": (lambda f, c, a, p, n, **kw: f.triplet_margin_loss(
        a, p, n, margin=1.5, p=1, eps=1e-3, **kw), [TA, TP, TN], True),
    "triplet-p3": (lambda f, c, a, p, n, **kw: f.triplet_margin_loss(
        a, p, n, margin=1.5, p=3, **kw), [TA, TP, TN], True),
    "triplet-1d": (lambda f, c, a, p, n, **kw: f.triplet_margin_loss(a, p, n, margin=3.0, **kw),
                   [TA[0], TP[0], TN[0]], True),
    "soft_margin": (lambda f, c, x, **kw: f.soft_margin_loss(x, c(Y45), **kw), [X45], True),
    "multilabel_soft_margin": (lambda f, c, x, **kw: f.multilabel_soft_margin_loss(
        x, c(MULTI), **kw), [X45], True),
    "multilabel_soft_margin-weight-target": (lambda f, c, x, y, **kw: (
        f.multilabel_soft_margin_loss(x, y, weight=c(W5), **kw)), [X45, MULTI * 0.8], True),
    "multilabel_soft_margin-1d": (lambda f, c, x, **kw: f.multilabel_soft_margin_loss(
        x, c(MULTI[0]), **kw), [X45[0]], True),
    "gaussian_nll": (lambda f, c, x, y, v, **kw: f.gaussian_nll_loss(x, y, v, **kw),
                     [MU, OBS, VAR], True),
    "gaussian_nll-full": (lambda f, c, x, y, v, **kw: f.gaussian_nll_loss(x, y, v, full=True,
                                                                          **kw),
                          [MU, OBS, VAR], True),
    "gaussian_nll-var-per-sample": (lambda f, c, x, v, **kw: f.gaussian_nll_loss(
        x, c(OBS), v, **kw), [MU, VAR[:, 0]], True),
    "gaussian_nll-var-size-1-dim": (lambda f, c, x, v, **kw: f.gaussian_nll_loss(
        x, c(OBS), v, **kw), [MU, VAR[:1]], True),
    "gaussian_nll-var-float": (lambda f, c, x, **kw: f.gaussian_nll_loss(x, c(OBS), 0.7, **kw),
                               [MU], True),
    # var below eps: the value uses eps, the gradient passes straight through (not a true
    # derivative, so no gradcheck)
    "gaussian_nll-clamped": (lambda f, c, x, v, **kw: f.gaussian_nll_loss(
        x, c(OBS), v, eps=0.5, **kw), [MU, VAR], False),
    "poisson_nll": (lambda f, c, x, **kw: f.poisson_nll_loss(x, c(COUNTS), **kw),
                    [LOGRATE], True),
    "poisson_nll-full": (lambda f, c, x, **kw: f.poisson_nll_loss(x, c(COUNTS), full=True, **kw),
                         [LOGRATE], True),
    "poisson_nll-rate": (lambda f, c, x, **kw: f.poisson_nll_loss(
        x, c(COUNTS), log_input=False, **kw), [RATE], True),
    "poisson_nll-rate-full-eps-target": (lambda f, c, x, y, **kw: f.poisson_nll_loss(
        x, y, log_input=False, full=True, eps=0.1, **kw), [RATE, COUNTS + 0.3], True),
}


def _ours(name: str, dtype: str, reduction: str):
    fn, arrays, _ = CASES[name]
    xs = [cr.tensor(a, dtype=getattr(cr, dtype), requires_grad=True) for a in arrays]
    return xs, fn(F, lambda a: cr.tensor(a, dtype=getattr(cr, dtype)), *xs, reduction=reduction)


def _theirs(name: str, dtype: str, reduction: str):
    fn, arrays, _ = CASES[name]
    td = getattr(torch, dtype)
    xs = [torch.tensor(a, dtype=td, requires_grad=True) for a in arrays]
    return xs, fn(TF, lambda a: torch.tensor(a, dtype=td), *xs, reduction=reduction)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(CASES))
def test_loss_matches_torch(name: str, reduction: str, dtype: str) -> None:
    rtol, atol = TOL[dtype]
    xo, yo = _ours(name, dtype, reduction)
    xt, yt = _theirs(name, dtype, reduction)
    assert yo.dtype == getattr(cr, dtype) and tuple(yo.shape) == tuple(yt.shape)
    np.testing.assert_allclose(yo.array, yt.detach().numpy(), rtol=rtol, atol=atol)
    g = R.standard_normal(yo.shape).astype(dtype)
    yo.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    for i, (a, b) in enumerate(zip(xo, xt)):
        np.testing.assert_allclose(a.grad.array, b.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"input {i}")


@pytest.mark.parametrize("reduction", ["none", "mean"])
@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c[2]])
def test_loss_gradcheck(name: str, reduction: str) -> None:
    fn, arrays, _ = CASES[name]
    const = lambda a: cr.tensor(a, dtype=cr.float64)  # noqa: E731
    xs = [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in arrays]
    assert cr.autograd.gradcheck(lambda *t: fn(F, const, *t, reduction=reduction), xs)


def test_gaussian_nll_clamps_var_but_passes_its_gradient_through() -> None:
    v = cr.tensor([1e-9, 0.5, 2.0], dtype=cr.float64, requires_grad=True)
    x = cr.tensor([0.0, 0.0, 0.0], dtype=cr.float64)
    y = cr.tensor([1.0, 1.0, 1.0], dtype=cr.float64)
    loss = F.gaussian_nll_loss(x, y, v, eps=1e-6, reduction="none")
    clamped = np.maximum(v.array, 1e-6)
    np.testing.assert_allclose(loss.array, 0.5 * (np.log(clamped) + 1 / clamped), rtol=1e-14)
    loss.sum().backward()
    np.testing.assert_allclose(v.grad.array, 0.5 * (1 / clamped - 1 / clamped**2), rtol=1e-14)


def test_poisson_full_is_finite_for_zero_counts() -> None:
    x = cr.tensor([0.1, -0.3, 0.5], dtype=cr.float64, requires_grad=True)
    y = cr.tensor([0.0, 1.0, 0.0], dtype=cr.float64, requires_grad=True)
    F.poisson_nll_loss(x, y, full=True).backward()
    assert np.isfinite(x.grad.array).all() and np.isfinite(y.grad.array).all()


# ---- modules ----------------------------------------------------------------------------------
MODULES = [  # name, kwargs, arrays (the first n_diff are differentiated), n_diff
    ("MarginRankingLoss", {"margin": 0.3}, [A1, A2, Y6], 2),
    ("CosineEmbeddingLoss", {"margin": 0.2, "reduction": "sum"}, [E1, E2, YE], 2),
    ("TripletMarginLoss", {"margin": 2.0, "p": 1.0, "swap": True}, [TA, TP, TN], 3),
    ("TripletMarginLoss", {"eps": 1e-3, "reduction": "none"}, [TA, TP, TN], 3),
    ("SoftMarginLoss", {}, [X45, Y45], 1),
    ("MultiLabelSoftMarginLoss", {"reduction": "none"}, [X45, MULTI], 1),
    ("MultiLabelSoftMarginLoss", {"weight": W5}, [X45, MULTI], 1),
    ("GaussianNLLLoss", {"full": True, "eps": 1e-3}, [MU, OBS, VAR], 3),
    ("PoissonNLLLoss", {}, [LOGRATE, COUNTS], 1),
    ("PoissonNLLLoss", {"log_input": False, "full": True, "eps": 1e-4}, [RATE, COUNTS], 1),
]
FUNCTIONAL = {"MarginRankingLoss": "margin_ranking_loss",
              "CosineEmbeddingLoss": "cosine_embedding_loss",
              "TripletMarginLoss": "triplet_margin_loss", "SoftMarginLoss": "soft_margin_loss",
              "MultiLabelSoftMarginLoss": "multilabel_soft_margin_loss",
              "GaussianNLLLoss": "gaussian_nll_loss", "PoissonNLLLoss": "poisson_nll_loss"}


@pytest.mark.parametrize("name,kwargs,arrays,n_diff", MODULES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MODULES)])
def test_loss_module_matches_functional_and_torch(name, kwargs, arrays, n_diff) -> None:
    ours = getattr(nn, name)(**{k: cr.tensor(v) if isinstance(v, np.ndarray) else v
                                for k, v in kwargs.items()})
    theirs = getattr(torch.nn, name)(**{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                        for k, v in kwargs.items()})
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    xo = [cr.tensor(a, dtype=cr.float64, requires_grad=i < n_diff) for i, a in enumerate(arrays)]
    xt = [torch.tensor(a, dtype=torch.float64, requires_grad=i < n_diff)
          for i, a in enumerate(arrays)]
    yo, yt = ours.double()(*xo), theirs.double()(*xt)
    fkw = {k: cr.tensor(v, dtype=cr.float64) if isinstance(v, np.ndarray) else v
           for k, v in kwargs.items()}
    np.testing.assert_array_equal(yo.array, getattr(F, FUNCTIONAL[name])(*xo, **fkw).array)
    np.testing.assert_allclose(yo.array, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    yo.sum().backward()
    yt.sum().backward()
    for a, b in zip(xo[:n_diff], xt[:n_diff]):
        np.testing.assert_allclose(a.grad.array, b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_pairwise_distance_matches_torch() -> None:
    got = F.pairwise_distance(cr.tensor(TA), cr.tensor(TP), p=3.0, eps=1e-4)
    want = TF.pairwise_distance(torch.tensor(TA), torch.tensor(TP), p=3.0, eps=1e-4)
    np.testing.assert_allclose(got.array, want.numpy(), rtol=1e-12)


# ---- errors -----------------------------------------------------------------------------------
Z = cr.zeros


@pytest.mark.parametrize("call,error,match", [
    (lambda: F.margin_ranking_loss(Z(3), Z(3), Z(3, 1)), RuntimeError,
     r"margin_ranking_loss.*same number of dims.*\(3, 1\)"),
    (lambda: F.cosine_embedding_loss(Z(2, 3), Z(2, 3), Z(2, 1)), RuntimeError,
     r"0D or 1D target.*\(2, 1\)"),
    (lambda: F.cosine_embedding_loss(Z(3), Z(3), Z(3)), RuntimeError,
     r"1D target tensor expects 2D input.*\(3,\)"),
    (lambda: F.cosine_embedding_loss(Z(2, 3), Z(2, 3), Z(())), RuntimeError,
     r"0D target tensor expects 1D input.*\(2, 3\)"),
    (lambda: F.triplet_margin_loss(Z(2, 3), Z(2, 3), Z(2, 3), margin=0.0), ValueError,
     "margin must be greater than 0, got 0.0"),
    (lambda: F.triplet_margin_loss(Z(2, 3), Z(3), Z(2, 3)), RuntimeError,
     r"same number of dimensions.*positive \(3,\)"),
    (lambda: nn.TripletMarginLoss(margin=-1.0), ValueError,
     "TripletMarginLoss: expected margin to be greater than 0, got -1.0"),
    (lambda: F.gaussian_nll_loss(Z(2, 3), Z(2, 3), -cr.ones(2, 3)), ValueError,
     "var has negative entry"),
    (lambda: F.gaussian_nll_loss(Z(2, 3), Z(2, 3), -1.0), ValueError,
     "var has negative entry"),
    (lambda: F.gaussian_nll_loss(Z(2, 3), Z(2, 3), cr.ones(3)), ValueError,
     r"var of shape \(3,\) is of incorrect size for input \(2, 3\)"),
    (lambda: F.gaussian_nll_loss(Z(2, 3, 4), Z(2, 3, 4), cr.ones(2, 1, 1)), ValueError,
     "incorrect size"),
    (lambda: F.gaussian_nll_loss(Z(2, 3), Z(2, 3), cr.ones(2, 3), reduction="avg"), ValueError,
     "'avg' is not a valid value for reduction"),
    (lambda: F.poisson_nll_loss(Z(2), Z(2), reduction="batchmean"), ValueError,
     "'batchmean' is not a valid value for reduction"),
    (lambda: F.soft_margin_loss(Z(2), Z(2), reduction="all"), ValueError, "'all'"),
    (lambda: F.multilabel_soft_margin_loss(Z(()), Z(())), ValueError, "class dim"),
    (lambda: nn.MarginRankingLoss(reduction="avg"), ValueError, "'avg'"),
])
def test_bad_arguments_raise(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("call", [
    lambda: TF.margin_ranking_loss(torch.zeros(3), torch.zeros(3), torch.zeros(3, 1)),
    lambda: TF.cosine_embedding_loss(torch.zeros(3), torch.zeros(3), torch.zeros(3)),
    lambda: TF.triplet_margin_loss(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2, 3)),
    lambda: TF.gaussian_nll_loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(3)),
    lambda: TF.gaussian_nll_loss(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4),
                                 torch.ones(2, 1, 1)),
])
def test_torch_rejects_the_same_shapes(call) -> None:
    with pytest.raises((RuntimeError, ValueError)):
        call()

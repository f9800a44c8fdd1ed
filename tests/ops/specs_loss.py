"""Gradcheck specs for the losses and normalisation functions of ``chainrule.nn.functional``
(the fused ``cross_entropy`` primitive through its public function, with weights, label
smoothing, ignore_index and soft targets), each with a NumPy forward reference. Hand-written:
these functions are defined in ``nn/functional.py``, outside the op table."""

from __future__ import annotations

from typing import Any

import numpy as np
from specs import Spec, away, np_log_softmax, rand

import chainrule as cr
from chainrule.nn import functional as F

R = np.random.Generator


def _nc(r: R) -> tuple[int, int]:
    return int(r.integers(2, 5)), int(r.integers(2, 5))


def _ce_case(r: R) -> list[Any]:
    n, c = _nc(r)
    y = r.integers(0, c, n)
    y[0] = -100 if r.random() < 0.5 else y[0]
    y[-1] = y[-1] if n > 1 else max(y[-1], 0)
    w = r.uniform(0.5, 2.0, c) if r.random() < 0.5 else None
    return [rand(r, (n, c)), y, w, float(r.choice([0.0, 0.2])), str(r.choice(["mean", "sum"]))]


def _np_ce(x: np.ndarray, y: np.ndarray, w: Any, ls: float, red: str) -> np.ndarray:
    n, c = x.shape
    w = np.ones(c) if w is None else w
    logp = np_log_softmax(x, 1)
    keep = y != -100
    ys = np.where(keep, y, 0)
    nll = -logp[np.arange(n), ys] * w[ys] * keep
    smooth = -(logp * w).sum(1) * keep
    per = (1 - ls) * nll + ls / c * smooth
    if red == "sum":
        return np.asarray(per.sum())
    return np.asarray(per.sum() / (w[ys] * keep).sum())


def _ce(x: Any, y: Any, w: Any, ls: float, red: str) -> Any:
    return F.cross_entropy(x, y, weight=None if w is None else cr.tensor(w), label_smoothing=ls,
                           reduction=red)


def _soft_case(r: R) -> list[Any]:
    n, c = _nc(r)
    q = r.uniform(0.1, 1.0, (n, c))
    return [rand(r, (n, c)), q / q.sum(1, keepdims=True)]


def _pair(make_b: Any = rand) -> Any:
    def make(r: R) -> list[Any]:
        s = (int(r.integers(1, 4)), int(r.integers(1, 4)))
        return [rand(r, s), make_b(r, s)]
    return make


def _bce_case(r: R) -> list[Any]:
    s = (int(r.integers(1, 4)), 3)
    return [r.uniform(0.05, 0.95, s), r.uniform(0, 1, s), r.uniform(0.5, 2.0, 3)]


def _np_sp(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0, x)


def _norm_case(r: R) -> list[Any]:
    s = (int(r.integers(2, 4)), int(r.integers(2, 4)))
    return [rand(r, s), rand(r, s[-1:]), rand(r, s[-1:])]


def _np_layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * w + b


def _np_batch_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) * w + b


SPECS = [
    Spec("cross_entropy", _ce, _ce_case, _np_ce, id="F.cross_entropy-index", gradgrad=True,
         nograd=(2,)),
    Spec("cross_entropy", lambda x, q: F.cross_entropy(x, q, label_smoothing=0.1), _soft_case,
         lambda x, q: np.asarray(-((0.9 * q + 0.1 / q.shape[1]) * np_log_softmax(x, 1))
                                 .sum(1).mean()), id="F.cross_entropy-soft"),
    Spec("gather", lambda x, y: F.nll_loss(x, y, reduction="sum"),
         lambda r: [rand(r, (3, 4)), r.integers(0, 4, 3)],
         lambda x, y: np.asarray(-x[np.arange(3), y].sum()), id="F.nll_loss"),
    Spec("mul", F.mse_loss, _pair(), lambda a, b: np.asarray(((a - b) ** 2).mean()),
         id="F.mse_loss"),
    Spec("abs", lambda a, b: F.l1_loss(a, b, reduction="sum"),
         _pair(lambda r, s: rand(r, s) + 0.0), lambda a, b: np.asarray(np.abs(a - b).sum()),
         id="F.l1_loss", check={"atol": 1e-4}),
    Spec("where", lambda a, b: F.huber_loss(a, b, delta=0.6), _pair(),
         lambda a, b: np.asarray(np.where(np.abs(a - b) < 0.6, 0.5 * (a - b) ** 2,
                                          0.6 * (np.abs(a - b) - 0.3)).mean()),
         id="F.huber_loss", check={"atol": 1e-4}),
    Spec("where", lambda a, b: F.smooth_l1_loss(a, b, beta=0.6), _pair(),
         lambda a, b: np.asarray(np.where(np.abs(a - b) < 0.6, 0.5 * (a - b) ** 2 / 0.6,
                                          np.abs(a - b) - 0.3).mean()),
         id="F.smooth_l1_loss", check={"atol": 1e-4}),
    Spec("binary_cross_entropy", lambda p, y, w: F.binary_cross_entropy(p, y, weight=w),
         _bce_case,
         lambda p, y, w: np.asarray((-w * (y * np.log(p) + (1 - y) * np.log(1 - p))).mean()),
         id="F.binary_cross_entropy", nograd=(2,), gradgrad=True),
    Spec("softplus", lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw),
         lambda r: [rand(r, (2, 3)), r.uniform(0, 1, (2, 3)), r.uniform(0.5, 2.0, 3)],
         lambda x, y, pw: np.asarray(((1 - y) * x + (1 + (pw - 1) * y) * _np_sp(-x)).mean()),
         id="F.binary_cross_entropy_with_logits"),
    Spec("log", lambda x, y: F.kl_div(x, y, reduction="batchmean"),
         lambda r: [np.log(r.uniform(0.1, 1, (3, 4))), r.uniform(0.1, 1, (3, 4))],
         lambda x, y: np.asarray((np.where(y == 0, 0, y * np.log(np.where(y == 0, 1, y)))
                                  - y * x).sum() / (x.shape[0] if x.ndim else 1)),
         id="F.kl_div"),
    Spec("amax", lambda x, y: F.multi_margin_loss(x, y, p=2),
         lambda r: [away(r, (3, 4), kinks=()), r.integers(0, 4, 3)], None,
         id="F.multi_margin_loss", check={"atol": 1e-4}),
    Spec("layer_norm", lambda x, w, b: F.layer_norm(x, (x.shape[-1],), w, b), _norm_case,
         _np_layer_norm, id="F.layer_norm", gradgrad=True),
    Spec("rsqrt", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), _norm_case,
         _np_batch_norm, id="F.batch_norm"),
    Spec("rsqrt", lambda x, w: F.rms_norm(x, (x.shape[-1],), w, eps=1e-6),
         lambda r: _norm_case(r)[:2],
         lambda x, w: x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6) * w, id="F.rms_norm"),
    Spec("einsum", F.bilinear,
         lambda r: [rand(r, (3, 2)), rand(r, (3, 4)), rand(r, (5, 2, 4)), rand(r, (5,))],
         lambda a, b, w, c: np.einsum("ni,kij,nj->nk", a, w, b) + c, id="F.bilinear"),
    Spec("getitem", lambda w, i: F.embedding(i, w),
         lambda r: [rand(r, (5, 3)), r.integers(0, 5, (2, 4))], lambda w, i: w[i],
         id="F.embedding"),
    Spec("div", lambda x: F.normalize(x, dim=1), lambda r: [away(r, (3, 4), kinks=())],
         lambda x: x / np.linalg.norm(x, axis=1, keepdims=True), id="F.normalize"),
]

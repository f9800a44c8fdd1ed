"""Naive NumPy references for 2-D convolution and pooling (loops over output positions: slow,
obviously right) and their random geometry, for the specs the op table derives; the specs here
are the backward-only primitives (``conv2d_weight``, ``max_pool_scatter``, ``max_pool_gather``),
which no table entry reaches by design."""

from __future__ import annotations

from typing import Any

import numpy as np
from specs import Spec, distinct, rand

import chainrule as cr
from chainrule.ops import conv as C
from chainrule.ops import pool as P

R = np.random.Generator


# ---- naive references -------------------------------------------------------------------------
def _pad2(x: np.ndarray, p: tuple[int, int], value: float = 0.0) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=value)


def out_size(n: int, k: int, s: int, p: int, d: int) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def np_conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, s: tuple[int, int],
              p: tuple[int, int], d: tuple[int, int], groups: int) -> np.ndarray:
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp_ = _pad2(x, p)
    ho, wo = out_size(h, kh, s[0], p[0], d[0]), out_size(wd, kw, s[1], p[1], d[1])
    out = np.zeros((n, o, ho, wo))
    og = o // groups
    for i in range(ho):
        for j in range(wo):
            patch = xp_[:, :, i * s[0]:i * s[0] + d[0] * (kh - 1) + 1:d[0],
                        j * s[1]:j * s[1] + d[1] * (kw - 1) + 1:d[1]]
            for gi in range(groups):
                out[:, gi * og:(gi + 1) * og, i, j] = np.einsum(
                    "nckl,ockl->no", patch[:, gi * cg:(gi + 1) * cg], w[gi * og:(gi + 1) * og])
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def np_conv_transpose2d(y: np.ndarray, w: np.ndarray, b: np.ndarray | None, s: tuple[int, int],
                        p: tuple[int, int], op: tuple[int, int], groups: int,
                        d: tuple[int, int]) -> np.ndarray:
    n, cin, h, wd = y.shape
    _, cog, kh, kw = w.shape
    full = ((h - 1) * s[0] + d[0] * (kh - 1) + 1 + op[0], (wd - 1) * s[1] + d[1] * (kw - 1) + 1
            + op[1])
    out = np.zeros((n, cog * groups, *full))
    cig = cin // groups
    for i in range(h):
        for j in range(wd):
            for gi in range(groups):
                contrib = np.einsum("nc,cokl->nokl", y[:, gi * cig:(gi + 1) * cig, i, j],
                                    w[gi * cig:(gi + 1) * cig])
                out[:, gi * cog:(gi + 1) * cog, i * s[0]:i * s[0] + d[0] * (kh - 1) + 1:d[0],
                    j * s[1]:j * s[1] + d[1] * (kw - 1) + 1:d[1]] += contrib
    out = out[:, :, p[0]:full[0] - p[0], p[1]:full[1] - p[1]]
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def np_unfold(x: np.ndarray, k: tuple[int, int], d: tuple[int, int], p: tuple[int, int],
              s: tuple[int, int]) -> np.ndarray:
    n, c, h, w = x.shape
    xp_ = _pad2(x, p)
    ho, wo = out_size(h, k[0], s[0], p[0], d[0]), out_size(w, k[1], s[1], p[1], d[1])
    cols = np.zeros((n, c, k[0], k[1], ho, wo))
    for i in range(ho):
        for j in range(wo):
            cols[..., i, j] = xp_[:, :, i * s[0]:i * s[0] + d[0] * (k[0] - 1) + 1:d[0],
                                  j * s[1]:j * s[1] + d[1] * (k[1] - 1) + 1:d[1]]
    return cols.reshape(n, c * k[0] * k[1], ho * wo)


def np_fold(cols: np.ndarray, size: tuple[int, int], k: tuple[int, int], d: tuple[int, int],
            p: tuple[int, int], s: tuple[int, int]) -> np.ndarray:
    n, ckk, _ = cols.shape
    c = ckk // (k[0] * k[1])
    ho, wo = out_size(size[0], k[0], s[0], p[0], d[0]), out_size(size[1], k[1], s[1], p[1], d[1])
    c6 = cols.reshape(n, c, k[0], k[1], ho, wo)
    out = np.zeros((n, c, size[0] + 2 * p[0], size[1] + 2 * p[1]))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i * s[0]:i * s[0] + d[0] * (k[0] - 1) + 1:d[0],
                j * s[1]:j * s[1] + d[1] * (k[1] - 1) + 1:d[1]] += c6[..., i, j]
    return out[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]


def np_max_pool2d(x: np.ndarray, k: tuple[int, int], s: tuple[int, int], p: tuple[int, int],
                  d: tuple[int, int]) -> np.ndarray:
    n, c, h, w = x.shape
    cols = np_unfold(_pad2(x, p, -np.inf), k, d, (0, 0), s)
    ho, wo = out_size(h, k[0], s[0], p[0], d[0]), out_size(w, k[1], s[1], p[1], d[1])
    return cols.reshape(n, c, k[0] * k[1], ho, wo).max(axis=2)


def np_avg_pool2d(x: np.ndarray, k: tuple[int, int], s: tuple[int, int], p: tuple[int, int],
                  include_pad: bool) -> np.ndarray:
    n, c, h, w = x.shape
    ho, wo = out_size(h, k[0], s[0], p[0], 1), out_size(w, k[1], s[1], p[1], 1)
    sums = np_unfold(x, k, (1, 1), p, s).reshape(n, c, k[0] * k[1], ho, wo).sum(axis=2)
    count = np_unfold(np.ones((1, 1, h, w)), k, (1, 1), p, s).sum(axis=1).reshape(ho, wo)
    return sums / (k[0] * k[1] if include_pad else count)


# ---- random geometry --------------------------------------------------------------------------
def conv_geometry(r: R, transposed: bool = False) -> dict[str, Any]:
    """A small random conv problem: channels, groups, kernel, stride, padding, dilation, size."""
    g = int(r.integers(1, 3))
    k = tuple(int(v) for v in r.integers(1, 4, 2))
    s = tuple(int(v) for v in r.integers(1, 3, 2))
    d = tuple(int(v) for v in r.integers(1, 3, 2))
    p = tuple(int(r.integers(0, kk // 2 + 1)) for kk in k)
    eff = [dd * (kk - 1) + 1 for kk, dd in zip(k, d)]
    hw = tuple(max(e - 2 * pp, 1) + int(r.integers(0, 3)) for e, pp in zip(eff, p))
    if transposed:  # input sizes for which the transposed output is non-empty
        hw = tuple(max(h, 1 + (2 * pp) // ss) for h, pp, ss in zip(hw, p, s))
    op = tuple(int(r.integers(0, max(ss, dd))) for ss, dd in zip(s, d))
    return {"n": int(r.integers(1, 3)), "c": g * int(r.integers(1, 3)),
            "o": g * int(r.integers(1, 3)), "g": g, "k": k, "s": s, "d": d, "p": p, "hw": hw,
            "op": op}


def _weight_args(r: R) -> list[Any]:
    """(x, g, geometry) for the weight-gradient primitive called directly."""
    q = conv_geometry(r)
    x = rand(r, (q["n"], q["c"], *q["hw"]))
    ho = [out_size(h, k, s, p, d) for h, k, s, p, d in zip(q["hw"], q["k"], q["s"], q["p"], q["d"])]
    g = rand(r, (q["n"], q["o"], *ho))
    return [x, g, q]


def _conv2d_weight(x: Any, g: Any, q: dict[str, Any]) -> Any:
    return C.Conv2dWeight.apply(x, g, kernel=q["k"], stride=q["s"], dilation=q["d"],
                                groups=q["g"], pads=tuple((p, p) for p in q["p"]))


def np_conv2d_weight(x: np.ndarray, g: np.ndarray, q: dict[str, Any]) -> np.ndarray:
    """Σ_n,p,q g[n,o,p,q]·x[window]: the weight gradient, by the adjoint identity."""
    n, c = x.shape[:2]
    o = g.shape[1]
    cols = np_unfold(x, q["k"], q["d"], q["p"], q["s"])  # (n, c·kk, L)
    cg, og = c // q["g"], o // q["g"]
    kk = q["k"][0] * q["k"][1]
    gm = g.reshape(n, o, -1)
    out = np.concatenate([np.einsum("nol,nkl->ok", gm[:, i * og:(i + 1) * og],
                                    cols[:, i * cg * kk:(i + 1) * cg * kk])
                          for i in range(q["g"])])
    return out.reshape(o, cg, *q["k"])


def pool_geometry(r: R) -> dict[str, Any]:
    k = tuple(int(v) for v in r.integers(1, 4, 2))
    s = tuple(int(v) for v in r.integers(1, 4, 2))
    d = tuple(int(v) for v in r.integers(1, 3, 2))
    p = tuple(int(r.integers(0, kk // 2 + 1)) for kk in k)
    hw = tuple(dd * (kk - 1) + 1 + int(r.integers(0, 4)) for kk, dd in zip(k, d))
    return {"shape": (int(r.integers(1, 3)), int(r.integers(1, 3)), *hw), "k": k, "s": s,
            "d": d, "p": p}


def _max_pool_args(r: R) -> list[Any]:
    q = pool_geometry(r)
    return [distinct(r, q["shape"]), q["k"], q["s"], q["p"], q["d"]]


class Geometry:
    """Max-pool geometry and a fixed argmax, passed through ``make`` untouched."""

    def __init__(self, x: np.ndarray, k: Any, s: Any, p: Any, d: Any) -> None:
        y = P.max_pool2d(cr.tensor(x), k, s, p, d, return_indices=True)[1].array
        self.shape, self.k, self.s, self.p, self.d = x.shape, k, s, p, d
        self.flat = y  # the position of each max in its (H·W) plane
        op = object.__new__(P.MaxPool2d)
        self.params = {"kernel": k, "stride": s, "dilation": d,
                       "pads": ((p[0], p[0]), (p[1], p[1])),
                       "out_size": tuple(y.shape[2:])}
        op.__dict__.update(self.params)
        op.forward(x)
        self.argmax = op.argmax


def _scatter_args(r: R) -> list[Any]:
    x, k, s, p, d = _max_pool_args(r)
    geo = Geometry(x, k, s, p, d)
    return [rand(r, geo.flat.shape), geo]


def np_scatter(g: np.ndarray, geo: Geometry) -> np.ndarray:
    n, c, h, w = geo.shape
    out = np.zeros((n, c, h * w))
    for pos in np.ndindex(*g.shape):
        out[pos[0], pos[1], geo.flat[pos]] += g[pos]
    return out.reshape(geo.shape)


def _gather_args(r: R) -> list[Any]:
    x, k, s, p, d = _max_pool_args(r)
    return [rand(r, x.shape), Geometry(x, k, s, p, d)]


def np_gather(t: np.ndarray, geo: Geometry) -> np.ndarray:
    n, c = t.shape[:2]
    flat = t.reshape(n, c, -1)
    return np.take_along_axis(flat, geo.flat.reshape(n, c, -1), axis=2).reshape(geo.flat.shape)


SPECS = [  # conv2d, conv_transpose2d, conv1d, unfold, fold, max_pool2d, avg_pool2d: from the
    # op table (specs_table.py); here the primitives that run inside their backward and jvp
    Spec("conv2d_weight", _conv2d_weight, make=_weight_args, ref=np_conv2d_weight,
         gradgrad=True),
    Spec(("max_pool_scatter", "max_pool_gather"),
         lambda g, geo: P.MaxPoolScatter.apply(g, argmax=geo.argmax, shape=geo.shape,
                                               **geo.params),
         make=_scatter_args, ref=np_scatter, gradgrad=True),
    Spec(("max_pool_gather", "max_pool_scatter"),
         lambda t, geo: P.MaxPoolGather.apply(t, argmax=geo.argmax, **geo.params),
         make=_gather_args, ref=np_gather, gradgrad=True),
]

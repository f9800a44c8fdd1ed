"""Naive NumPy references (loops over output positions or bags: slow, obviously right) and
random geometry for the 1-D and 3-D convolution and pooling ops and adaptive pooling, whose
gradcheck specs come from the op table (``specs_table.py``, generators in ``samples.py``); the
specs here are for what has no table entry: the ``conv3d_weight`` primitive and
``F.embedding_bag``."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from specs import Spec, distinct, rand

import chainrule.nn.functional as F
from chainrule.ops import conv as C

R = np.random.Generator


def _out(n: int, k: int, s: int, p: int, d: int) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _window(pos: tuple[int, ...], k: tuple[int, ...], s: tuple[int, ...],
            d: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(slice(i * si, i * si + di * (ki - 1) + 1, di)
                 for i, ki, si, di in zip(pos, k, s, d))


def np_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, s: tuple[int, ...],
            p: tuple[int, ...], d: tuple[int, ...], groups: int) -> np.ndarray:
    """Cross-correlation over the spatial axes of x (N, C, *spatial)."""
    o, cg, *k = w.shape
    xp_ = np.pad(x, ((0, 0), (0, 0), *((pi, pi) for pi in p)))
    size = [_out(n, ki, si, pi, di) for n, ki, si, pi, di in zip(x.shape[2:], k, s, p, d)]
    out = np.zeros((x.shape[0], o, *size))
    og = o // groups
    for pos in itertools.product(*(range(m) for m in size)):
        patch = xp_[(slice(None), slice(None), *_window(pos, tuple(k), s, d))]
        for gi in range(groups):
            out[(slice(None), slice(gi * og, (gi + 1) * og), *pos)] = np.tensordot(
                patch[:, gi * cg:(gi + 1) * cg], w[gi * og:(gi + 1) * og],
                axes=(list(range(1, patch.ndim)), list(range(1, w.ndim))))
    return out if b is None else out + b.reshape(1, -1, *(1,) * len(size))


def np_conv_transpose(y: np.ndarray, w: np.ndarray, b: np.ndarray | None, s: tuple[int, ...],
                      p: tuple[int, ...], op: tuple[int, ...], groups: int,
                      d: tuple[int, ...]) -> np.ndarray:
    """Every input position scatters y·w into the window it reads in the forward conv."""
    cin, cog, *k = w.shape
    full = [(n - 1) * si + di * (ki - 1) + 1 + oi
            for n, si, di, ki, oi in zip(y.shape[2:], s, d, k, op)]
    out = np.zeros((y.shape[0], cog * groups, *full))
    cig = cin // groups
    for pos in itertools.product(*(range(m) for m in y.shape[2:])):
        win = _window(pos, tuple(k), s, d)
        for gi in range(groups):
            contrib = np.tensordot(y[(slice(None), slice(gi * cig, (gi + 1) * cig), *pos)],
                                   w[gi * cig:(gi + 1) * cig], axes=(1, 0))
            out[(slice(None), slice(gi * cog, (gi + 1) * cog), *win)] += contrib
    out = out[(slice(None), slice(None), *(slice(pi, f - pi) for pi, f in zip(p, full)))]
    return out if b is None else out + b.reshape(1, -1, *(1,) * len(full))


def np_max_pool(x: np.ndarray, k: tuple[int, ...], s: tuple[int, ...], p: tuple[int, ...],
                d: tuple[int, ...]) -> np.ndarray:
    xp_ = np.pad(x, ((0, 0), (0, 0), *((pi, pi) for pi in p)), constant_values=-np.inf)
    size = [_out(n, ki, si, pi, di) for n, ki, si, pi, di in zip(x.shape[2:], k, s, p, d)]
    out = np.empty((*x.shape[:2], *size))
    for pos in itertools.product(*(range(m) for m in size)):
        win = xp_[(slice(None), slice(None), *_window(pos, k, s, d))]
        out[(slice(None), slice(None), *pos)] = win.reshape(*x.shape[:2], -1).max(axis=2)
    return out


def np_avg_pool(x: np.ndarray, k: tuple[int, ...], s: tuple[int, ...], p: tuple[int, ...],
                include_pad: bool) -> np.ndarray:
    ones = np.ones((1, 1, *x.shape[2:]))
    sums = np_conv(x.reshape(-1, 1, *x.shape[2:]), np.ones((1, 1, *k)), None, s, p,
                   (1,) * len(k), 1)
    count = np_conv(ones, np.ones((1, 1, *k)), None, s, p, (1,) * len(k), 1)
    out = sums / (np.prod(k) if include_pad else count)
    return out.reshape(*x.shape[:2], *out.shape[2:])


# ---- random geometry --------------------------------------------------------------------------
def geometry(r: R, transposed: bool = False, dims: int = 3) -> dict[str, Any]:
    """A small random conv problem in ``dims`` spatial dims: channels, groups, kernel, stride,
    padding, dilation, input size."""
    g = int(r.integers(1, 3))
    k = tuple(int(v) for v in r.integers(1, 3 if dims == 3 else 4, dims))
    s = tuple(int(v) for v in r.integers(1, 3, dims))
    d = tuple(int(v) for v in r.integers(1, 3, dims))
    p = tuple(int(r.integers(0, kk // 2 + 1)) for kk in k)
    eff = [dd * (kk - 1) + 1 for kk, dd in zip(k, d)]
    size = tuple(max(e - 2 * pp, 1) + int(r.integers(0, 2)) for e, pp in zip(eff, p))
    if transposed:  # input sizes for which the transposed output is non-empty
        size = tuple(max(n, 1 + (2 * pp) // ss) for n, pp, ss in zip(size, p, s))
    op = tuple(int(r.integers(0, max(ss, dd))) for ss, dd in zip(s, d))
    return {"n": int(r.integers(1, 3)), "c": g * int(r.integers(1, 3)),
            "o": g * int(r.integers(1, 3)), "g": g, "k": k, "s": s, "d": d, "p": p,
            "size": size, "op": op}


def _weight_args(r: R) -> list[Any]:
    """(x, g, geometry) for the weight-gradient primitive called directly."""
    q = geometry(r)
    x = rand(r, (q["n"], q["c"], *q["size"]))
    size = [_out(*a) for a in zip(q["size"], q["k"], q["s"], q["p"], q["d"])]
    return [x, rand(r, (q["n"], q["o"], *size)), q]


def _conv3d_weight(x: Any, g: Any, q: dict[str, Any]) -> Any:
    return C.Conv3dWeight.apply(x, g, kernel=q["k"], stride=q["s"], dilation=q["d"],
                                groups=q["g"], pads=tuple((p, p) for p in q["p"]))


def np_conv_weight(x: np.ndarray, g: np.ndarray, q: dict[str, Any]) -> np.ndarray:
    """gw[o, c, *i] = Σ_n,pos g[n, o, pos]·x[n, c, pos·s + i·d − p]."""
    xp_ = np.pad(x, ((0, 0), (0, 0), *((pi, pi) for pi in q["p"])))
    cg, og = x.shape[1] // q["g"], g.shape[1] // q["g"]
    out = np.zeros((g.shape[1], cg, *q["k"]))
    for pos in itertools.product(*(range(m) for m in g.shape[2:])):
        patch = xp_[(slice(None), slice(None), *_window(pos, q["k"], q["s"], q["d"]))]
        for gi in range(q["g"]):
            out[gi * og:(gi + 1) * og] += np.tensordot(
                g[(slice(None), slice(gi * og, (gi + 1) * og), *pos)],
                patch[:, gi * cg:(gi + 1) * cg], axes=(0, 0))
    return out


def pool_geometry_nd(r: R, dims: int = 3) -> dict[str, Any]:
    """A small random pooling problem in ``dims`` spatial dims."""
    k = tuple(int(v) for v in r.integers(1, 4, dims))
    s = tuple(int(v) for v in r.integers(1, 3, dims))
    d = tuple(int(v) for v in r.integers(1, 3, dims))
    p = tuple(int(r.integers(0, kk // 2 + 1)) for kk in k)
    size = tuple(dd * (kk - 1) + 1 + int(r.integers(0, 3)) for kk, dd in zip(k, d))
    return {"shape": (int(r.integers(1, 3)), int(r.integers(1, 3)), *size), "k": k, "s": s,
            "d": d, "p": p}


SPECS = [  # conv3d, conv_transpose3d, max_pool3d, avg_pool3d, the 1-D ones and adaptive pooling:
    # from the op table (specs_table.py); conv3d_weight runs only inside conv3d's backward
    Spec("conv3d_weight", _conv3d_weight, make=_weight_args, ref=np_conv_weight, gradgrad=True),
]


# ---- adaptive max pooling (composites of per-cell maxima) -------------------------------------
def np_adaptive_max(x: np.ndarray, out: tuple[int, ...]) -> np.ndarray:
    size = x.shape[-len(out):]
    res = np.empty((*x.shape[:-len(out)], *out))
    for pos in itertools.product(*(range(o) for o in out)):
        cell = tuple(slice((i * n) // o, -(-((i + 1) * n) // o)) for i, n, o in zip(pos, size, out))
        res[(Ellipsis, *pos)] = x[(Ellipsis, *cell)].reshape(*x.shape[:-len(out)], -1).max(-1)
    return res


def np_adaptive_avg(x: np.ndarray, out: tuple[int, ...]) -> np.ndarray:
    size = x.shape[-len(out):]
    res = np.empty((*x.shape[:-len(out)], *out))
    for pos in itertools.product(*(range(o) for o in out)):
        cell = tuple(slice((i * n) // o, -(-((i + 1) * n) // o)) for i, n, o in zip(pos, size, out))
        res[(Ellipsis, *pos)] = x[(Ellipsis, *cell)].mean(axis=tuple(range(-len(out), 0)))
    return res


# ---- embedding_bag (a composite of getitem, scatter_add and max) ------------------------------
def np_embedding_bag(weight: np.ndarray, idx: np.ndarray, offsets: np.ndarray, mode: str,
                     psw: np.ndarray | None = None) -> np.ndarray:
    ends = [*offsets[1:], len(idx)]
    out = np.zeros((len(offsets), weight.shape[1]))
    for b, (s, e) in enumerate(zip(offsets, ends)):
        rows = weight[idx[s:e]] * (1.0 if psw is None else psw[s:e, None])
        if e > s:
            out[b] = {"sum": rows.sum(0), "mean": rows.mean(0), "max": rows.max(0)}[mode]
    return out


def _bag_args(mode: str, weighted: bool = False) -> Any:
    def make(r: R) -> list[Any]:
        weight = distinct(r, (6, 3)) if mode == "max" else rand(r, (6, 3))
        idx = r.integers(0, 6, int(r.integers(1, 9)))
        offsets = np.sort(r.integers(0, len(idx) + 1, int(r.integers(1, 4))))
        offsets[0] = 0
        return [weight, idx, offsets, mode] + ([rand(r, idx.shape)] if weighted else [])
    return make


def _bag(weight: Any, idx: Any, offsets: Any, mode: str, psw: Any = None) -> Any:
    return F.embedding_bag(idx, weight, offsets, mode=mode, per_sample_weights=psw)


SPECS += [  # F.embedding_bag: a composite of nn.functional, outside the op table
    Spec("scatter_add", _bag, id="embedding_bag_sum", make=_bag_args("sum", weighted=True),
         ref=np_embedding_bag, gradgrad=True),
    Spec("scatter_add", _bag, id="embedding_bag_mean", make=_bag_args("mean"),
         ref=np_embedding_bag),
    Spec("gather", _bag, id="embedding_bag_max", make=_bag_args("max"), ref=np_embedding_bag),
]

"""Every registered op under random bad input: shapes that do not fit, other dtypes, special
values and empty tensors. Each call either matches the NumPy reference or raises an error whose
message names the operation — never a bare NumPy or Python exception.

The cases are the gradcheck specs (every differentiable op) plus the ops without gradients
below; hypothesis perturbs one array argument of a valid call.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from specs import Spec, bshapes, rand
from test_gradcheck import SPECS

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd import OPS
from chainrule.backend import category


def _pair(r: np.random.Generator) -> list[Any]:
    a, b = bshapes(r)
    return [rand(r, a), rand(r, b)]


def _ints(r: np.random.Generator) -> list[Any]:
    a, b = bshapes(r)
    return [r.integers(-5, 6, a), r.integers(1, 6, b)]


def _bools(r: np.random.Generator) -> list[Any]:
    a, b = bshapes(r)
    return [r.random(a) > 0.5, r.random(b) > 0.5]


NO_GRADIENT = [
    *[Spec(name, getattr(cr, name), _pair, getattr(np, ref)) for name, ref in [
        ("eq", "equal"), ("ne", "not_equal"), ("lt", "less"), ("le", "less_equal"),
        ("gt", "greater"), ("ge", "greater_equal"), ("logical_and", "logical_and"),
        ("logical_or", "logical_or"), ("logical_xor", "logical_xor")]],
    *[Spec(name, getattr(cr, name), _ints, getattr(np, name)) for name in
      ("bitwise_and", "bitwise_or", "bitwise_xor")],
    Spec("floor_divide", cr.floor_divide, _ints, np.floor_divide),
    Spec("logical_not", cr.logical_not, lambda r: _bools(r)[:1], np.logical_not),
    Spec("isnan", cr.isnan, lambda r: _pair(r)[:1], np.isnan),
    Spec("isfinite", cr.isfinite, lambda r: _pair(r)[:1], np.isfinite),
    *(Spec(name, getattr(cr, name), lambda r: _pair(r)[:1], getattr(np, name))
      for name in ("isinf", "isposinf", "isneginf", "signbit")),
    Spec("argmax", lambda x: cr.argmax(x, -1), lambda r: [rand(r, (2, 3))],
         lambda a: np.argmax(a, -1)),
    Spec("argmin", cr.argmin, lambda r: [rand(r, (2, 3))], lambda a: np.asarray(np.argmin(a))),
    Spec("argsort", lambda x: cr.argsort(x, 0), lambda r: [rand(r, (3, 2))],
         lambda a: np.argsort(a, 0, kind="stable").reshape(a.shape)),  # 0-d: torch's ()
    Spec("slogdet_sign", lambda a: cr.linalg.slogdet(a).sign, lambda r: [rand(r, (2, 3, 3))],
         lambda a: np.linalg.slogdet(a)[0]),
]
CASES = [s for s in SPECS if s.ref is not None] + NO_GRADIENT
ERRORS = (RuntimeError, ValueError, TypeError, IndexError)
CHAINRULE = Path(cr.__file__).parent
SPECIALS = [np.nan, np.inf, -np.inf, 0.0, 1e30, -1e30]


def test_every_registered_op_is_fuzzed() -> None:
    covered = {n for s in CASES for n in s.op_names}
    assert not set(OPS) - covered, f"ops never fuzzed: {sorted(set(OPS) - covered)}"


def _names(spec: Spec) -> set[str]:
    names = set(spec.op_names)
    base = re.sub(r"-\d+$", "", spec.id).split(".")[-1]
    names |= {base, getattr(spec.fn, "__name__", ""), *base.split("-")}
    return {n for n in names if n and n != "<lambda>"}


def _raised_by_chainrule(error: BaseException) -> bool:
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    where = Path(tb.tb_frame.f_code.co_filename)
    return CHAINRULE in where.parents and where.name != "size.py"  # a shape is a tuple


def _names_an_op(message: str) -> bool:
    """Whether the message starts with the name of a registered op or a public function (a
    composite such as ``mse_loss`` reports the primitive inside it that refused the input)."""
    m = re.match(r"([A-Za-z_][\w.]*?)(\(\))?:", message)
    if not m:
        return False
    name = m.group(1).split(".")[-1]
    return name in OPS or any(hasattr(ns, name) for ns in (cr, cr.Tensor, F))


def _perturb(raw: list[Any], kind: str, data: st.DataObject) -> list[Any]:
    arrays = [i for i, a in enumerate(raw) if isinstance(a, np.ndarray)]
    if not arrays:
        return raw
    i = data.draw(st.sampled_from(arrays), label="argument")
    a = raw[i]
    r = np.random.default_rng(data.draw(st.integers(0, 2**16), label="fill seed"))
    if kind == "shape":
        shape = tuple(data.draw(st.lists(st.integers(0, 4), max_size=4), label="shape"))
        new = r.standard_normal(shape).astype(a.dtype) if a.dtype.kind == "f" else \
            r.integers(0, 3, shape).astype(a.dtype)
    elif kind == "dtype":
        dtype = data.draw(st.sampled_from(["float32", "float16", "int64", "bool"]), label="dtype")
        new = a.astype(dtype)
    elif kind == "empty":
        new = np.zeros((0, *a.shape[1:]) if a.ndim else (0,), a.dtype)
    else:  # special values in a floating argument
        new = a.copy()
        if new.dtype.kind == "f" and new.size:
            flat = new.reshape(-1)
            for j in data.draw(st.lists(st.integers(0, new.size - 1), min_size=1, max_size=3),
                               label="positions"):
                flat[j] = data.draw(st.sampled_from(SPECIALS), label="value")
    return [new if k == i else x for k, x in enumerate(raw)]


def _tensors(raw: list[Any]) -> list[Any]:
    return [cr.tensor(a, dtype=a.dtype) if isinstance(a, np.ndarray) else a for a in raw]


def _outputs(out: Any) -> list[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _tolerance(raw: list[Any], outputs: list[Any]) -> float:
    kinds = {a.dtype for a in [*raw, *outputs] if isinstance(a, np.ndarray)}
    return 1e-2 if np.dtype("float16") in kinds else 1e-4 if np.dtype("float32") in kinds \
        else 1e-6


@pytest.mark.parametrize("spec", CASES, ids=lambda s: s.id)
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1),
       kind=st.sampled_from(["shape", "dtype", "values", "empty"]), data=st.data())
def test_op_matches_numpy_or_raises_naming_it(spec: Spec, seed: int, kind: str,
                                              data: st.DataObject) -> None:
    raw = [np.asarray(a) if isinstance(a, np.generic) else a
           for a in spec.make(np.random.default_rng(seed))]
    raw = _perturb(raw, kind, data)
    names = _names(spec)
    try:
        with np.errstate(all="ignore"):
            got = _outputs(spec.fn(*_tensors(raw)))
    except ERRORS as e:
        if not _raised_by_chainrule(e):
            return  # the spec's own call (e.g. ``x.shape[-1]``) does not apply to this input
        message = str(e)
        assert any(n in message for n in names) or _names_an_op(message), (
            f"{spec.id} ({kind}): {type(e).__name__} does not name the op ({sorted(names)}): "
            f"{message}")
        return
    except Exception as e:  # noqa: BLE001 - any other exception type is the failure
        pytest.fail(f"{spec.id} ({kind}): bare {type(e).__name__}: {e}")
    try:
        with np.errstate(all="ignore"):
            want = _outputs(spec.ref(*[a.copy() if isinstance(a, np.ndarray) else a
                                       for a in raw]))
    except Exception:  # noqa: BLE001 - NumPy refuses what chainrule (as PyTorch) accepts
        return
    tol = _tolerance(raw, [np.asarray(w) for w in want])
    assert len(got) == len(want), spec.id
    for g, w in zip(got, want):
        w = np.asarray(w)
        g = g.numpy() if isinstance(g, cr.Tensor) else np.asarray(g)
        assert g.shape == w.shape, f"{spec.id} ({kind}): shape {g.shape}, NumPy {w.shape}"
        if kind == "dtype" and category(g.dtype) != category(w.dtype):
            continue  # NumPy's promotion, not PyTorch's (test_promotion_torch.py covers that)
        if kind == "values" and w.dtype.kind in "fc" and g.dtype.kind in "fc":
            # a sum over ±inf gives inf or NaN depending on the order of accumulation
            order = np.isnan(g) & np.isinf(w) | np.isinf(g) & np.isnan(w)
            g, w = np.where(order, 0, g), np.where(order, 0, w)
        if w.dtype.kind in "fc" or g.dtype.kind in "fc":
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=tol,
                                       atol=tol, equal_nan=True, err_msg=f"{spec.id} ({kind})")
        else:
            np.testing.assert_array_equal(g, w, err_msg=f"{spec.id} ({kind})")

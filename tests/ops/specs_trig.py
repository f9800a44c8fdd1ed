"""Gradcheck specs for ``ops/trig.py`` (asin, acos, atan, sinh, cosh, log2, log10, atan2 and the
composite hypot) and the moduli of ``ops/comparison.py`` (fmod, remainder). Inputs stay away
from singularities (asin/acos inside (−0.9, 0.9)) and from the jumps of the moduli."""

from __future__ import annotations

from typing import Any

import numpy as np
from specs import Spec, away, bshapes, rand, shape

import chainrule as cr

R = np.random.Generator


def _unary(name: str, fn: Any, ref: Any, lo: float = -2.0, hi: float = 2.0) -> Spec:
    return Spec(name, fn, lambda r: [rand(r, shape(r), lo, hi)], ref, id=name, gradgrad=True)


def _atan2_case(r: R) -> list[Any]:
    """Broadcastable (a, b) kept away from the origin (a² + b² ≥ 0.09)."""
    sa, sb = bshapes(r)
    return [away(r, sa, margin=0.3), away(r, sb, margin=0.3)]


def _modulo_case(r: R) -> list[Any]:
    """Divisors in {±1, ±2} and dividends k + f with f in (0.2, 0.8): every quotient is at
    least 0.1 from an integer, so finite differences never cross a jump."""
    sa, sb = bshapes(r)
    a = r.integers(-4, 4, sa) + r.uniform(0.2, 0.8, sa)
    return [a, r.choice([-2.0, -1.0, 1.0, 2.0], sb)]


SPECS: list[Spec] = [
    _unary("asin", cr.asin, np.arcsin, -0.9, 0.9),
    _unary("acos", cr.acos, np.arccos, -0.9, 0.9),
    _unary("atan", cr.atan, np.arctan, -3.0, 3.0),
    _unary("sinh", cr.sinh, np.sinh),
    _unary("cosh", cr.cosh, np.cosh),
    _unary("log2", cr.log2, np.log2, 0.2, 3.0),
    _unary("log10", cr.log10, np.log10, 0.2, 3.0),
    Spec("atan2", cr.atan2, _atan2_case, np.arctan2, id="atan2", gradgrad=True),
    Spec("atan2", lambda a: a.arctan2(0.5), lambda r: [rand(r, shape(r))],
         lambda a: np.arctan2(a, 0.5), id="arctan2-scalar"),
    Spec(("mul", "add", "sqrt"), cr.hypot, _atan2_case, np.hypot, id="hypot", gradgrad=True),
    Spec("fmod", cr.fmod, _modulo_case, np.fmod, id="fmod"),
    Spec("remainder", cr.remainder, _modulo_case, np.remainder, id="remainder"),
]

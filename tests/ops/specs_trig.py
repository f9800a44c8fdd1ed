"""Gradcheck specs for ``ops/trig.py`` beyond the ones derived from the op table
(``specs_table.py``): atan2 and hypot near the origin, atan2 with a Python scalar."""

from __future__ import annotations

from typing import Any

import numpy as np
from specs import Spec, away, bshapes, rand, shape

import chainrule as cr

R = np.random.Generator


def _atan2_case(r: R) -> list[Any]:
    """Broadcastable (a, b) kept away from the origin (a² + b² ≥ 0.09)."""
    sa, sb = bshapes(r)
    return [away(r, sa, margin=0.3), away(r, sb, margin=0.3)]


SPECS: list[Spec] = [  # the other trig ops and the moduli: derived from the op table
    Spec("atan2", cr.atan2, _atan2_case, np.arctan2, id="atan2", gradgrad=True),
    Spec("atan2", lambda a: a.arctan2(0.5), lambda r: [rand(r, shape(r))],
         lambda a: np.arctan2(a, 0.5), id="arctan2-scalar"),
    Spec(("mul", "add", "sqrt"), cr.hypot, _atan2_case, np.hypot, id="hypot", gradgrad=True),
]

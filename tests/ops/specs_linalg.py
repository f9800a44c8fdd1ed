"""Gradcheck specs for linear algebra: einsum with repeated labels (diagonals) and the
``cr.linalg`` decompositions and solvers, each against NumPy's own routine."""

from __future__ import annotations

from typing import Any

import numpy as np
from specs import Spec, rand

import chainrule as cr

R = np.random.Generator


def _diagonal_einsum_case(r: R) -> list[Any]:
    eq, shapes = [
        ("ii->i", [(3, 3)]),
        ("ii", [(3, 3)]),
        ("bii->bi", [(2, 3, 3)]),
        ("iji->j", [(2, 3, 2)]),
        ("iii->i", [(2, 2, 2)]),
        ("bij,bjj->bi", [(2, 3, 2), (2, 2, 2)]),
        ("...ii->...i", [(2, 2, 3, 3)]),
    ][int(r.integers(0, 7))]
    return [eq, *[rand(r, s) for s in shapes]]


SPECS = [
    Spec("einsum", cr.einsum, _diagonal_einsum_case, np.einsum, id="einsum-diagonal",
         gradgrad=True),
]

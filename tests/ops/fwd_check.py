"""Forward-mode check for public functions composed from primitives: the tangent
``cr.func.jvp`` computes equals the central difference along the same random direction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr


def assert_jvp_matches_fd(f: Callable[..., Any], *arrays: np.ndarray, seed: int = 0,
                          eps: float = 1e-6, rtol: float = 1e-6, atol: float = 1e-7) -> None:
    """``f`` maps float64 tensors to a Tensor or a tuple of Tensors."""
    rng = np.random.default_rng(seed)
    dirs = [rng.standard_normal(a.shape) for a in arrays]

    def flat(out: Any) -> np.ndarray:
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return np.concatenate([np.ravel(o.array) for o in outs])

    def at(h: float) -> np.ndarray:
        return flat(f(*[cr.tensor(a + h * d) for a, d in zip(arrays, dirs)]))

    _, tangent = cr.func.jvp(f, tuple(cr.tensor(a) for a in arrays),
                             tuple(cr.tensor(d) for d in dirs))
    np.testing.assert_allclose(flat(tangent), (at(eps) - at(-eps)) / (2 * eps), rtol=rtol,
                               atol=atol)

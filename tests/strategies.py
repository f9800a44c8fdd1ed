"""Hypothesis strategies shared by the test suite: float64 arrays of small shapes, mutually
broadcastable shapes, and random upstream gradients."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import strategies as st

FINITE = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False, width=64)
"""Moderate finite float64 values: gradients stay well conditioned."""

small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
"""Shapes of at most 3 dims and 4 elements a side, including 0-d and size-1 dims."""


def arrays(shape: object = small_shapes, elements: st.SearchStrategy = FINITE,
           dtype: object = np.float64) -> st.SearchStrategy:
    """float64 arrays of ``shape`` (a shape or a strategy of shapes)."""
    return hnp.arrays(dtype, shape, elements=elements)


def broadcastable(num_shapes: int = 2, max_dims: int = 3) -> st.SearchStrategy:
    """Shapes that broadcast together (size-1 and missing dims included); yields a
    ``BroadcastableShapes(input_shapes, result_shape)``."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=0,
                                             max_dims=max_dims, max_side=3)


def like(shape: tuple[int, ...]) -> st.SearchStrategy:
    """A random upstream gradient (never all ones) for an output of ``shape``."""
    return arrays(shape, st.floats(-2.0, 2.0, allow_nan=False, width=64))

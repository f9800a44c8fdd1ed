"""Inputs for every registered op, for the forward-mode checks in ``test_jvp_ops.py``.

``SPECS[name](rng) -> (arrays, call, diff)``: the inputs as float64 arrays (index and
condition inputs as int/bool), then either the op's keyword params (the op is applied directly)
or a function of all the inputs as tensors that runs the op (for ops whose params are internal
geometry, and for ops that only appear inside another op's backward or tangent rule), and the
positions of the differentiable inputs. The test checks that the op's tangent rule really ran.
The ops of the op table (``chainrule.ops.table``) take their inputs from their entries
(``from_table``), the rest are written here (``HAND_WRITTEN``); points are drawn away from
kinks and discontinuities so finite differences are valid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Call = dict[str, Any] | Callable[..., Any]
Spec = Callable[[np.random.Generator], tuple[list[np.ndarray], Call, tuple[int, ...]]]


def _n(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def _pos(rng: np.random.Generator, *shape: int, lo: float = 0.5, hi: float = 2.0) -> np.ndarray:
    return rng.uniform(lo, hi, shape)


def _away(rng: np.random.Generator, *shape: int, gap: float = 0.1) -> np.ndarray:
    """Normal values pushed at least ``gap`` away from 0 (for kinks at zero)."""
    x = _n(rng, *shape)
    return np.where(x >= 0, x + gap, x - gap)


def _unary(make: Callable[..., np.ndarray], **params: Any) -> Spec:
    return lambda rng: ([make(rng, 3, 4)], params, (0,))


def _tensor(a: np.ndarray) -> Any:
    import chainrule as cr

    return cr.tensor(a, dtype=cr.float64)


def _conv_weight_grad(x: Any, g: Any) -> Any:
    """∂/∂w of Σ g·conv2d(x, w): conv2d's backward runs ``conv2d_weight(x, g)``."""
    from chainrule.func import vjp

    conv2d = _lazy("chainrule.ops.conv", "conv2d", stride=2, padding=1)
    w = _tensor(np.ones((3, 2, 3, 3)))
    return vjp(lambda w: conv2d(x, w), w)[1](g)[0]


def _conv3d_weight_grad(x: Any, g: Any) -> Any:
    """∂/∂w of Σ g·conv3d(x, w): conv3d's backward runs ``conv3d_weight(x, g)``."""
    from chainrule.func import vjp

    conv3d = _lazy("chainrule.ops.conv", "conv3d", stride=2, padding=1)
    w = _tensor(np.ones((3, 2, 3, 3, 3)))
    return vjp(lambda w: conv3d(x, w), w)[1](g)[0]


def _pool_scatter(x: np.ndarray) -> Callable[..., Any]:
    """max_pool2d's backward at a fixed x, as a function of the cotangent (``max_pool_scatter``)."""
    from chainrule.func import vjp

    max_pool2d = _lazy("chainrule.ops.pool", "max_pool2d")
    return lambda g: vjp(lambda x: max_pool2d(x, 2), _tensor(x))[1](g)[0]


def _pool_gather(x: np.ndarray) -> Callable[..., Any]:
    """max_pool2d's tangent at a fixed x, as a function of the tangent (``max_pool_gather``)."""
    from chainrule.func import jvp

    max_pool2d = _lazy("chainrule.ops.pool", "max_pool2d")
    return lambda t: jvp(lambda x: max_pool2d(x, 2), (_tensor(x),), (t,))[1]


def _lazy(module: str, name: str, **kwargs: Any) -> Callable[..., Any]:
    """The public function ``name``, looked up when called: in ``module`` or, as op families
    move between files, in any ``chainrule.ops`` module."""

    def call(*args: Any) -> Any:
        import importlib
        import pkgutil

        import chainrule.ops

        mods = [module] + [f"chainrule.ops.{m.name}"
                           for m in pkgutil.iter_modules(chainrule.ops.__path__)]
        for mod in mods:
            fn = getattr(importlib.import_module(mod), name, None)
            if callable(fn):
                return fn(*args, **kwargs)
        raise AttributeError(f"no public function {name!r} in chainrule.ops")

    return call


def _on_symmetric(name: str, **params: Any) -> Callable[..., Any]:
    """The op on (A + Aᵀ)/2: it reads one triangle, so finite differences need symmetric
    steps."""

    def call(a: Any) -> Any:
        from chainrule.autograd import OPS

        return OPS[name].apply((a + a.mT) * 0.5, **params)

    return call


def _distinct(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Values with no ties (for max pooling)."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 + _n(rng, *shape) * 0.01


def from_table() -> dict[str, Spec]:
    """The ops of the op table, by primitive (composites by their own name), each run through
    its public function on the richest (most elements) of 20 draws of each of its sample
    generators on which the op builds a graph: its shapes, dims and indices fixed, its
    tensors' values drawn anew from the entry's domains."""
    from samples import call as call_drawn
    from samples import draw, redraw

    from chainrule.ops.table import TABLE

    def sampled(entry: Any) -> Spec:
        def call_with(args: list[Any]) -> Callable[..., Any]:
            slots = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]

            def call(*tensors: Any) -> Any:
                full = list(args)
                for i, t in zip(slots, tensors):
                    full[i] = t
                out = call_drawn(entry.function, full)
                if isinstance(out, (tuple, list)):  # every floating output, as one tensor
                    return _lazy("chainrule.ops.movement", "cat")(
                        [o.reshape(-1) for o in out if o.dtype.kind == "f"])
                return out

            return call

        def works(args: list[Any]) -> int:
            """The draw's size; 0 when the op builds no graph on it (squeeze of no size-1 dim)
            or, for a primitive, when its output is not the primitive's (pad by reflection)."""
            import chainrule as cr

            tensors = [cr.tensor(a, requires_grad=a.dtype == np.float64)
                       for a in args if isinstance(a, np.ndarray)]
            node = call_with(args)(*tensors).grad_fn
            if node is None or entry.op and node.name != entry.op.name:
                return 0
            return sum(t.numel() for t in tensors)

        args = max((draw(entry, np.random.default_rng(seed), key) for key in entry.samples
                    for seed in range(20)), key=works)
        call = call_with(args)
        slots = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]

        def make(rng: np.random.Generator) -> tuple[list[np.ndarray], Call, tuple[int, ...]]:
            arrays = [redraw(entry, args, rng)[i] for i in slots]
            return arrays, call, tuple(k for k, a in enumerate(arrays) if a.dtype == np.float64)

        return make

    return {e.op.name if e.op else e.name: sampled(e) for e in TABLE if e.samples}


HAND_WRITTEN: dict[str, Spec] = {
    "cast": _unary(_n, dtype=np.dtype(np.float64)),
    "layer_norm": lambda rng: ([_n(rng, 3, 4), _n(rng, 4), _n(rng, 4)], {"ndim": 1, "eps": 1e-5},
                               (0, 1, 2)),
    "scaled_dot_product_attention": lambda rng: (
        [_n(rng, 2, 3, 4), _n(rng, 2, 5, 4), _n(rng, 2, 5, 2), _n(rng, 3, 5)],
        {"scale": 0.5, "is_causal": True}, (0, 1, 2, 3)),
    "getitem": _unary(_n, index=(slice(None), np.array([0, 2, 2]))),
    "solve": lambda rng: ([_n(rng, 2, 3, 3) + 3 * np.eye(3), _n(rng, 3, 2)], {}, (0, 1)),
    "cholesky": lambda rng: ([_n(rng, 3, 3) * 0.3 + 2 * np.eye(3)], _on_symmetric("cholesky"),
                             (0,)),
    "qr": lambda rng: ([_n(rng, 2, 4, 3)], {"mode": "reduced"}, (0,)),
    "svd": lambda rng: ([_n(rng, 4, 3)], {"full_matrices": False}, (0,)),
    "eigh": lambda rng: ([_n(rng, 3, 3)], _on_symmetric("eigh", UPLO="L"), (0,)),
    "cross_entropy": lambda rng: ([_n(rng, 3, 4), _pos(rng, 3, 4)], {"dim": 1}, (0, 1)),
    "binary_cross_entropy": lambda rng: ([rng.uniform(0.1, 0.9, (3, 4)),
                                          rng.uniform(0, 1, (3, 4))], {}, (0, 1)),
    "conv2d_weight": lambda rng: ([_n(rng, 1, 2, 5, 5), _n(rng, 1, 3, 3, 3)], _conv_weight_grad,
                                  (0, 1)),
    "max_pool_scatter": lambda rng: ([_n(rng, 1, 2, 2, 2)],
                                     _pool_scatter(_distinct(rng, 1, 2, 4, 4)), (0,)),
    "max_pool_gather": lambda rng: ([_n(rng, 1, 2, 4, 4)],
                                    _pool_gather(_distinct(rng, 1, 2, 4, 4)), (0,)),
    "lstm_sequence": lambda rng: ([_n(rng, 3, 2, 3), _n(rng, 8, 3), _n(rng, 8, 2), _n(rng, 2, 2),
                                   _n(rng, 2, 2), _n(rng, 8)],
                                  _lazy("chainrule.ops.rnn", "lstm_sequence"),
                                  (0, 1, 2, 3, 4, 5)),
    "conv3d_weight": lambda rng: ([_n(rng, 1, 2, 4, 3, 4), _n(rng, 1, 3, 2, 2, 2)],
                                  _conv3d_weight_grad, (0, 1)),
    "pack": lambda rng: ([_n(rng, 2, 3), _n(rng, 4)],
                         lambda a, b: _lazy("chainrule.autograd.pack", "pack")([a, b]), (0, 1)),
    "checkpoint": lambda rng: ([_n(rng, 3, 4), _n(rng, 4)], _checkpointed, (0, 1)),
}
"""Inputs for the ops whose specs are hand-written (``NOT_FROM_TABLE`` in
``tests/ops/specs.py``, which says why for each) and for the fused primitives outside the
registry (lstm_sequence, pack, checkpoint)."""
SPECS: dict[str, Spec] = {**from_table(), **HAND_WRITTEN}


def _checkpointed(x: Any, w: Any) -> Any:
    from chainrule.utils.checkpoint import checkpoint

    return checkpoint(lambda a, b: ((a * b).tanh() * a).sum(0), x, w, use_reentrant=False)

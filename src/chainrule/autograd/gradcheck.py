"""Gradient checks against central finite differences in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chainrule.autograd.engine import grad
from chainrule.backend import xp
from chainrule.tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree; the message names the worst element."""


def _outputs(fn: Callable[..., Any], inputs: Sequence[Any]) -> list[Tensor]:
    out = fn(*inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _check_inputs(inputs: Sequence[Any]) -> list[Tensor]:
    diff = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck: no input requires grad")
    for x in diff:
        if x.dtype != xp.float64:
            raise ValueError(f"gradcheck: inputs must be float64 for reliable finite "
                             f"differences, got {x.dtype} (shape {x.shape})")
    return diff


def _numeric_jacobian(fn: Callable[..., Any], inputs: Sequence[Any], x: Tensor,
                      eps: float) -> list[Any]:
    """d(each output, flattened) / d(x, flattened), by central differences."""
    flat = x.array.flat  # writes through even when x.data is not contiguous
    cols: list[list[Any]] = []
    for k in range(x.numel()):
        orig = flat[k]
        flat[k] = orig + eps
        plus = [o.array.astype(xp.float64).ravel().copy() for o in _outputs(fn, inputs)]
        flat[k] = orig - eps
        minus = [o.array.astype(xp.float64).ravel().copy() for o in _outputs(fn, inputs)]
        flat[k] = orig
        cols.append([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
    n_out = len(cols[0]) if cols else 0
    return [xp.stack([c[j] for c in cols], axis=1) if cols else None for j in range(n_out)]


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any] | Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check the backward of ``fn`` against finite differences at ``inputs``.

    Every output is contracted with a random cotangent and backpropagated; the result is
    compared element by element with the numerical Jacobian's matching product.

    Raises:
        GradcheckError: naming the input, the worst element's index, and both values.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    diff = _check_inputs(inputs)
    outs = _outputs(fn, inputs)
    rng = xp.random.default_rng(1234)
    cotangents = [rng.standard_normal(o.shape) for o in outs]
    live = [(o, c) for o, c in zip(outs, cotangents) if o.requires_grad]
    if live:
        analytic = grad([o for o, _ in live], diff,
                        [Tensor._wrap(c.astype(o.dtype)) for o, c in live], allow_unused=True)
    else:
        analytic = (None,) * len(diff)
    for i, (x, a) in enumerate(zip(diff, analytic)):
        jac = _numeric_jacobian(fn, inputs, x, eps)
        numeric = sum((c.ravel() @ j for c, j in zip(cotangents, jac)),
                      xp.zeros(x.numel())).reshape(x.shape)
        got = xp.zeros(x.shape) if a is None else a.array
        err = xp.abs(got - numeric) - (atol + rtol * xp.abs(numeric))
        if err.size and (err.max() > 0 or not xp.isfinite(got).all()):
            k = xp.unravel_index(int(xp.nanargmax(xp.where(xp.isfinite(err), err, xp.inf))),
                                 x.shape)
            msg = (f"gradcheck: gradient of input {i} (shape {tuple(x.shape)}) is wrong at index "
                   f"{tuple(int(v) for v in k)}: analytic {got[k]:.8g}, numeric "
                   f"{numeric[k]:.8g} (atol={atol}, rtol={rtol})")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any] | Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check second derivatives: ``gradcheck`` of the map inputs → (backward of ``fn`` with a
    fixed random cotangent), built with ``create_graph=True``."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    _check_inputs(inputs)
    outs = _outputs(fn, inputs)
    rng = xp.random.default_rng(4321)
    cots = [Tensor._wrap(rng.standard_normal(o.shape)) for o in outs]

    def first_grads(*args: Any) -> tuple[Tensor, ...]:
        xs = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        o = _outputs(fn, args)
        gs = grad(o, xs, cots, create_graph=True, allow_unused=True)
        return tuple(g if g is not None else x * 0 for g, x in zip(gs, xs))

    return gradcheck(first_grads, inputs, eps, atol, rtol, raise_exception)

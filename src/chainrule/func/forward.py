"""Forward-mode transforms: ``jvp``, ``jacfwd``, and ``hessian`` / ``hvp`` built on them.

``jvp`` opens a forward-mode level, attaches the tangents to the primals and runs the function
once: every op computes its output's tangent from its inputs' tangents with its ``jvp`` rule
as it runs (see ``autograd/forward_ad.py``). No reverse pass is involved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule.autograd import forward_ad
from chainrule.backend import xp
from chainrule.func import _tree
from chainrule.func.reverse import Argnums, _argnums, _with_args, jacrev, value_and_grad
from chainrule.tensor import Tensor


def _check_float(x: Any, fn: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: expected primals to be Tensors (or trees of Tensors), got "
                        f"{type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: can only differentiate floating tensors, got dtype {x.dtype}")
    return x


def jvp(func: Callable[..., Any], primals: tuple[Any, ...], tangents: tuple[Any, ...],
        has_aux: bool = False) -> Any:
    """``func(*primals)`` and its directional derivative ``J·tangents``, in one forward pass.

    Args:
        func: maps Tensors (or trees of them) to a Tensor or a tree of Tensors.
        primals: tuple of the point's arguments.
        tangents: tuple shaped like ``primals``: the direction.
        has_aux: ``func`` returns ``(output, aux)``; ``aux`` is returned as a third item.

    Returns:
        ``(output, tangent_out)``, ``tangent_out`` shaped like ``output``.

    Example:
        >>> import chainrule as cr
        >>> cr.func.jvp(cr.exp, (cr.tensor(0.0),), (cr.tensor(2.0),))
        (tensor(1.), tensor(2.))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples (e.g. (x,) and (v,))")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(primals)} primals but {len(tangents)} tangents")
    level = forward_ad.enter_level()
    try:
        duals = []
        for p, t in zip(primals, tangents):
            p_leaves, p_def = _tree.flatten(p)
            t_leaves, _ = _tree.flatten(t)
            if len(p_leaves) != len(t_leaves):
                raise ValueError("jvp: each tangent must have the structure of its primal")
            duals.append(_tree.unflatten(p_def, [
                forward_ad.make_dual(_check_float(x, "jvp"), _as_tensor(v, x), level)
                for x, v in zip(p_leaves, t_leaves)]))
        result = func(*duals)
        aux = None
        if has_aux:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise ValueError("jvp(has_aux=True): func must return a tuple (output, aux)")
            result, aux = result
        leaves, treedef = _tree.flatten(result)
        outs, touts = [], []
        for o in leaves:
            if not isinstance(o, Tensor):
                raise TypeError(f"jvp: func must return Tensors, got {type(o).__name__}")
            t = forward_ad.tangent_of(o, level)
            touts.append(t if t is not None else Tensor._wrap(xp.zeros_like(o.data)))
    finally:
        forward_ad.exit_level(level)
    outs = [forward_ad.unpack(o, level) for o in leaves]
    out = (_tree.unflatten(treedef, outs), _tree.unflatten(treedef, touts))
    return (*out, aux) if has_aux else out


def _as_tensor(v: Any, like: Tensor) -> Tensor:
    return v if isinstance(v, Tensor) else Tensor(v, dtype=like.dtype)


def jacfwd(func: Callable[..., Any], argnums: Argnums = 0,
           has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian by forward mode: one ``jvp`` (one forward pass) per input element.

    Same shapes and structure as ``jacrev``: ``output.shape + input.shape`` per pair.

    Example:
        >>> import chainrule as cr
        >>> cr.func.jacfwd(lambda x: x ** 2)(cr.tensor([1.0, 2.0]))
        tensor([[2., 0.],
                [0., 4.]])
    """

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from chainrule.ops.movement import stack

        nums = _argnums(argnums, len(args), "jacfwd")
        flat = [_tree.flatten(args[i]) for i in nums]
        for leaves, _ in flat:
            for x in leaves:
                _check_float(x, "jacfwd")

        inner = _with_args(func, args, kwargs, nums)
        primals = tuple(args[i] for i in nums)
        zeros = [[Tensor._wrap(xp.zeros_like(x.data)) for x in leaves] for leaves, _ in flat]
        columns: dict[tuple[int, int], list[Any]] = {}
        out = aux = None
        for a, (leaves, _) in enumerate(flat):
            for m, x in enumerate(leaves):
                cols = []
                for j in range(x.numel()):
                    basis = xp.zeros(x.numel(), x.dtype)
                    basis[j] = 1
                    tans = [list(z) for z in zeros]
                    tans[a][m] = Tensor._wrap(basis.reshape(x.shape))
                    tangents = tuple(_tree.unflatten(d, t) for (_, d), t in zip(flat, tans))
                    res = jvp(inner, primals, tangents, has_aux=has_aux)
                    out, tout = res[0], res[1]
                    aux = res[2] if has_aux else None
                    cols.append(_tree.flatten(tout)[0])
                columns[a, m] = cols
        if out is None:  # no input elements at all
            res = jvp(inner, primals, tuple(_tree.unflatten(d, z)
                                            for (_, d), z in zip(flat, zeros)), has_aux=has_aux)
            out, aux = res[0], (res[2] if has_aux else None)
        out_leaves, out_def = _tree.flatten(out)
        per_out = []
        for k, o in enumerate(out_leaves):
            per_arg = []
            for a, (leaves, in_def) in enumerate(flat):
                jacs = []
                for m, x in enumerate(leaves):
                    cols = [c[k] for c in columns[a, m]]
                    if cols:
                        j = stack(cols, dim=-1).reshape(*o.shape, *x.shape)
                    else:
                        j = Tensor._wrap(xp.zeros((*o.shape, *x.shape), o.dtype))
                    jacs.append(j)
                per_arg.append(_tree.unflatten(in_def, jacs))
            per_out.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
        jac = _tree.unflatten(out_def, per_out)
        return (jac, aux) if has_aux else jac

    return wrapper


def hessian(func: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The Hessian of a scalar function, forward-over-reverse: ``jacfwd(jacrev(func))``.

    Example:
        >>> import chainrule as cr
        >>> cr.func.hessian(lambda x: (x ** 3).sum())(cr.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    return jacfwd(jacrev(func, argnums), argnums)


def hvp(func: Callable[..., Any], primals: tuple[Any, ...],
        tangents: tuple[Any, ...]) -> tuple[Any, Any]:
    """The Hessian-vector product ``H·v`` of a scalar function without forming ``H``:
    forward mode over one reverse pass (``jvp(grad(func), primals, tangents)``).

    Returns:
        ``(func(*primals), H·v)``, ``H·v`` shaped like the first primal (a tuple of them when
        there are several primals), as ``torch.autograd.functional.hvp``.

    Example:
        >>> import chainrule as cr
        >>> f = lambda x: (x ** 3).sum()
        >>> _, hv = cr.func.hvp(f, (cr.tensor([1.0, 2.0]),), (cr.tensor([1.0, 0.0]),))
        >>> hv
        tensor([6., 0.])
    """
    argnums = 0 if len(primals) == 1 else tuple(range(len(primals)))
    vg = value_and_grad(func, argnums)
    (value, _), (_, hv) = jvp(vg, tuple(primals), tuple(tangents))
    return value, hv

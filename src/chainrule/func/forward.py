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
from chainrule.func import _tree, batching
from chainrule.func.reverse import Argnums, _argnums, _physical, _with_args, jacrev, value_and_grad
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
    levels = batching.active_levels()  # inside vmap: carry tangents on the physical batch
    level = forward_ad.enter_level()
    try:
        duals = []
        for p, t in zip(primals, tangents):
            p_leaves, p_def = _tree.flatten(p)
            t_leaves, _ = _tree.flatten(t)
            if len(p_leaves) != len(t_leaves):
                raise ValueError("jvp: each tangent must have the structure of its primal")
            pairs = []
            for x, v in zip(p_leaves, t_leaves):
                v = _as_tensor(v, _check_float(x, "jvp"))
                if v.shape != x.shape:
                    raise ValueError(f"jvp: tangent shape {tuple(v.shape)} does not match "
                                     f"primal shape {tuple(x.shape)}")
                pairs.append(batching.from_physical(forward_ad.make_dual(
                    _physical(x, levels, "jvp"), _physical(v, levels, "jvp"), level), levels))
            duals.append(_tree.unflatten(p_def, pairs))
        result = func(*duals)
        aux = None
        if has_aux:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise ValueError("jvp(has_aux=True): func must return a tuple (output, aux)")
            result, aux = result
        leaves, treedef = _tree.flatten(result)
        for o in leaves:
            if not isinstance(o, Tensor):
                raise TypeError(f"jvp: func must return Tensors, got {type(o).__name__}")
        leaves = [_physical(o, levels, "jvp") for o in leaves]
        touts = []
        for o in leaves:
            t = forward_ad.tangent_of(o, level)
            touts.append(batching.from_physical(
                t if t is not None else Tensor._wrap(xp.zeros_like(o.array)), levels))
    finally:
        forward_ad.exit_level(level)
    outs = [batching.from_physical(forward_ad.unpack(o, level), levels) for o in leaves]
    out = (_tree.unflatten(treedef, outs), _tree.unflatten(treedef, touts))
    return (*out, aux) if has_aux else out


def _as_tensor(v: Any, like: Tensor) -> Tensor:
    return v if isinstance(v, Tensor) else Tensor(v, dtype=like.dtype)


def jacfwd(func: Callable[..., Any], argnums: Argnums = 0,
           has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian by forward mode: ``jvp`` vmapped over the basis of the inputs, so one
    batched forward pass computes every column (``torch.func.jacfwd``). Outside ``vmap`` only
    the tangents are batched: the primal computation runs once, as in torch.func.

    Same shapes and structure as ``jacrev``: ``output.shape + input.shape`` per pair.

    Example:
        >>> import chainrule as cr
        >>> cr.func.jacfwd(lambda x: x ** 2)(cr.tensor([1.0, 2.0]))
        tensor([[2., 0.],
                [0., 4.]])
    """

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args), "jacfwd")
        flat = [_tree.flatten(args[i]) for i in nums]
        leaves = [x for xs, _ in flat for x in xs]
        for x in leaves:
            _check_float(x, "jacfwd")
        inner = _with_args(func, args, kwargs, nums)
        primals = tuple(args[i] for i in nums)
        out, aux = _evaluate(inner, primals, has_aux)
        bases = _basis(leaves)

        def push(*tangent_leaves: Any) -> Any:
            it = iter(tangent_leaves)
            tangents = tuple(_tree.unflatten(d, [next(it) for _ in xs]) for xs, d in flat)
            return jvp(inner, primals, tangents, has_aux=has_aux)[1]

        out_leaves, out_def = _tree.flatten(out)
        if bases and not batching.active_levels():
            columns = batching.batch_tangents(lambda *t: _tree.flatten(push(*t))[0], bases)
        elif bases:
            columns = _tree.flatten(batching.vmap(push)(*bases))[0]
        else:
            columns = [Tensor._wrap(xp.zeros((0, *o.shape), o.dtype)) for o in out_leaves]
        per_out = []
        for o, col in zip(out_leaves, columns):
            pieces = _split(col, leaves)
            per_arg = []
            start = 0
            for xs, in_def in flat:
                jacs = [p.movedim(0, -1).reshape(*o.shape, *x.shape)
                        for p, x in zip(pieces[start:start + len(xs)], xs)]
                start += len(xs)
                per_arg.append(_tree.unflatten(in_def, jacs))
            per_out.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
        jac = _tree.unflatten(out_def, per_out)
        return (jac, aux) if has_aux else jac

    return wrapper


def _evaluate(func: Callable[..., Any], primals: tuple[Any, ...], has_aux: bool) -> Any:
    """``func(*primals)`` as ``(output, aux)`` (aux None without ``has_aux``)."""
    result = func(*primals)
    if not has_aux:
        return result, None
    if not (isinstance(result, tuple) and len(result) == 2):
        raise ValueError("has_aux=True: func must return a tuple (output, aux)")
    return result


def _basis(leaves: list[Tensor]) -> list[Tensor]:
    """The standard basis of the concatenated ``leaves``, one tensor per leaf, each of shape
    ``(n, *leaf.shape)``: row k is the k-th basis vector's part in that leaf."""
    n = sum(x.numel() for x in leaves)
    if not n:
        return []
    bases, start = [], 0
    for x in leaves:
        m = x.numel()
        block = xp.zeros((n, m), x.dtype)
        block[xp.arange(start, start + m), xp.arange(m)] = 1
        bases.append(Tensor._wrap(block.reshape(n, *x.shape)))
        start += m
    return bases


def _split(t: Tensor, leaves: list[Tensor]) -> list[Tensor]:
    """``t`` cut along dim 0 into one piece per leaf (``leaf.numel()`` rows each)."""
    pieces, start = [], 0
    for x in leaves:
        pieces.append(t[start:start + x.numel()])
        start += x.numel()
    return pieces


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

"""Reverse-mode transforms: ``vjp``, ``grad``, ``value_and_grad``, ``jacrev``.

Each call differentiates with respect to fresh graph nodes standing for its inputs, built on
the engine's ``autograd.grad``. A transform keeps the graph of its own backward pass only when
something outside it needs that graph (an input or a closed-over tensor that requires grad, for
an enclosing ``grad`` or a later ``.backward()``), so ``grad(grad(f))`` composes and a lone
``grad`` costs one plain backward. Forward-mode tangents flow through the backward pass too,
which is how ``jacfwd(jacrev(f))`` (forward-over-reverse) works.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule.autograd.engine import grad as _autograd_grad
from chainrule.autograd.grad_mode import enable_grad
from chainrule.backend import xp
from chainrule.func import _tree, batching
from chainrule.tensor import Tensor

Argnums = int | tuple[int, ...]


def _track(x: Any, fn: str) -> Tensor:
    """A new node equal to ``x`` that requires grad: an alias when ``x`` is itself tracked by
    an outer graph, else a leaf over the same data; forward-mode tangents are kept."""
    from chainrule.ops.shape import Reshape

    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: expected the differentiated arguments to be Tensors (or "
                        f"tuples/lists/dicts of Tensors), got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: can only differentiate floating tensors, got dtype {x.dtype}")
    if x.requires_grad:
        return Reshape.apply(x, shape=x.shape)
    leaf = Tensor._wrap(x.array, requires_grad=True)
    if x._tangents:
        leaf._tangents = dict(x._tangents)
    return leaf


def _argnums(argnums: Argnums, n: int, fn: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise ValueError(f"{fn}: argnums must not be empty")
    for a in nums:
        if not -n <= a < n:
            raise ValueError(f"{fn}: argnums {argnums} out of range for {n} positional "
                             f"argument(s)")
    return tuple(a % n for a in nums)


def _with_args(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                nums: tuple[int, ...]) -> Callable[..., Any]:
    """``func`` as a function of the positional arguments at ``nums`` only, the others fixed."""

    def inner(*diff: Any) -> Any:
        full = list(args)
        for i, d in zip(nums, diff):
            full[i] = d
        return func(*full, **kwargs)

    return inner


def _needs_graph(outputs: list[Tensor], inputs: list[Tensor], extra: list[Tensor]) -> bool:
    """Whether the backward pass must be recorded: some leaf requiring grad other than our own
    inputs feeds the outputs, or a cotangent is itself differentiable."""
    for t in extra:
        if t.requires_grad:  # (forward-mode tangents flow through a plain backward too)
            return True
    if any(t.grad_fn is not None for t in inputs):  # an alias of a tensor an outer graph tracks
        return True
    ours = {id(t) for t in inputs}
    seen: set[int] = set()
    stack = [t for t in outputs if id(t) not in ours]
    while stack:
        t = stack.pop()
        if t.grad_fn is None:
            if t.requires_grad:
                return True
            continue
        op = t.grad_fn
        if id(op) in seen or op.inputs is None:
            continue
        seen.add(id(op))
        for x, need in zip(op.inputs, op.needs_input_grad):
            if need and id(x) not in ours:
                stack.append(x)
    return False


def _physical(x: Any, levels: list[int], fn: str) -> Any:
    """``x`` as the plain tensor holding its values at every running vmap level (see
    ``batching.to_physical``); ``x`` itself outside vmap."""
    if not levels or not isinstance(x, Tensor):
        return x
    if isinstance(x, batching.BatchedTensor) and x._level < levels[-1] and (
            x._level not in levels):
        raise NotImplementedError(f"{fn}: an input batched by a vmap that is not running "
                                  "here")
    return batching.to_physical(x, levels)


def _strip(t: Any) -> Any:
    """``t`` cut from the transform's private graph (tangents kept), when nothing outside
    needs the graph."""
    if not isinstance(t, Tensor):
        return t
    if isinstance(t, batching.BatchedTensor):  # (the gradients of a vmapped vjp_fn)
        return batching.wrap(_strip(t._value), t._level)
    out = Tensor._wrap(t.array)
    out._tangents = t._tangents
    return out


def vjp(func: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``func(*primals)`` and a function pulling output cotangents back to the primals.

    Args:
        func: maps Tensors (or trees of them) to a Tensor or a tree of Tensors.
        primals: the point to differentiate at.
        has_aux: ``func`` returns ``(output, aux)``; ``aux`` is returned unchanged.

    Returns:
        ``(output, vjp_fn)`` (plus ``aux``): ``vjp_fn(cotangents)`` takes one cotangent per
        output leaf, shaped like the output, and returns a tuple with one gradient per primal,
        ``vᵀ·J``.

    Example:
        >>> import chainrule as cr
        >>> out, vjp_fn = cr.func.vjp(cr.sin, cr.tensor([0.0, 1.0]))
        >>> vjp_fn(cr.ones(2))[0]
        tensor([1.0000, 0.5403])
    """
    levels = batching.active_levels()  # inside vmap: differentiate the physical batch
    flat, treedefs = [], []
    with enable_grad():  # as torch.func: an outer no_grad is ignored, one inside func is not
        for p in primals:
            leaves, treedef = _tree.flatten(p)
            flat.append([_track(_physical(x, levels, "vjp"), "vjp") for x in leaves])
            treedefs.append(treedef)
        result = func(*[_tree.unflatten(d, [batching.from_physical(x, levels) for x in f])
                        for d, f in zip(treedefs, flat)])
    aux = None
    if has_aux:
        if not (isinstance(result, tuple) and len(result) == 2):
            raise ValueError("vjp(has_aux=True): func must return a tuple (output, aux)")
        result, aux = result
    out_leaves, out_def = _tree.flatten(result)
    for o in out_leaves:
        if not isinstance(o, Tensor):
            raise TypeError(f"vjp: func must return Tensors, got {type(o).__name__}")
    logical = out_leaves
    if levels:
        with enable_grad():
            out_leaves = [batching.to_physical(o, levels) for o in out_leaves]
    inputs = [x for f in flat for x in f]
    keep_out = _needs_graph(out_leaves, inputs, [])  # walked once, not per cotangent

    def vjp_fn(*cotangents: Any) -> tuple[Any, ...]:
        cots = cotangents[0] if len(cotangents) == 1 else cotangents
        cot_leaves, _ = _tree.flatten(cots)
        if len(cot_leaves) != len(out_leaves):
            raise ValueError(f"vjp_fn: expected {len(out_leaves)} cotangent(s), got "
                             f"{len(cot_leaves)}")
        outs, grads_out = [], []
        for o, lo, c in zip(out_leaves, logical, cot_leaves):
            c = c if isinstance(c, Tensor) else Tensor(c, dtype=o.dtype)
            if c.shape != lo.shape:
                raise ValueError(f"vjp_fn: cotangent shape {tuple(c.shape)} does not match "
                                 f"output shape {tuple(lo.shape)}")
            c = _physical(c, levels, "vjp_fn")
            if o.requires_grad:
                outs.append(o)
                grads_out.append(c)
        keep = keep_out or _needs_graph([], inputs, grads_out)
        if outs:
            with enable_grad():
                grads = _autograd_grad(outs, inputs, grads_out, retain_graph=True,
                                       create_graph=keep, allow_unused=True)
        else:
            grads = (None,) * len(inputs)
        grads = [batching.from_physical(
            Tensor._wrap(xp.zeros_like(x.array)) if g is None else g if keep else _strip(g),
            levels) for x, g in zip(inputs, grads)]
        it = iter(grads)
        return tuple(_tree.unflatten(d, [next(it) for _ in f]) for d, f in zip(treedefs, flat))

    output = result if keep_out else _tree.unflatten(
        out_def, [batching.from_physical(_strip(o), levels) for o in out_leaves])
    return (output, vjp_fn, aux) if has_aux else (output, vjp_fn)


def value_and_grad(func: Callable[..., Any], argnums: Argnums = 0,
                   has_aux: bool = False) -> Callable[..., Any]:
    """Like ``grad`` but the transformed function returns ``(value, gradient)`` (with
    ``has_aux``: ``((value, aux), gradient)``).

    Example:
        >>> import chainrule as cr
        >>> value, grad = cr.func.value_and_grad(lambda x: (x ** 2).sum())(cr.tensor([1.0, 2.0]))
        >>> value, grad
        (tensor(5.), tensor([2., 4.]))
    """

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args), "grad")

        inner = _with_args(func, args, kwargs, nums)
        out = vjp(inner, *[args[i] for i in nums], has_aux=has_aux)
        value, vjp_fn = out[0], out[1]
        if not isinstance(value, Tensor) or value.numel() != 1:
            shape = getattr(value, "shape", type(value).__name__)
            raise RuntimeError(f"grad: func must return a one-element Tensor, got {shape}")
        grads = vjp_fn(Tensor._wrap(xp.ones(tuple(value.shape), value.dtype)))
        g = grads[0] if isinstance(argnums, int) else grads
        return ((value, out[2]), g) if has_aux else (value, g)

    return wrapper


def grad(func: Callable[..., Any], argnums: Argnums = 0,
         has_aux: bool = False) -> Callable[..., Any]:
    """The gradient of a scalar function, as a function (``torch.func.grad``, ``jax.grad``).

    Args:
        func: returns a one-element Tensor (or ``(Tensor, aux)`` with ``has_aux``).
        argnums: which positional argument(s) to differentiate; a tuple gives a tuple.
        has_aux: return ``(gradient, aux)``.

    Example:
        >>> import chainrule as cr
        >>> d2 = cr.func.grad(cr.func.grad(lambda x: x ** 3))
        >>> d2(cr.tensor(2.0))
        tensor(12.)
    """
    vg = value_and_grad(func, argnums, has_aux)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def jacrev(func: Callable[..., Any], argnums: Argnums = 0,
           has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian by reverse mode: the forward runs once and its ``vjp_fn`` is vmapped over
    the basis of the outputs, so one batched backward pass computes every row
    (``torch.func.jacrev``).

    For an output of shape ``O`` and an input of shape ``I`` the Jacobian has shape ``O + I``.
    With a tuple ``argnums`` (or a tree-valued input) each output gets a tuple (tree) of
    Jacobians; a tuple of outputs gives a tuple of those.

    Example:
        >>> import chainrule as cr
        >>> cr.func.jacrev(lambda x: x.sum() * x)(cr.tensor([1.0, 2.0]))
        tensor([[4., 1.],
                [2., 5.]])
    """

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from chainrule.func.forward import _basis, _split

        nums = _argnums(argnums, len(args), "jacrev")
        inner = _with_args(func, args, kwargs, nums)
        primals = [args[i] for i in nums]
        # as torch.func: the forward runs once, only the vector-Jacobian products are vmapped
        res = vjp(inner, *primals, has_aux=has_aux)
        out, vjp_fn, aux = res if has_aux else (*res, None)
        out_leaves, out_def = _tree.flatten(out)
        for o in out_leaves:
            if not isinstance(o, Tensor):
                raise TypeError(f"jacrev: func must return Tensors, got {type(o).__name__}")
        flat = [_tree.flatten(p) for p in primals]
        leaves = [x for xs, _ in flat for x in xs]

        def pull(*cotangent_leaves: Any) -> Any:
            return [x for g in vjp_fn(_tree.unflatten(out_def, list(cotangent_leaves)))
                    for x in _tree.flatten(g)[0]]

        bases = _basis(out_leaves)
        if bases:
            rows = batching.vmap(pull)(*bases)
        else:
            rows = [Tensor._wrap(xp.zeros((0, *x.shape), x.dtype)) for x in leaves]
        per_out = [[] for _ in out_leaves]
        for x, row in zip(leaves, rows):
            for k, (o, piece) in enumerate(zip(out_leaves, _split(row, out_leaves))):
                per_out[k].append(piece.reshape(*o.shape, *x.shape))
        jacs = []
        for k in range(len(out_leaves)):
            it = iter(per_out[k])
            per_arg = [_tree.unflatten(d, [next(it) for _ in xs]) for xs, d in flat]
            jacs.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
        jac = _tree.unflatten(out_def, jacs)
        return (jac, aux) if has_aux else jac

    return wrapper

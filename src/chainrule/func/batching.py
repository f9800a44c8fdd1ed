"""``vmap``: map a function over a batch dimension of its inputs.

NOTE: chainrule has no per-op batching rules yet, so ``vmap`` runs ``func`` once per batch
element and stacks the results: the semantics of ``torch.func.vmap`` (``in_dims``, ``out_dims``,
nesting, composing with ``grad``/``jacrev``), not its speed. Functions written for one sample
therefore work unchanged, and a batching rule per op can later replace the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule.func import _tree
from chainrule.tensor import Tensor


def vmap(func: Callable[..., Any], in_dims: Any = 0, out_dims: Any = 0,
         randomness: str = "error", *, chunk_size: int | None = None) -> Callable[..., Any]:
    """Vectorise ``func`` over dimension ``in_dims`` of its inputs.

    Args:
        func: a function of Tensors (or trees of them) written for one sample.
        in_dims: the batch dim of every input (an int), or one entry per positional argument
            (an int, or None for an argument shared by all samples).
        out_dims: where the batch dim goes in each output (an int, or one per output).
        randomness: accepted for compatibility with ``torch.func.vmap`` (samples run one by
            one, so random ops draw different values per sample, as ``'different'``).
        chunk_size: accepted for compatibility; ignored.

    Example:
        >>> import chainrule as cr
        >>> batched_dot = cr.func.vmap(cr.dot)
        >>> batched_dot(cr.ones(3, 2), cr.ones(3, 2))
        tensor([2., 2., 2.])
    """
    if randomness not in ("error", "different", "same"):
        raise ValueError(f"vmap: randomness must be 'error', 'different' or 'same', got "
                         f"{randomness!r}")

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from chainrule.ops.movement import stack

        dims = in_dims if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap: in_dims has {len(dims)} entries but func got {len(args)} "
                             "positional arguments")
        size = None
        for a, d in zip(args, dims):
            if d is None:
                continue
            for x in _tree.flatten(a)[0]:
                if not isinstance(x, Tensor):
                    raise TypeError(f"vmap: mapped inputs must be Tensors, got "
                                    f"{type(x).__name__}")
                n = x.shape[d]
                if size is not None and n != size:
                    raise ValueError(f"vmap: inputs have different sizes along the mapped "
                                     f"dims: {size} and {n}")
                size = n
        if size is None:
            raise ValueError("vmap: at least one input must be mapped (in_dims not all None)")
        results = []
        for i in range(size):
            sample = [a if d is None else _tree.map_leaves(lambda x, d=d, i=i: _take(x, d, i), a)
                      for a, d in zip(args, dims)]
            results.append(func(*sample, **kwargs))
        leaves0, treedef = _tree.flatten(results[0])
        odims = out_dims if isinstance(out_dims, (tuple, list)) else (out_dims,) * len(leaves0)
        stacked = []
        for k, d in enumerate(odims):
            pieces = [_tree.flatten(r)[0][k] for r in results]
            stacked.append(stack(pieces, dim=d))
        return _tree.unflatten(treedef, stacked)

    return wrapper


def _take(x: Tensor, dim: int, i: int) -> Tensor:
    d = dim % x.ndim
    return x[(slice(None),) * d + (i,)]

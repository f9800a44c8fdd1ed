"""Message passing on graphs: each node's new state combines its own state with an
order-invariant aggregate (sum, mean or max) of its neighbours' states.

A graph is an ``edge_index`` of shape (2, E): column k is an edge from node
``edge_index[0, k]`` (source) to ``edge_index[1, k]`` (target); messages flow source → target.
Undirected graphs list both directions. The sum is a ``scatter_add`` of the gathered source
rows taken in a canonical edge order, so the result does not depend — not even in the last
bit — on the order in which the edges are listed (a graph has no edge order).
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import xp
from chainrule.nn.modules.module import Module
from chainrule.ops.movement import scatter_add
from chainrule.tensor import Tensor


def _check_edges(edge_index: Any, num_nodes: int) -> Any:
    idx = edge_index.array if isinstance(edge_index, Tensor) else xp.asarray(edge_index)
    if idx.ndim != 2 or idx.shape[0] != 2 or idx.dtype.kind not in "iu":
        raise ValueError(f"edge_index must be an integer array of shape (2, E), got shape "
                         f"{tuple(idx.shape)} and dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= num_nodes):
        raise ValueError(f"edge_index refers to nodes outside [0, {num_nodes}): range "
                         f"[{idx.min()}, {idx.max()}]")
    return idx


def scatter_sum(src: Tensor, index: Any, num_nodes: int) -> Tensor:
    """out[i] = Σ_{k : index[k] = i} src[k] for src (E, F); rows with no entry are 0."""
    idx = index.array if isinstance(index, Tensor) else xp.asarray(index)
    zeros = Tensor._wrap(xp.zeros((num_nodes, *src.shape[1:]), src.dtype))
    full = xp.broadcast_to(idx.reshape(-1, *([1] * (src.ndim - 1))), src.shape)
    return scatter_add(zeros, 0, Tensor._wrap(full), src)


def aggregate(x: Tensor, edge_index: Any, aggr: str = "sum") -> Tensor:
    """For every node, the ``aggr`` ('sum' | 'mean' | 'max') of its in-neighbours' rows of x
    (N, F); nodes without in-edges get 0."""
    n = x.shape[0]
    idx = _check_edges(edge_index, n)
    # NOTE: floating-point sums depend on the order of their terms; visiting the edges in a
    # canonical order (by target, then source) makes the result bitwise independent of the
    # order in which the edges were listed.
    order = xp.lexsort((idx[0], idx[1]))
    src, dst = idx[0][order], idx[1][order]
    if aggr == "max":
        return _scatter_max(x, src, dst, n)
    total = scatter_sum(x[src], dst, n)
    if aggr == "sum":
        return total
    if aggr == "mean":
        deg = xp.bincount(dst, minlength=n).astype(x.dtype)
        return total / Tensor._wrap(xp.maximum(deg, 1).reshape(-1, *([1] * (x.ndim - 1))))
    raise ValueError(f"aggr must be 'sum', 'mean' or 'max', got {aggr!r}")


def _scatter_max(x: Tensor, src: Any, dst: Any, n: int) -> Tensor:
    """Per-target maximum of the source rows, differentiable: a dense (N, N, F) masked max
    would be quadratic, so take the per-target arg-max edge with NumPy and gather it."""
    vals = x.array[src]
    best = xp.full((n, *x.shape[1:]), -xp.inf, x.dtype)
    xp.maximum.at(best, dst, vals)
    # for each (target, feature), the first edge reaching the maximum
    hit = vals == best[dst]
    order = xp.arange(len(dst)).reshape(-1, *([1] * (x.ndim - 1)))
    first = xp.full(best.shape, len(dst), xp.int64)
    xp.minimum.at(first, dst, xp.where(hit, order, len(dst)))
    has = xp.bincount(dst, minlength=n) > 0
    first = xp.where(has.reshape(-1, *([1] * (x.ndim - 1))), first, 0)
    chosen = Tensor._wrap(xp.asarray(src)[first] if len(src) else xp.zeros_like(first))
    out = x.gather(0, chosen) if x.ndim > 1 else x[chosen]
    return out * Tensor._wrap(has.reshape(-1, *([1] * (x.ndim - 1))).astype(x.dtype))


class GraphConv(Module):
    """h'_i = W_root h_i + W_rel · aggr_{j → i} h_j + b (Morris et al., 2019; PyG's
    ``GraphConv``).

    Args:
        in_features, out_features: node feature sizes.
        aggr: 'sum' (default), 'mean' or 'max' over in-neighbours.
        bias: learn b (held by ``lin_rel``).

    Attributes:
        lin_rel: Linear(in, out) applied to the aggregate; lin_root: Linear(in, out, bias=False)
        applied to the node itself (both Linear's default init).

    Shape:
        x (N, in_features), edge_index (2, E) integers → (N, out_features).

    Example:
        >>> import chainrule as cr
        >>> conv = GraphConv(3, 2)
        >>> conv(cr.randn(4, 3), cr.tensor([[0, 1, 2], [1, 2, 3]])).shape
        chainrule.Size([4, 2])
    """

    def __init__(self, in_features: int, out_features: int, aggr: str = "sum",
                 bias: bool = True) -> None:
        super().__init__()
        from chainrule.nn.modules.linear import Linear

        if aggr not in ("sum", "mean", "max"):
            raise ValueError(f"aggr must be 'sum', 'mean' or 'max', got {aggr!r}")
        self.in_features, self.out_features, self.aggr = in_features, out_features, aggr
        self.lin_rel = Linear(in_features, out_features, bias=bias)
        self.lin_root = Linear(in_features, out_features, bias=False)

    def forward(self, x: Tensor, edge_index: Any) -> Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"GraphConv: expected node features of shape (N, "
                             f"{self.in_features}), got {tuple(x.shape)}")
        return self.lin_rel(aggregate(x, edge_index, self.aggr)) + self.lin_root(x)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, aggr={self.aggr!r}"

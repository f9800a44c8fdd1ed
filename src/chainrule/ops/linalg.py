"""Linear algebra: matmul (1-D, 2-D and batched with broadcasting), einsum, and composites."""

from __future__ import annotations

from typing import Any

from chainrule import backend
from chainrule.autograd.function import Op, register
from chainrule.backend import Array, xp
from chainrule.tensor import Tensor, tensor_method


def _dtype_mismatch(op: Op, *xs: Array) -> RuntimeError:
    """PyTorch's refusal to multiply matrices of different dtypes (no silent promotion)."""
    dtypes = " and ".join(str(x.dtype) for x in xs)
    return RuntimeError(f"{op.name}: expected all operands to have the same dtype, but got "
                        f"{dtypes} (convert with .to(dtype), e.g. .float())")


@register
class Matmul(Op):
    """a @ b for operands of ≥ 2 dims, batch dims broadcasting.
    ∂/∂a = g @ bᵀ, ∂/∂b = aᵀ @ g (summed over broadcast batch dims by the engine)."""

    name = "matmul"

    def forward(self, a: Array, b: Array) -> Array:
        if a.dtype is not b.dtype:
            raise _dtype_mismatch(self, a, b)
        if a.shape[-1] != b.shape[-2]:
            raise RuntimeError(
                f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} are not aligned "
                f"({a.shape[-1]} != {b.shape[-2]})"
            )
        try:
            return backend.matmul(a, b)
        except ValueError:
            raise RuntimeError(
                f"matmul: batch dims of shapes {tuple(a.shape)} and {tuple(b.shape)} do not "
                "broadcast"
            ) from None

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (Matmul.apply(g, b.mT) if na else None), (Matmul.apply(a.mT, g) if nb else None)

    def jvp(self, ta: Tensor | None, tb: Tensor | None) -> Tensor | None:
        a, b = self.inputs
        x = Matmul.apply(ta, b) if ta is not None else None
        y = Matmul.apply(a, tb) if tb is not None else None
        return x if y is None else y if x is None else x + y


@register
class Linear(Op):
    """x @ Wᵀ + b for x of shape (..., in), W (out, in), b (out,) or absent.
    ∂/∂x = g @ W, ∂/∂W = gᵀ @ x (over all leading dims), ∂/∂b = Σ g.

    NOTE: a primitive rather than matmul + transpose + add because it is the hottest pattern of
    dense nets: one GEMM per gradient, and a weight gradient that is a fresh contiguous array
    (the engine keeps it as ``.grad`` without a copy).
    """

    name = "linear"

    def forward(self, x: Array, w: Array, b: Array | None = None) -> Array:
        if x.dtype is not w.dtype or (b is not None and b.dtype is not w.dtype):
            raise _dtype_mismatch(self, x, w, *(() if b is None else (b,)))
        if x.shape[-1] != w.shape[1]:
            raise RuntimeError(f"linear: input of shape {tuple(x.shape)} does not match weight "
                               f"of shape {tuple(w.shape)} (expected last dim {w.shape[1]})")
        out = backend.matmul(x, w.T)
        if b is not None:
            out += b
        return out

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        x, w = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        g2 = g.reshape(-1, g.data.shape[-1])  # Matmul needs 2-D operands (x may be 1-D)
        gx = Matmul.apply(g2, w).reshape(x.data.shape) if need[0] else None
        gw = Matmul.apply(g2.mT, x.reshape(-1, x.data.shape[-1])) if need[1] else None
        grads: tuple[Tensor | None, ...] = (gx, gw)
        if len(self.inputs) == 3:
            grads += (g2.sum(0) if need[2] else None,)
        return grads

    def jvp(self, tx: Tensor | None, tw: Tensor | None, tb: Tensor | None = None) -> Tensor | None:
        x, w = self.inputs[0], self.inputs[1]
        out = None
        for term in (matmul(tx, w.mT) if tx is not None else None,
                     matmul(x, tw.mT) if tw is not None else None, tb):
            if term is not None:
                out = term if out is None else out + term
        return out


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b (``torch.nn.functional.linear``).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.linear(cr.tensor([[1.0, 2.0]]), cr.tensor([[1.0, 1.0], [0.0, 1.0]]),
        ...     cr.tensor([0.5, 0.0]))
        tensor([[3.5000, 2.0000]])
    """
    if input.ndim == 0:
        raise RuntimeError(f"linear: input must have at least 1 dim, got shape {input.shape}")
    if bias is None:
        return Linear.apply(input, weight)
    return Linear.apply(input, weight, bias)


@tensor_method
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with NumPy/PyTorch rules: 1-D operands are promoted to a row (left) or
    column (right) vector and the added dim is removed again; batch dims broadcast.

    Example:
        >>> import chainrule as cr
        >>> cr.matmul(cr.tensor([[1.0, 2.0]]), cr.tensor([[3.0], [4.0]]))
        tensor([[11.]])
        >>> cr.matmul(cr.ones(5, 2, 3), cr.ones(3, 4)).shape
        chainrule.Size([5, 2, 4])
    """
    if not isinstance(input, Tensor):
        input = Tensor._wrap(xp.asarray(input, other.dtype))
    if not isinstance(other, Tensor):
        other = Tensor._wrap(xp.asarray(other, input.dtype))
    if input.ndim == 0 or other.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                           f"{input.shape} and {other.shape}")
    a = input.unsqueeze(0) if input.ndim == 1 else input
    b = other.unsqueeze(-1) if other.ndim == 1 else other
    if a.shape[-1] != b.shape[-2]:
        raise RuntimeError(f"matmul: shapes {tuple(input.shape)} and {tuple(other.shape)} are "
                           f"not aligned ({a.shape[-1]} != {b.shape[-2]})")
    out = Matmul.apply(a, b)
    if other.ndim == 1:
        out = out.squeeze(-1)
    if input.ndim == 1:
        out = out.squeeze(-2 if other.ndim > 1 else -1)
    return out


@tensor_method
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two 2-D matrices.

    Example:
        >>> import chainrule as cr
        >>> cr.mm(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), cr.eye(2))
        tensor([[1., 2.],
                [3., 4.]])
    """
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got shapes {input.shape} and {mat2.shape}")
    return matmul(input, mat2)


@tensor_method
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched product of two 3-D tensors.

    Example:
        >>> import chainrule as cr
        >>> a, b = cr.ones(4, 2, 3), cr.ones(4, 3, 5)
        >>> cr.bmm(a, b).shape
        chainrule.Size([4, 2, 5])
    """
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"bmm: expected 3-D tensors, got shapes {input.shape} and "
                           f"{mat2.shape}")
    return matmul(input, mat2)


@tensor_method
def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors.

    Example:
        >>> import chainrule as cr
        >>> cr.dot(cr.tensor([1.0, 2.0, 3.0]), cr.tensor([4.0, 5.0, 6.0]))
        tensor(32.)
    """
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"dot: expected 1-D tensors, got shapes {input.shape} and "
                           f"{other.shape}")
    return matmul(input, other)


@tensor_method
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-D tensors.

    Example:
        >>> import chainrule as cr
        >>> cr.outer(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 10.0, 100.0]))
        tensor([[  1.,  10., 100.],
                [  2.,  20., 200.]])
    """
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


@register
class Einsum(Op):
    """Einstein summation over ``equation`` (explicit form ``'ij,jk->ik'``, distinct labels per
    operand).  ∂/∂xᵢ = einsum of g with the other operands, broadcast over labels only xᵢ has."""

    name = "einsum"
    equation: str

    def forward(self, *xs: Array) -> Array:
        if any(x.dtype.name == "bfloat16" for x in xs):
            return backend.widened(self.forward, *xs)
        return xp.asarray(xp.einsum(self.equation, *xs, optimize=len(xs) > 2))

    def _grad(self, g: Tensor, i: int, others: list[Tensor]) -> Tensor:
        ins, out = self.equation.split("->")
        specs = ins.split(",")
        target = specs[i]
        rest = [s for j, s in enumerate(specs) if j != i]
        have = set(out).union(*rest)
        present = "".join(c for c in target if c in have)
        eq = ",".join([out, *rest]) + "->" + present
        piece = Einsum.apply(g, *others, equation=eq)
        if present != target:
            shape = self.inputs[i].shape
            piece = piece.reshape(tuple(shape[k] if c in have else 1
                                        for k, c in enumerate(target))).expand(shape)
        return piece

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        grads = []
        for i, need in enumerate(self.needs_input_grad):
            others = [x for j, x in enumerate(self.inputs) if j != i]
            grads.append(self._grad(g, i, others) if need else None)
        return tuple(grads)

    def jvp(self, *ts: Tensor | None) -> Tensor | None:
        total = None
        for i, t in enumerate(ts):
            if t is None:
                continue
            args = [t if j == i else x for j, x in enumerate(self.inputs)]
            term = Einsum.apply(*args, equation=self.equation)
            total = term if total is None else total + term
        return total


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, e.g. ``einsum('bij,bjk->bik', a, b)``; ``...`` is allowed, and a
    label repeated within one operand takes its diagonal (``'ii->i'``, ``'ii'`` is the trace).

    Example:
        >>> import chainrule as cr
        >>> cr.einsum("ii->i", cr.arange(9.0).reshape(3, 3)).tolist()
        [0.0, 4.0, 8.0]
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    eq = equation.replace(" ", "")
    ins = eq.split("->")[0].split(",")
    if len(ins) != len(operands):
        raise ValueError(f"einsum: equation has {len(ins)} operands but {len(operands)} were "
                         "given")
    if "..." in eq:
        eq = _expand_ellipsis(eq, operands)
        ins = eq.split("->")[0].split(",")
    if "->" not in eq:
        counts = {c: "".join(ins).count(c) for c in "".join(ins)}
        eq += "->" + "".join(sorted(c for c, n in counts.items() if n == 1))
    for spec, x in zip(ins, operands):
        if len(spec) != x.ndim:
            raise ValueError(f"einsum: operand spec '{spec}' has {len(spec)} labels but the "
                             f"tensor has shape {tuple(x.shape)}")
    ins, out = eq.split("->")
    if len(set(out)) != len(out):
        raise ValueError(f"einsum: output subscript in '{out}' appears more than once")
    specs = ins.split(",")
    operands = list(operands)
    for k, (spec, x) in enumerate(zip(specs, operands)):
        if len(set(spec)) != len(spec):
            specs[k], operands[k] = _take_diagonals(spec, x)
    return Einsum.apply(*operands, equation=",".join(specs) + "->" + out)


def _take_diagonals(spec: str, x: Tensor) -> tuple[str, Tensor]:
    """An operand whose spec repeats a label (``'ii'``, ``'bii'``), reduced to the diagonal of
    the repeated dims, with that label once and last in the returned spec (``'i'``, ``'bi'``).
    Indexing the diagonal gives the gradient: it is scattered back onto the diagonal."""
    while len(set(spec)) != len(spec):
        label = next(c for c in spec if spec.count(c) > 1)
        p = spec.index(label)
        q = spec.index(label, p + 1)
        if x.shape[p] != x.shape[q]:
            raise ValueError(f"einsum: subscript {label} is repeated in '{spec}' but the sizes "
                             f"don't match, {x.shape[p]} != {x.shape[q]} (operand of shape "
                             f"{tuple(x.shape)})")
        rest = [d for d in range(x.ndim) if d not in (p, q)]
        steps = Tensor._wrap(xp.arange(x.shape[p]))
        x = x.permute(*rest, p, q)[(..., steps, steps)]
        spec = "".join(spec[d] for d in rest) + label
    return spec, x


def _expand_ellipsis(eq: str, operands: tuple[Any, ...]) -> str:
    ins, _, out = eq.partition("->")
    specs = ins.split(",")
    used = set(eq) - {".", ",", "-", ">"}
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used]
    width = max(x.ndim - (len(s) - 3) for s, x in zip(specs, operands) if "..." in s)
    ell = "".join(spare[:width])
    new = [s.replace("...", ell[width - (x.ndim - (len(s) - 3)):]) for s, x in
           zip(specs, operands)]
    if "->" in eq:
        return ",".join(new) + "->" + out.replace("...", ell)
    counts = {c: "".join(new).count(c) for c in "".join(new)}
    free = "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return ",".join(new) + "->" + ell + free

"""Linear algebra primitives: matmul (1-D, 2-D and batched with broadcasting), einsum, and the
solvers and decompositions of (batches of) matrices: inv, solve, det, log|det|, cholesky, qr,
svd, eigh. The public functions, with PyTorch's checks, are in ``chainrule.linalg``.

Solvers and decompositions run NumPy's LAPACK routines forward; backward and forward mode are
PyTorch's derivative formulas written in chainrule ops, so they can be differentiated again.
Ops with several outputs (qr, svd, eigh) return them packed into one array, each flattened
along the last axis; ``unpack`` slices them apart, so the engine still sees one output per op,
and an unused output simply gets a zero gradient.
"""

from __future__ import annotations

from typing import Any

from chainrule import backend, kernels
from chainrule.autograd.function import Op, on_arrays, register
from chainrule.backend import Array, xp
from chainrule.ops import batching
from chainrule.ops.movement import Cat
from chainrule.tensor import Tensor


def _wrapped(*arrays: Array | None) -> tuple[Tensor | None, ...]:
    """Gradients computed on arrays, as tensors (None stays None)."""
    return tuple(None if a is None else Tensor._wrap(a) for a in arrays)


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
    batch_rule = staticmethod(batching.matmul)

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
        if not on_arrays(g):
            return (Matmul.apply(g, b.mT) if na else None), (Matmul.apply(a.mT, g) if nb else None)
        ga = backend.matmul(g.array, b.array.swapaxes(-1, -2)) if na else None
        gb = backend.matmul(a.array.swapaxes(-1, -2), g.array) if nb else None
        return _wrapped(ga, gb)

    def jvp(self, ta: Tensor | None, tb: Tensor | None) -> Tensor | None:
        a, b = self.inputs
        x = Matmul.apply(ta, b) if ta is not None else None
        y = Matmul.apply(a, tb) if tb is not None else None
        return x if y is None else y if x is None else x + y


def _add_bias(out: Array, b: Array) -> None:
    """out += b along out's last dim, in place."""
    if out.size and kernels.fits_in_place(out, b):
        kernels.linear.add_bias(out, b)
    else:
        out += b


def _bias_grad(g2: Array) -> Array:
    """g2.sum(0): the bias's gradient from the output's (rows, out)."""
    if g2.size and kernels.fits_in_place(g2):
        sums = kernels.linear.column_sums(g2)
        if sums is not None:
            return sums
    return g2.sum(0)


@register
class Linear(Op):
    """x @ Wᵀ + b for x of shape (..., in), W (out, in), b (out,) or absent.
    ∂/∂x = g @ W, ∂/∂W = gᵀ @ x (over all leading dims), ∂/∂b = Σ g.

    NOTE: a primitive rather than matmul + transpose + add because it is the hottest pattern of
    dense nets: one GEMM per gradient, and a weight gradient that is a fresh contiguous array
    (the engine keeps it as ``.grad`` without a copy).
    """

    name = "linear"
    batch_rule = staticmethod(batching.linear)

    def forward(self, x: Array, w: Array, b: Array | None = None) -> Array:
        if x.dtype is not w.dtype or (b is not None and b.dtype is not w.dtype):
            raise _dtype_mismatch(self, x, w, *(() if b is None else (b,)))
        if x.shape[-1] != w.shape[1]:
            raise RuntimeError(f"linear: input of shape {tuple(x.shape)} does not match weight "
                               f"of shape {tuple(w.shape)} (expected last dim {w.shape[1]})")
        if x.ndim > 2:  # one GEMM over all leading dims, not NumPy's loop of one per batch row
            out = backend.matmul(x.reshape(-1, x.shape[-1]), w.T)
            out = out.reshape(*x.shape[:-1], w.shape[0])
        else:
            out = backend.matmul(x, w.T)
        if b is not None:
            _add_bias(out, b)
        return out

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        if not on_arrays(g):
            return self._recorded_grads(g)
        # NOTE: a first-order backward on arrays: the same products as below without a
        # Tensor, node and checks per product (about a tenth of an MLP step's time)
        x, w = self.inputs[0].array, self.inputs[1].array
        need = self.needs_input_grad
        g2 = g.array.reshape(-1, g.shape[-1])
        grads = (backend.matmul(g2, w).reshape(x.shape) if need[0] else None,
                 backend.matmul(g2.T, x.reshape(-1, x.shape[-1])) if need[1] else None)
        if len(self.inputs) == 3:
            grads += (_bias_grad(g2) if need[2] else None,)
        return _wrapped(*grads)

    def _recorded_grads(self, g: Tensor) -> tuple[Tensor | None, ...]:
        """The gradients through ops, which record them (``create_graph``), carry forward-mode
        tangents and batch under vmap."""
        x, w = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1])  # Matmul needs 2-D operands (x may be 1-D)
        gx = Matmul.apply(g2, w).reshape(x.shape) if need[0] else None
        gw = Matmul.apply(g2.mT, x.reshape(-1, x.shape[-1])) if need[1] else None
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
    batch_rule = staticmethod(batching.einsum)
    equation: str

    def forward(self, *xs: Array) -> Array:
        if any(backend.is_bfloat16(x.dtype) for x in xs):
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


# ---- solvers and decompositions ---------------------------------------------------------------
def _pack(*arrays: Array) -> Array:
    batch = arrays[0].shape[:-2]
    return xp.concatenate([a.reshape(*batch, -1) for a in arrays], axis=-1)


def _pack_tensors(batch: tuple[int, ...], *ts: Tensor) -> Tensor:
    """``_pack`` for tangents: differentiable, so forward-over-forward works."""
    return Cat.apply(*[t.reshape(*batch, -1) for t in ts], dim=len(batch))


def unpack(packed: Tensor, shapes: list[tuple[int, int]]) -> list[Tensor]:
    """The matrices (or vectors) packed by an op with several outputs, by their trailing
    shapes."""
    out, start = [], 0
    batch = packed.shape[:-1]
    for s in shapes:
        size = s[0] * s[1] if len(s) == 2 else s[0]
        out.append(packed[..., start:start + size].reshape(*batch, *s))
        start += size
    return out


def _eye(n: int, dtype: Any) -> Tensor:
    return Tensor._wrap(xp.eye(n, dtype=dtype))


def _diag_embed(v: Tensor) -> Tensor:
    return v.unsqueeze(-1) * _eye(v.shape[-1], v.dtype)


def _diag(x: Tensor) -> Tensor:
    return (x * _eye(x.shape[-1], x.dtype)).sum(-1)


def _solve_right(b: Tensor, a: Tensor) -> Tensor:
    """X with X @ A = B."""
    return Solve.apply(a.mT, b.mT).mT


class LinAlgError(RuntimeError):
    """A matrix that the routine cannot handle: singular, or not positive-definite
    (``torch.linalg.LinAlgError``)."""


def _linalg_error(op: str, shape: tuple[int, ...], what: str) -> LinAlgError:
    return LinAlgError(f"linalg.{op}: {what} (input of shape {tuple(shape)})")


@register
class Inv(Op):
    """A⁻¹ of square matrices.  ∂/∂A = −A⁻ᵀ g A⁻ᵀ;  tangent: −A⁻¹ Ȧ A⁻¹."""

    name = "inv"

    def forward(self, a: Array) -> Array:
        try:
            return xp.linalg.inv(a)
        except xp.linalg.LinAlgError:
            raise _linalg_error("inv", a.shape, "the input matrix is singular, the inversion "
                                "could not be completed") from None

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        inv_t = self.output().mT
        return (-(inv_t @ g @ inv_t),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        inv = self.output()
        return -(inv @ t @ inv)


@register
class Solve(Op):
    """X = A⁻¹ B for square A (..., n, n) and B (..., n, k), batch dims broadcasting.
    ∂/∂B = A⁻ᵀ g, ∂/∂A = −(A⁻ᵀ g) Xᵀ;  tangent: A⁻¹ (Ḃ − Ȧ X)."""

    name = "solve"

    def forward(self, a: Array, b: Array) -> Array:
        try:
            return xp.linalg.solve(a, b)
        except xp.linalg.LinAlgError:
            raise _linalg_error("solve", a.shape, "the solver failed because the input matrix "
                                "is singular") from None

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        a, _ = self.inputs
        gb = Solve.apply(a.mT, g)
        return (-(gb @ self.output().mT) if self.needs_input_grad[0] else None), gb

    def jvp(self, ta: Tensor | None, tb: Tensor | None) -> Tensor | None:
        a, _ = self.inputs
        rhs = tb if ta is None else (-(ta @ self.output()) if tb is None
                                     else tb - ta @ self.output())
        return Solve.apply(a, rhs)


@register
class Det(Op):
    """det A of square matrices.  ∂/∂A = g·C with C the cofactor matrix, det A·A⁻ᵀ;
    tangent: Σ C ∘ Ȧ. For a singular A, C comes from the SVD A = U S Vᵀ, as in PyTorch:
    C = det U det Vᵀ · U diag(∏_{j≠i} s_j) Vᵀ."""

    name = "det"

    def forward(self, a: Array) -> Array:
        return xp.linalg.det(a)

    def _cofactors(self) -> Tensor:
        (a,) = self.inputs
        if (self.out != 0).all():
            return self.output().unsqueeze(-1).unsqueeze(-1) * Inv.apply(a).mT
        n = a.shape[-1]
        u, s, vh = unpack(SVD.apply(a, full_matrices=False), [(n, n), (n,), (n, n)])
        eye = _eye(n, a.dtype)
        others = (s.unsqueeze(-2) * (1 - eye) + eye).prod(-1)  # ∏_{j≠i} s_j
        sign = Tensor._wrap(xp.linalg.det(u.array) * xp.linalg.det(vh.array))
        return (u * (others * sign.unsqueeze(-1)).unsqueeze(-2)) @ vh

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (g.unsqueeze(-1).unsqueeze(-1) * self._cofactors(),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return (self._cofactors() * t).sum((-2, -1))


@register
class LogAbsDet(Op):
    """log |det A| of square matrices.  ∂/∂A = g·A⁻ᵀ;  tangent: tr(A⁻¹ Ȧ)."""

    name = "logabsdet"
    batch_rule = staticmethod(batching.leading)

    def forward(self, a: Array) -> Array:
        return xp.linalg.slogdet(a)[1]

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        (a,) = self.inputs
        return (g.unsqueeze(-1).unsqueeze(-1) * Inv.apply(a).mT,)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        (a,) = self.inputs
        return (Inv.apply(a).mT * t).sum((-2, -1))


@register
class SlogdetSign(Op):
    """The sign of det A (±1, or 0 for a singular A) of square matrices, computed without
    forming det A (which can overflow or underflow); no gradient."""

    name = "slogdet_sign"
    differentiable = False
    saves_inputs = False
    batch_rule = staticmethod(batching.leading)

    def forward(self, a: Array) -> Array:
        if a.dtype not in (xp.float32, xp.float64):  # LAPACK's dtypes (autocast's half too)
            a = a.astype(xp.float32)
        return xp.asarray(xp.linalg.slogdet(a)[0])


def _phi(x: Tensor) -> Tensor:
    """The lower triangle of x with its diagonal halved."""
    return x.tril() - 0.5 * _diag_embed(_diag(x))


@register
class Cholesky(Op):
    """L lower-triangular with L Lᵀ = A, for symmetric positive-definite A (its lower
    triangle is read).  ∂/∂A = sym(L⁻ᵀ Φ(Lᵀ ḡ) L⁻¹) with ḡ = tril(g) and Φ the lower
    triangle with halved diagonal;  tangent: L Φ(L⁻¹ sym(Ȧ) L⁻ᵀ), sym(X) = (X + Xᵀ)/2 (the
    derivative along symmetric matrices, so it agrees with the gradient)."""

    name = "cholesky"

    def forward(self, a: Array) -> Array:
        try:
            return xp.linalg.cholesky(a)
        except xp.linalg.LinAlgError:
            raise _linalg_error("cholesky", a.shape, "the factorization could not be completed "
                                "because the input is not positive-definite") from None

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        lo = self.output()
        p = _phi(lo.mT @ g.tril())
        ga = _solve_right(Solve.apply(lo.mT, p), lo)
        return (0.5 * (ga + ga.mT),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        lo = self.output()
        inner = _solve_right(Solve.apply(lo, 0.5 * (t + t.mT)), lo.mT)
        return lo @ _phi(inner)


@register
class QR(Op):
    """A = Q R, Q with orthonormal columns, R upper-triangular; ``mode`` 'reduced' (Q m×k,
    R k×n, k = min(m, n)), 'complete' (Q m×m) or 'r' (as 'reduced', with no derivative, as
    in PyTorch); output packed as (Q, R).
    ∂/∂A = (ḡQ + Q copyltu(M)) R⁻ᵀ with M = R ḡRᵀ − ḡQᵀ Q and copyltu mirroring the lower
    triangle of M upward (PyTorch's rule).  Tangent: with C = Qᵀ Ȧ R⁻¹ and
    Ω = tril(C, −1) − tril(C, −1)ᵀ: Ṙ = (C − Ω) R, Q̇ = (Ȧ − Q Ṙ) R⁻¹. For wide A = [X | Y],
    R = [R₁ | Qᵀ Y]: the rules on X = Q R₁, plus Y's share (ḡQ gains Y ḡR₂ᵀ, ∂/∂Y = Q ḡR₂).
    Full-rank A; no derivative for 'complete' with m > n (as in PyTorch)."""

    name = "qr"
    mode: str

    def forward(self, a: Array) -> Array:
        q, r = xp.linalg.qr(a, mode="complete" if self.mode == "complete" else "reduced")
        return _pack(q, r)

    def parts(self, packed: Tensor) -> list[Tensor]:
        m, n = self.inputs[0].shape[-2:]
        k = m if self.mode == "complete" else min(m, n)
        return unpack(packed, [(m, k), (k, n)])

    def _check(self) -> None:
        if self.mode == "r":
            raise RuntimeError("linalg.qr: the derivative of linalg.qr depends on Q, which is "
                               "not computed when mode='r'; use mode='reduced' to differentiate")
        m, n = self.inputs[0].shape[-2:]
        if self.mode == "complete" and m > n:
            raise RuntimeError(f"linalg.qr: the QR decomposition is not differentiable when "
                               f"mode='complete' and nrows > ncols (shape "
                               f"{tuple(self.inputs[0].shape)})")

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        self._check()
        a = self.inputs[0]
        q, r = self.parts(self.output())
        gq, gr = self.parts(g)
        k = r.shape[-2]
        if a.shape[-1] > k:  # wide: A = Q [R₁ | R₂], R₂ = Qᵀ Y for the columns Y past the k-th
            gq = gq + a[..., k:] @ gr[..., k:].mT
            gy = q @ gr[..., k:]
            r, gr = r[..., :k], gr[..., :k]
        m = r @ gr.mT - gq.mT @ q
        copyltu = m.tril() + m.tril(-1).mT
        gx = _solve_right(gq + q @ copyltu, r.mT)
        return (gx if a.shape[-1] == k else Cat.apply(gx, gy, dim=a.ndim - 1),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        self._check()
        a = self.inputs[0]
        q, r = self.parts(self.output())
        k = r.shape[-2]
        square, tx = r[..., :k], t[..., :k]
        c = _solve_right(q.mT @ tx, square)
        low = c.tril(-1)
        dr = (c - (low - low.mT)) @ square
        dq = _solve_right(tx - q @ dr, square)
        if a.shape[-1] > k:  # wide: R₂ = Qᵀ Y
            dr = Cat.apply(dr, dq.mT @ a[..., k:] + q.mT @ t[..., k:], dim=a.ndim - 1)
        return _pack_tensors(a.shape[:-2], dq, dr)


def _skew(x: Tensor) -> Tensor:
    return x - x.mT


@register
class SVD(Op):
    """A = U diag(S) Vᴴ with S descending; ``full_matrices`` gives square U and Vᴴ. Output
    packed as (U, S, Vᴴ). PyTorch's rule, for distinct non-zero singular values (and, with
    ``full_matrices``, ignoring the extra columns), with E_jk = s_k² − s_j² off the diagonal:
    ∂/∂A = U [(skew(UᵀḡU) S + S skew(VᵀḡV)) / E + diag(ḡS)] Vᵀ + (I − UUᵀ) ḡU S⁻¹ Vᵀ
    + U S⁻¹ ḡVᵀ (I − VVᵀ), skew(X) = X − Xᵀ.
    Tangent: with P = Uᵀ Ȧ V: Ṡ = diag(P), U̇ = U ((P S + S Pᵀ) / E) + (I − UUᵀ) Ȧ V S⁻¹,
    V̇ = V ((S P + Pᵀ S) / E) + (I − VVᵀ) Ȧᵀ U S⁻¹ (1/E zero on the diagonal)."""

    name = "svd"
    full_matrices: bool

    def forward(self, a: Array) -> Array:
        u, s, vh = xp.linalg.svd(a, full_matrices=self.full_matrices)
        return _pack(u, s[..., None], vh)

    def parts(self, packed: Tensor) -> list[Tensor]:
        m, n = self.inputs[0].shape[-2:]
        k = min(m, n)
        mu, nv = (m, n) if self.full_matrices else (k, k)
        u, s, vh = unpack(packed, [(m, mu), (k,), (nv, n)])
        return [u[..., :k], s, vh[..., :k, :]]

    def _inverse_gaps(self, s: Tensor) -> Tensor:
        """1 / (s_k² − s_j²) off the diagonal, 0 on it."""
        s2 = s * s
        gap = s2.unsqueeze(-2) - s2.unsqueeze(-1)
        eye = _eye(s.shape[-1], s.dtype)
        return (1 - eye) / (gap + eye)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        u, s, vh = self.parts(self.output())
        gu, gs, gvh = self.parts(g)
        v, gv = vh.mT, gvh.mT
        f = self._inverse_gaps(s)
        core = ((_skew(u.mT @ gu) * s.unsqueeze(-2) + s.unsqueeze(-1) * _skew(v.mT @ gv)) * f
                + _diag_embed(gs))
        m, n = self.inputs[0].shape[-2:]
        ga = u @ core @ vh
        if m > s.shape[-1]:
            ga = ga + ((gu - u @ (u.mT @ gu)) / s.unsqueeze(-2)) @ vh
        if n > s.shape[-1]:
            ga = ga + (u / s.unsqueeze(-2)) @ (gv - v @ (v.mT @ gv)).mT
        return (ga,)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        m, n = self.inputs[0].shape[-2:]
        if self.full_matrices and m != n:
            raise RuntimeError("linalg.svd: forward-mode derivatives with full_matrices=True "
                               "need a square input; use full_matrices=False")
        u, s, vh = self.parts(self.output())
        v = vh.mT
        f = self._inverse_gaps(s)
        p = u.mT @ t @ v
        sd = _diag_embed(s)
        du = u @ ((p @ sd + sd @ p.mT) * f)
        dv = v @ ((sd @ p + p.mT @ sd) * f)
        if m > s.shape[-1]:
            du = du + (t @ v - u @ p) / s.unsqueeze(-2)
        if n > s.shape[-1]:
            dv = dv + (t.mT @ u - v @ p.mT) / s.unsqueeze(-2)
        return _pack_tensors(self.inputs[0].shape[:-2], du, _diag(p).unsqueeze(-1), dv.mT)


@register
class Eigh(Op):
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix (the
    triangle ``UPLO`` is read); output packed as (L, V). For distinct eigenvalues, with
    E_ij = λ_j − λ_i off the diagonal: ∂/∂A = V (diag(ḡL) + ½ skew(Vᵀ ḡV) / E) Vᵀ;
    tangent: with P = Vᵀ sym(Ȧ) V: L̇ = diag(P), V̇ = V (P / E) (zero diagonal)."""

    name = "eigh"
    UPLO: str

    def forward(self, a: Array) -> Array:
        w, v = xp.linalg.eigh(a, UPLO=self.UPLO)
        return _pack(w[..., None], v)

    def parts(self, packed: Tensor) -> list[Tensor]:
        n = self.inputs[0].shape[-1]
        return unpack(packed, [(n,), (n, n)])

    def _inverse_gaps(self, w: Tensor) -> Tensor:
        eye = _eye(w.shape[-1], w.dtype)
        return (1 - eye) / (w.unsqueeze(-2) - w.unsqueeze(-1) + eye)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        w, v = self.parts(self.output())
        gw, gv = self.parts(g)
        inner = 0.5 * _skew(v.mT @ gv) * self._inverse_gaps(w) + _diag_embed(gw)
        return (v @ inner @ v.mT,)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        w, v = self.parts(self.output())
        p = v.mT @ (0.5 * (t + t.mT)) @ v
        dv = v @ (p * self._inverse_gaps(w))
        return _pack_tensors(self.inputs[0].shape[:-2], _diag(p).unsqueeze(-1), dv)

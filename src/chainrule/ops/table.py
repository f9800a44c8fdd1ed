"""The op table: one entry per public op, naming where it appears and where its tests draw from.

PyTorch declares each op once in ``native_functions.yaml`` (its names and signatures) and
``derivatives.yaml`` (its gradients). Here an op's class holds its maths (forward, backward,
jvp, in ``ops/<family>.py``) and its public function sits beside it; this table names, for
each public function, the ``chainrule.<name>`` export, the ``Tensor.<name>`` method and the
``nn.functional.<name>`` alias, and its test domain: the input domain of each tensor argument
and, for an op whose arguments need more than that (dims, indices, geometry), the sample
generator its gradient, forward-mode and batching tests draw the whole argument list from.
``chainrule``, ``Tensor`` and ``nn.functional`` take their ops from here (``bind`` attaches
the methods once, when ``chainrule`` is imported), and the gradient, forward-mode and
batching test matrices in ``tests/ops`` and ``tests/func`` walk ``TABLE``.

Adding an op: its class in ``ops/<family>.py`` and its public function beside it, one ``Entry``
here (with its domain, and its sample generator unless it is elementwise), and its NumPy
reference in ``tests/ops/specs_table.py``'s ``REFERENCES``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chainrule import creation, linalg, tensor_operators, tensor_pickle
from chainrule.autograd.function import Op
from chainrule.backend import Array
from chainrule.ops import (
    activation,
    adaptive_pool,
    assembly,
    comparison,
    conv,
    conv_transpose,
    counting,
    elementwise,
    fold,
    fused,
    matrix,
    movedim,
    movement,
    pool,
    products,
    reduce,
    scatter,
    selection,
    shape,
    sorting,
    stacking,
    statistics,
    tiling,
    trig,
    unary,
)
from chainrule.ops import linalg as matmul_ops
from chainrule.ops.unary import unary_function
from chainrule.tensor import Tensor


@dataclass(frozen=True)
class Domain:
    """Where a test draws one input of an op from: uniform on [low, high), kept ``margin`` away
    from ``kinks`` (the points where the op is not differentiable), or, with ``choices``, one of
    those values; ``distinct`` values are spread over [low, high) with no two closer than half
    the range over their number (no ties for max, min, sort); ``diagonal`` is added to the
    diagonal of the last two dims (square matrices that far from singular)."""

    low: float = -2.0
    high: float = 2.0
    kinks: tuple[float, ...] = ()
    choices: tuple[float, ...] = ()
    margin: float = 0.1
    distinct: bool = False
    diagonal: float = 0.0

    def sample(self, rng: Any, shape: tuple[int, ...]) -> Array:
        """Float64 values of ``shape`` from this domain (``rng``: a NumPy Generator)."""
        if self.choices:
            return rng.choice(self.choices, shape)
        if self.distinct:
            n = math.prod(shape)
            step = (self.high - self.low) / max(n, 1)
            return (self.low + (rng.permutation(n) + rng.uniform(0, 0.5, n)) * step).reshape(shape)
        x = rng.uniform(self.low, self.high, shape)
        for k in self.kinks:  # pushed outward by the margin: still distinct, no ties made
            near = abs(x - k) < self.margin
            x[near] += self.margin * (2 * (x[near] >= k) - 1)
        if self.diagonal:
            n = range(shape[-1])
            x[..., n, n] += self.diagonal
        return x


REAL = Domain()
DISTINCT = Domain(distinct=True)
POSITIVE = Domain(0.5, 2.0)
NONZERO = Domain(kinks=(0.0,))
UNIT = Domain(-0.9, 0.9)
"""Inside (−1, 1): asin, acos."""
HALF_PERIOD = Domain(-1.2, 1.2)
"""Inside (−π/2, π/2): tan."""
INTEGERS = tuple(float(k) for k in range(-3, 4))
NOT_INTEGER = Domain(-3.0, 3.0, kinks=INTEGERS)
"""Away from the integers, where floor and ceil jump."""
NOT_HALF = Domain(-3.0, 3.0, kinks=tuple(k + 0.5 for k in INTEGERS))
"""Away from the half-integers, where round jumps."""
DIVIDEND = Domain(-4.0, 4.0, kinks=tuple(float(k) for k in range(-4, 5)))
DIVISOR = Domain(choices=(-2.0, -1.0, 1.0, 2.0))
"""fmod and remainder jump where dividend/divisor is an integer: a dividend away from the
integers over a divisor of ±1 or ±2 keeps clear of those jumps."""
CLEAR_OF_BOUNDS = Domain(kinks=(-0.6, 0.6), margin=0.4)
"""Outside (−1, −0.2) and (0.2, 1), where clamp's bounds are drawn."""
AWAY_FROM_ZERO = Domain(kinks=(0.0,), margin=0.3)
"""Clear of 0, where a product's gradient divides (scatter's 'prod' and 'multiply')."""
INVERTIBLE = Domain(-0.5, 0.5, diagonal=3.0)
"""Square matrices near 3·I (of at most 3 rows): invertible, well conditioned, det > 0."""
INVERTIBLE_NEGATIVE = Domain(-0.5, 0.5, diagonal=-3.0)
"""Near −3·I: det of the sign of (−1)ⁿ."""


@dataclass(frozen=True)
class Entry:
    """One public op.

    Args:
        function: the public function (its first argument is a tensor when it is a method).
        name: ``chainrule.<name>``, ``Tensor.<name>`` and ``nn.functional.<name>``; defaults to
            the function's name.
        aliases: further names, exposed wherever ``name`` is (``arcsin`` for ``asin``).
        public: exported as ``chainrule.<name>``.
        method: bound as ``Tensor.<name>``.
        functional: exported as ``nn.functional.<name>``.
        op: the primitive behind the public function (composites have none).
        domain: the domain of each tensor input: the gradient, forward-mode and batching
            tests draw from it and compare with the op's NumPy reference.
        samples: the sample generators the tests draw the op's whole argument list from (keys
            of ``SAMPLES`` in ``tests/ops/samples.py``, one per argument pattern:
            ``"elementwise"`` for inputs of broadcastable shapes, ``"reduction"`` for
            ``fn(input, dim, keepdim)``, ``"gather"`` for ``fn(input, dim, index)``, ...):
            shapes, dims, indices and geometry, with tensors drawn from ``domain``. Each
            generator is a test case of its own.
    """

    function: Callable[..., Any]
    name: str = ""
    aliases: tuple[str, ...] = ()
    public: bool = True
    method: bool = True
    functional: bool = False
    op: type[Op] | None = None
    domain: tuple[Domain, ...] = ()
    samples: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.function.__name__)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def _elementwise(function: Callable[..., Any] | type[Op], *domain: Domain,
                 op: type[Op] | None = None, samples: tuple[str, ...] = (),
                 **names: Any) -> Entry:
    """An elementwise op's entry, tested on inputs of broadcastable shapes (and on
    ``samples``, for its parameters). Given the op's class, the public function is the class's
    ``unary_function`` (``exp(input)``, made once per class)."""
    if isinstance(function, type):
        op, function = function, unary_function(function)
    return Entry(function, op=op, domain=domain, samples=("elementwise", *samples), **names)


def _sampled(function: Callable[..., Any], samples: str | tuple[str, ...],
             op: type[Op] | None = None, *domain: Domain, **names: Any) -> Entry:
    """The entry of an op whose tests draw its arguments from the generators ``samples``
    (``op``: its primitive; a composite has none)."""
    samples = (samples,) if isinstance(samples, str) else samples
    return Entry(function, op=op, domain=domain or (REAL,), samples=samples, **names)


def _reduction(function: Callable[..., Any], domain: Domain, op: type[Op] | None = None,
               **names: Any) -> Entry:
    """A reduction's entry: ``fn(input, dim, keepdim)``."""
    return Entry(function, op=op, domain=(domain,), samples=("reduction",), **names)


# short names, so that each entry below stays one line
E, R, S = _elementwise, _reduction, _sampled
U, EW, T, A, C = unary, elementwise, trig, activation, comparison

TABLE: tuple[Entry, ...] = (
    # ---- unary maths (ops/unary.py, ops/trig.py) -------------------------------------------
    E(U.Neg, REAL, aliases=("negative",)),
    E(U.Exp, REAL),
    E(U.Log, POSITIVE),
    E(U.Log1p, POSITIVE),
    E(U.Expm1, REAL),
    E(U.Sqrt, POSITIVE),
    E(U.Rsqrt, POSITIVE),
    E(U.Sin, REAL),
    E(U.Cos, REAL),
    E(U.Tan, HALF_PERIOD),
    E(U.Tanh, REAL, functional=True),
    E(U.Erf, REAL),
    E(U.Abs, NONZERO, aliases=("absolute",)),
    E(U.Sign, NONZERO),
    E(U.Floor, NOT_INTEGER),
    E(U.Ceil, NOT_INTEGER),
    E(U.round, NOT_HALF, op=U.Round),
    E(EW.trunc, NOT_INTEGER, aliases=("fix",)),
    E(EW.frac, NOT_INTEGER),
    E(U.erfc, REAL),
    E(U.logit, Domain(0.1, 0.9)),
    E(U.sgn, NONZERO),
    E(U.deg2rad, REAL),
    E(U.rad2deg, REAL),
    E(EW.exp2, REAL),
    E(T.Asin, UNIT, aliases=("arcsin",)),
    E(T.Acos, UNIT, aliases=("arccos",)),
    E(T.Atan, REAL, aliases=("arctan",)),
    E(T.Sinh, REAL),
    E(T.Cosh, REAL),
    E(T.Asinh, REAL, aliases=("arcsinh",)),
    E(T.Acosh, Domain(1.2, 3.0), aliases=("arccosh",)),
    E(T.Atanh, UNIT, aliases=("arctanh",)),
    E(T.Log2, POSITIVE),
    E(T.Log10, POSITIVE),
    E(T.atan2, NONZERO, NONZERO, op=T.Atan2, aliases=("arctan2",), samples=("scalar_other",)),
    E(T.hypot, NONZERO, NONZERO),
    S(U.clone, "elementwise", U.Clone),
    Entry(U.cast, public=False),
    Entry(U.bfloat16, public=False),
    # ---- activations (ops/activation.py) ---------------------------------------------------
    E(A.Sigmoid, REAL, functional=True),
    E(A.relu, NONZERO, op=A.Relu),
    E(A.leaky_relu, NONZERO, op=A.LeakyRelu, samples=("slope",)),
    E(A.elu, NONZERO, op=A.Elu, samples=("alpha",)),
    E(A.softplus, Domain(-3.0, 3.0, kinks=(-1.0, 1.0), margin=0.05), op=A.Softplus,
      samples=("softplus",), functional=True),
    E(A.gelu, REAL, op=A.Gelu, samples=("gelu_tanh",), functional=True),
    E(A.silu, REAL),
    # ---- binary arithmetic (ops/elementwise.py) --------------------------------------------
    E(EW.add, REAL, REAL, op=EW.Add, samples=("scaled_other",)),
    E(EW.sub, REAL, REAL, op=EW.Sub, samples=("scaled_other",), aliases=("subtract",)),
    E(EW.mul, REAL, REAL, op=EW.Mul, aliases=("multiply",)),
    E(EW.div, REAL, NONZERO, op=EW.Div, aliases=("divide", "true_divide")),
    E(EW.pow, POSITIVE, REAL, op=EW.Pow),
    E(EW.maximum, REAL, REAL, op=EW.Maximum),
    E(EW.minimum, REAL, REAL, op=EW.Minimum),
    E(EW.reciprocal, NONZERO),
    E(EW.square, REAL),
    E(EW.addcmul, REAL, REAL, REAL),
    E(EW.addcdiv, REAL, REAL, NONZERO),
    E(EW.lerp, REAL, REAL, REAL),
    E(EW.xlogy, NONZERO, POSITIVE),
    E(EW.nan_to_num, REAL),
    E(EW.logaddexp, REAL, REAL),
    E(EW.logaddexp2, REAL, REAL),
    E(EW.clamp_min, CLEAR_OF_BOUNDS, Domain(-1.0, -0.2)),
    E(EW.clamp_max, CLEAR_OF_BOUNDS, Domain(0.2, 1.0)),
    S(EW.clamp, ("bounds", "tensor_bounds"), EW.Clamp, CLEAR_OF_BOUNDS, Domain(-1.0, -0.2),
      Domain(0.2, 1.0), aliases=("clip",), functional=True),
    S(EW.where, "condition", EW.Where, method=False, functional=True),
    # ---- comparison, logic and the moduli (ops/comparison.py) ------------------------------
    E(C.remainder, DIVIDEND, DIVISOR, op=C.Remainder),
    E(C.fmod, DIVIDEND, DIVISOR, op=C.Fmod),
    *(Entry(f, aliases=(a,)) for f, a in ((C.ne, "not_equal"), (C.lt, "less"),
                                          (C.le, "less_equal"), (C.gt, "greater"),
                                          (C.ge, "greater_equal"))),
    *(Entry(f) for f in (C.eq, C.isnan, C.isfinite,
                         C.logical_not, C.logical_and, C.logical_or, C.logical_xor,
                         C.floor_divide, C.bitwise_and, C.bitwise_or, C.bitwise_xor,
                         C.equal, C.isclose, C.allclose, C.isinf, C.isposinf, C.isneginf,
                         C.signbit)),
    Entry(C.isin, method=False),
    # ---- reductions (ops/reduce.py) --------------------------------------------------------
    R(reduce.sum, REAL, op=reduce.Sum),
    R(reduce.mean, REAL),
    R(reduce.prod, REAL, op=reduce.Prod),
    R(reduce.amax, DISTINCT, op=reduce.Amax),
    R(reduce.amin, DISTINCT, op=reduce.Amin),
    R(reduce.logsumexp, REAL),
    S(reduce.cumsum, "dim", reduce.Cumsum),
    S(reduce.cumprod, "dim", reduce.Cumprod, Domain(kinks=(0.0,), margin=0.3)),
    S(reduce.var, "statistic"),
    S(reduce.std, "statistic"),
    R(reduce.nansum, REAL),
    R(reduce.nanmean, REAL),
    S(reduce.var_mean, "statistic"),
    S(reduce.std_mean, "statistic"),
    S(reduce.median, "dim", None, DISTINCT),
    S(reduce.diff, "diff"),
    S(reduce.norm, "norm", None, Domain(kinks=(0.0,), margin=0.3)),
    S(reduce.max, ("max_dim", "whole"), None, DISTINCT),
    S(reduce.min, ("max_dim", "whole"), None, DISTINCT),
    *(Entry(f) for f in (reduce.argmax, reduce.argmin, reduce.all, reduce.any,
                         reduce.count_nonzero)),
    S(fused.softmax, "dim", fused.Softmax, functional=True),
    S(fused.log_softmax, "dim", fused.LogSoftmax, functional=True),
    # ---- shape and movement (ops/shape.py, movedim.py, movement.py, tiling.py) -------------
    S(shape.reshape, "reshape", shape.Reshape),
    S(shape.flatten, "dim_range"),
    S(shape.unflatten, "unflatten"),
    S(shape.broadcast_to, "broadcast"),
    S(shape.repeat, "repeats"),
    S(shape.tile, "repeats"),
    S(shape.squeeze, "squeeze"),
    S(shape.unsqueeze, "new_dim"),
    S(shape.transpose, "two_dims", aliases=("swapaxes", "swapdims")),
    S(shape.permute, "permutation", shape.Permute),
    S(shape.flip, "dims", shape.Flip),
    S(shape.fliplr, "matrix2d"),
    S(shape.flipud, "matrix2d"),
    S(shape.rot90, "rotation"),
    S(shape.roll, "roll", shape.Roll),
    S(shape.expand, "broadcast", shape.Expand, public=False),
    S(shape.view, "reshape", public=False),
    S(shape.t, "matrix", public=False),
    *(Entry(f, public=False) for f in (shape.expand_as, shape.contiguous, shape.is_contiguous)),
    S(movedim.movedim, "movedim"),
    S(movedim.moveaxis, "movedim"),
    S(movedim.narrow, "narrow"),
    S(movement.split, "split"),
    S(movement.chunk, "chunks"),
    S(movement.unbind, "dim"),
    S(movement.index_select, "index_select"),
    S(movement.masked_fill, "mask"),
    S(movement.tril, "diagonal"),
    S(movement.triu, "diagonal"),
    S(movement.gather, "gather", movement.Gather),
    S(movement.scatter_add, "scatter", movement.ScatterAdd),
    S(movement.cat, "cat", movement.Cat, aliases=("concat",), method=False),
    S(movement.stack, "stack", method=False),
    *(S(f, "tensors", method=False) for f in (stacking.hstack, stacking.vstack, stacking.dstack,
                                            stacking.column_stack)),
    *(Entry(f, method=False) for f in (stacking.atleast_1d, stacking.atleast_2d,
                                       stacking.atleast_3d, stacking.broadcast_tensors)),
    Entry(selection.masked_select),  # (a shape that depends on the values: no vmap)
    S(selection.take, "take"),
    S(selection.take_along_dim, "along_dim"),
    S(selection.select, "select"),
    S(selection.ravel, "matrix"),
    S(movement.pad, ("pad_constant", "pad_modes"), movement.Pad, method=False,
      functional=True),
    Entry(movement.one_hot, method=False, functional=True),
    S(tiling.repeat_interleave, "repeat_interleave"),
    S(tiling.meshgrid, "meshgrid", method=False),
    # ---- indexed writes, counting, sorting (ops/scatter.py, counting.py, sorting.py) -------
    S(scatter.scatter, ("unique_scatter", "scatter_value", "scatter_reduce_kw"), scatter.Scatter,
      AWAY_FROM_ZERO),
    S(scatter.scatter_reduce, "scatter_reduce", scatter.ScatterReduce, AWAY_FROM_ZERO),
    S(scatter.index_add, "index_add", movement.IndexAdd),
    S(scatter.index_put, "index_put", movement.IndexPut),
    S(scatter.masked_scatter, "masked"),
    *(Entry(f) for f in (counting.nonzero, counting.unique, counting.bincount)),
    Entry(counting.searchsorted, method=False),
    Entry(sorting.argsort),
    S(sorting.sort, "sort", None, DISTINCT),
    S(sorting.topk, "topk", None, DISTINCT),
    S(sorting.kthvalue, "kthvalue", None, DISTINCT),
    # ---- products and matrices (ops/linalg.py, ops/matrix.py, linalg.py) -------------------
    S(matmul_ops.matmul, ("matmul", "matmul_ranks"), matmul_ops.Matmul),
    S(matmul_ops.mm, "mm"),
    S(matmul_ops.bmm, "bmm"),
    S(matmul_ops.dot, "dot"),
    S(matmul_ops.outer, "outer"),
    S(products.tensordot, "tensordot", method=False),
    S(products.inner, "dot"),
    S(products.vdot, "dot"),
    S(products.kron, "outer"),
    S(products.mv, "mv"),
    S(products.cross, "cross"),
    S(products.dist, "dot"),
    S(matmul_ops.einsum, ("einsum", "einsum_diagonal"), matmul_ops.Einsum, method=False,
      functional=True),
    S(matmul_ops.linear, "linear", matmul_ops.Linear, public=False, method=False,
      functional=True),
    S(matrix.diagonal, "diagonal_dims"),
    S(matrix.diag, "diag"),
    S(matrix.trace, "matrix2d"),
    S(matrix.addmm, "addmm"),
    S(matrix.baddbmm, "baddbmm"),
    S(matrix.cdist, "cdist", method=False),
    S(linalg.det, "square", matmul_ops.Det, INVERTIBLE_NEGATIVE),
    S(linalg.inverse, "square", matmul_ops.Inv, INVERTIBLE_NEGATIVE),
    S(linalg.logdet, "square", None, INVERTIBLE),
    S(linalg.slogdet, "square", matmul_ops.LogAbsDet, INVERTIBLE_NEGATIVE, method=False),
    # ---- convolution and pooling (ops/conv.py, conv_transpose.py, pool.py, ...) ------------
    *(S(f, key, op, *domain, public=False, method=False, functional=True)
      for f, key, op, *domain in (
          (conv.conv1d, "conv1d", None), (conv.conv2d, "conv", conv.Conv2d),
          (conv_transpose.conv_transpose2d, "conv_transpose", conv.ConvTranspose2d),
          (pool.avg_pool2d, "avg_pool", None), (pool.max_pool2d, "max_pool", pool.MaxPool2d,
                                                DISTINCT),
          (fold.fold, "fold", fold.Fold), (fold.unfold, "unfold", fold.Unfold),
          (conv.conv3d, "conv3d", conv.Conv3d),
          (conv_transpose.conv_transpose1d, "conv_transpose1d", None),
          (conv_transpose.conv_transpose3d, "conv_transpose3d", conv.ConvTranspose3d),
          (pool.avg_pool1d, "avg_pool1d", None), (pool.avg_pool3d, "avg_pool3d", None),
          (pool.max_pool1d, "max_pool1d", None, DISTINCT),
          (pool.max_pool3d, "max_pool3d", pool.MaxPool3d, DISTINCT),
          (adaptive_pool.adaptive_avg_pool1d, "adaptive1d", None),
          (adaptive_pool.adaptive_avg_pool2d, "adaptive2d", None),
          (adaptive_pool.adaptive_avg_pool3d, "adaptive3d", None),
          (adaptive_pool.adaptive_max_pool1d, "adaptive1d", None, DISTINCT),
          (adaptive_pool.adaptive_max_pool2d, "adaptive2d", None, DISTINCT))),
    # ---- random sampling and new tensors (creation.py) -------------------------------------
    Entry(creation.bernoulli),
    Entry(creation.multinomial),
    # ---- statistics, assembly and index queries (ops/statistics.py, assembly.py, ...) -------
    *(Entry(f) for f in (statistics.cummax, statistics.cummin, statistics.logcumsumexp,
                         statistics.quantile, statistics.nanquantile, statistics.histc,
                         statistics.cov, statistics.corrcoef, counting.argwhere,
                         assembly.diag_embed, assembly.diagflat)),
    Entry(statistics.trapezoid, aliases=("trapz",), method=False),
    *(Entry(f) for f in (EW.fmax, EW.fmin, EW.sinc, EW.float_power, EW.copysign, EW.ldexp,
                         EW.heaviside, C.gcd, C.lcm, counting.unique_consecutive,
                         stacking.tensor_split, stacking.hsplit, stacking.vsplit,
                         stacking.dsplit)),
    Entry(selection.unfold, public=False),
    *(Entry(f) for f in (scatter.index_fill, scatter.index_copy, scatter.slice_scatter,
                         matrix.addmv, matrix.addr, matrix.addbmm, statistics.mode,
                         products.renorm)),
    *(Entry(f, method=False) for f in (counting.bucketize, assembly.block_diag,
                                       assembly.vander, assembly.cartesian_prod,
                                       assembly.combinations)),
    Entry(creation.tril_indices, method=False),
    Entry(creation.triu_indices, method=False),
    *(Entry(f, public=False) for f in (creation.new_zeros, creation.new_ones, creation.new_empty,
                                       creation.new_full, creation.new_tensor)),
)

FUNCTIONS: dict[str, Callable[..., Any]] = {
    n: e.function for e in TABLE if e.public for n in e.names}
"""``chainrule.<name>`` for every public op."""
FUNCTIONAL: dict[str, Callable[..., Any]] = {
    e.name: e.function for e in TABLE if e.functional}
"""``nn.functional.<name>`` for the ops it re-exports."""
METHODS: dict[str, Callable[..., Any]] = {
    **{n: e.function for e in TABLE if e.method for n in e.names},
    **tensor_operators.METHODS,
    **tensor_pickle.METHODS,
}
"""``Tensor.<name>``: the ops above, then the operators, in-place methods and pickling."""


def bind() -> None:
    """Attach ``METHODS`` to ``Tensor`` (run once, by ``chainrule/__init__.py``)."""
    clash = sorted(n for n in METHODS if n in vars(Tensor))
    if clash:
        raise RuntimeError(f"op table: Tensor already defines {clash}")
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)

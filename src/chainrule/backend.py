"""The one seam between chainrule and its array library.

Every op computes on arrays through ``xp`` (NumPy today). A GPU backend (CuPy) would be added
here, by rebinding ``xp`` and ``Array``, without touching the ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

import numpy

from chainrule import mkl

xp = numpy
Array = numpy.ndarray

float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
float16 = numpy.dtype("float16")
int64 = numpy.dtype("int64")
int32 = numpy.dtype("int32")
int16 = numpy.dtype("int16")
int8 = numpy.dtype("int8")
uint8 = numpy.dtype("uint8")
bool_ = numpy.dtype("bool")


_default_float = float32


def default_float() -> numpy.dtype:
    """The dtype of floating tensors made without one (``chainrule.get_default_dtype()``)."""
    return _default_float


def float_or_default(dtype: object) -> numpy.dtype:
    """``dtype`` as a NumPy dtype, or the default floating dtype when it is None."""
    return _default_float if dtype is None else numpy.dtype(dtype)


def set_default_float(dtype: object) -> None:
    """Make ``dtype`` (float16, float32 or float64) the default floating dtype."""
    global _default_float
    d = numpy.dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the "
                        f"default type, got {d}")
    _default_float = d


def is_floating(dtype: numpy.dtype) -> bool:
    """True for the floating dtypes (the only ones that can carry gradients), bfloat16 included."""
    return dtype.kind == "f" or is_bfloat16(dtype)


def is_bfloat16(dtype: numpy.dtype) -> bool:
    """True for ml_dtypes' bfloat16.

    NOTE: tests ``kind`` first: ``dtype.name`` is computed in Python (about 2 us, a tenth of
    a small product's time), and every NumPy dtype but a void one rules itself out by kind.
    """
    return dtype.kind == "V" and dtype.name == "bfloat16"


def bfloat16() -> numpy.dtype:
    """The bfloat16 dtype, whose storage comes from the optional ``ml_dtypes`` package.

    NOTE: imported on first use, not with chainrule: ``import ml_dtypes`` costs about as much as
    importing chainrule itself, and most programs never ask for bfloat16.
    """
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError("bfloat16 tensors need the ml_dtypes package: "
                          "pip install 'chainrule[amp]' (or pip install ml_dtypes)") from None
    return numpy.dtype(ml_dtypes.bfloat16)


def matmul(a: Array, b: Array, out: Array | None = None) -> Array:
    """``a @ b`` (into ``out`` when given), through MKL where it is installed (``mkl``), else
    NumPy's BLAS; bfloat16 operands are multiplied in float32 and the product rounded to
    bfloat16.

    NOTE: NumPy has no bfloat16 kernels: ``ml_dtypes`` multiplies element by element (about 30x
    slower than float32 BLAS at 256x256) and returns float32. float32 products of bfloat16
    values are exact, so the rounding is the only one, as with a float32-accumulating kernel.
    """
    if out is not None:
        return _product(a, b, out)
    if not (is_bfloat16(a.dtype) or is_bfloat16(b.dtype)):
        if not (a.size and b.size):  # (the fast paths below reshape by the sizes)
            return numpy.matmul(a, b)
        if a.ndim > 2 and b.ndim > 1 and a.shape[-1] == 1 and b.shape[-2] == 1:
            # NOTE: stacked outer products (per-sample weight gradients under vmap): NumPy's
            # batched matmul with an inner size of 1 is ~5x slower than einsum's outer-product
            # kernel, and the broadcast product ``a * b`` ~3x slower.
            return numpy.einsum("...i,...j->...ij", a[..., 0], b[..., 0, :])
        if b.ndim > 2 and a.shape[:-2] == b.shape[:-2] and not any(b.strides[:-2]):
            # NOTE: b is one matrix broadcast over a stack (a shared weight under vmap): one
            # GEMM over all of a's rows instead of NumPy's loop of small products.
            rows = _product(a.reshape(-1, a.shape[-1]), b[(0,) * (b.ndim - 2)])
            return rows.reshape(*a.shape[:-1], b.shape[-1])
        if b.ndim == 2 and a.ndim > 2 and any(
                st == 0 and n > 1 for st, n in zip(a.strides[:-1], a.shape[:-1])):
            # NOTE: rows of a repeated by broadcasting (a value shared by the samples of a
            # vmap, as the primal inside jacfwd): each distinct row is multiplied once.
            shared = tuple(slice(0, 1) if st == 0 else slice(None) for st in a.strides[:-1])
            # (the copy: callers write into a product in place)
            distinct = _product(a[shared], b)
            return numpy.broadcast_to(distinct, (*a.shape[:-1], b.shape[-1])).copy()
        if a.ndim > 2 and b.ndim > 2:
            # NOTE: a stack of products whose matrices are strided views (attention's heads
            # sliced out of one fused projection) runs 1.3-1.5x faster on contiguous copies:
            # BLAS reads each product's operands far from one another otherwise
            return _product(compact(a), compact(b))
        return _product(a, b)
    return widened(_product, a, b)


def products_by(a: Array, n: int) -> Callable[[Array, Array], Array]:
    """``(x, out) ↦ a @ x`` written into ``out``, for many ``x`` of ``n`` columns (a recurrent
    layer's weight over its time steps): MKL's packed copy of ``a`` where MKL takes the
    products (``mkl.Packed``), else ``matmul``."""
    done = mkl.packed(a, n)
    return done if done is not None else (lambda x, out: matmul(a, x, out=out))


def _product(a: Array, b: Array, out: Array | None = None) -> Array:
    """``numpy.matmul(a, b, out=out)``, by MKL where it takes the product."""
    done = mkl.matmul(a, b, out)
    return numpy.matmul(a, b, out=out) if done is None else done


def compact(x: Array) -> Array:
    """``x`` whose matrices (last two axes) are each one dense block, row- or column-major (as
    BLAS reads fastest): as it is when they are, else a contiguous copy."""
    r, c = x.shape[-2:]
    s0, s1 = x.strides[-2:]
    size = x.itemsize
    if (s1 == size and s0 == c * size) or (s0 == size and s1 == r * size):
        return x
    return numpy.ascontiguousarray(x)


def row_major(x: Array) -> Array:
    """``x`` whose matrices are each row-major (C order in the last two axes): as it is when
    they are, else a contiguous copy. NOTE: NumPy's products read a column-major right operand
    sliced by columns 1.6-1.9× slower than a row-major one (attention's key blocks, 64 ×
    32×128 by 128×32), where ``compact`` would keep it."""
    r, c = x.shape[-2:]
    if x.strides[-1] == x.itemsize and (r < 2 or x.strides[-2] == c * x.itemsize):
        return x
    return numpy.ascontiguousarray(x)


def widened(fn: Callable[..., Array], *xs: Array) -> Array:
    """``fn(*xs)`` computed on float32 copies of any bfloat16 operands, the result rounded to
    the operands' common dtype (NumPy kernels such as matmul and einsum lack bfloat16)."""
    out = fn(*[x.astype(float32) if is_bfloat16(x.dtype) else x for x in xs])
    return out.astype(numpy.result_type(*[x.dtype for x in xs]), copy=False)


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3, "V": 2}  # "V": ml_dtypes' bfloat16


def category(dtype: numpy.dtype) -> int:
    """PyTorch's promotion category: 0 bool, 1 integer, 2 floating, 3 complex."""
    return _CATEGORY[dtype.kind]


def promote_types(a: numpy.dtype, b: numpy.dtype) -> numpy.dtype:
    """PyTorch's ``promote_types``: the higher category wins (bool < integer < floating <
    complex) and keeps its own width (int64 with float16 gives float16, not NumPy's float64);
    within a category, the wider dtype."""
    if a is b:
        return a
    ca, cb = category(a), category(b)
    if ca == cb:
        return numpy.promote_types(a, b)
    hi, lo = (a, b) if ca > cb else (b, a)
    if hi.kind == "c" and lo.kind == "f":  # complex64 with float64 gives complex128
        return numpy.promote_types(hi, lo)
    return hi


def result_type(*arrays: Array) -> numpy.dtype:
    """PyTorch's result type of an op over ``arrays``: 0-d arrays (which include Python
    scalars, already given the other operand's dtype) join only when their category is higher
    than every dimensioned operand's, as in ``torch.result_type``."""
    dim = zero = None
    for x in arrays:
        d = x.dtype
        if x.ndim:
            dim = d if dim is None else promote_types(dim, d)
        else:
            zero = d if zero is None else promote_types(zero, d)
    if dim is None:
        return zero
    if zero is None or category(zero) <= category(dim):
        return dim
    if zero.kind == "c" and dim.kind == "f":  # the complex type of the dimensioned float
        return numpy.dtype(numpy.complex128 if dim == float64 else numpy.complex64)
    return zero


def promote(a: Array, b: Array) -> tuple[Array, Array]:
    """Both operands cast to their PyTorch result type (a no-op when the dtypes agree)."""
    if a.dtype is b.dtype:
        return a, b
    dt = result_type(a, b)
    return (a if a.dtype == dt else a.astype(dt)), (b if b.dtype == dt else b.astype(dt))


def _tune_malloc() -> None:
    """Keep large temporaries in glibc's heap instead of mmap'ing them afresh each step.

    NOTE: glibc returns every > 128 KiB block to the OS on free, so each training step
    page-faults its activations in again; raising the thresholds measured 2-3x on an MLP step
    (PERF-NOTES.md). Python objects are unaffected; a no-op where glibc is absent.
    """
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 * 1024 * 1024)
    mallopt(m_trim_threshold, 1024 * 1024 * 1024)


_tune_malloc()

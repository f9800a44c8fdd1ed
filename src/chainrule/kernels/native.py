"""Calls from compiled kernels into C functions known by their address (MKL's GEMM, the OpenMP
runtime's thread numbers), and array views of raw addresses.

The addresses are arguments, not constants compiled in, so a kernel that makes these calls is
cached on disk like any other (a C function's address changes from process to process).
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.extending import intrinsic


@intrinsic
def pointer(typingctx: Any, address: Any, dtype: Any) -> Any:
    """The integer ``address`` as a pointer to ``dtype`` (a NumPy scalar type, or an array's
    ``dtype``), for ``numba.carray``."""
    if isinstance(dtype, types.NumberClass):
        item = dtype.instance_type
    elif isinstance(dtype, types.DType):
        item = dtype.dtype
    else:
        return None
    if not isinstance(address, types.Integer):
        return None
    target = types.CPointer(item)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.inttoptr(args[0], context.get_value_type(target))

    return target(address, dtype), codegen


@intrinsic
def call_int(typingctx: Any, address: Any) -> Any:
    """The C function ``int f(void)`` at ``address``, called."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        function = ir.FunctionType(ir.IntType(32), [])
        return builder.call(builder.inttoptr(args[0], function.as_pointer()), [])

    return types.int32(address), codegen


@intrinsic
def call(typingctx: Any, address: Any) -> Any:
    """The C function ``void f(void)`` at ``address``, called."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        function = ir.FunctionType(ir.VoidType(), [])
        builder.call(builder.inttoptr(args[0], function.as_pointer()), [])
        return context.get_dummy_value()

    return types.none(address), codegen


@intrinsic
def gemm(typingctx: Any, address: Any, transa: Any, transb: Any, m: Any, n: Any, k: Any,
         alpha: Any, a: Any, lda: Any, b: Any, ldb: Any, beta: Any, c: Any, ldc: Any) -> Any:
    """CBLAS's row-major ``?gemm`` at ``address`` (float32's or float64's, as ``alpha``):
    c ← alpha·op(a) op(b) + beta·c, with a, b and c given by their addresses and
    ``transa``/``transb`` CBLAS's flags (111 as stored, 112 transposed)."""
    ints = (transa, transb, m, n, k, lda, ldb, ldc)
    if (alpha not in (types.float32, types.float64) or beta != alpha
            or not all(isinstance(t, types.Integer) for t in (address, a, b, c, *ints))):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        i32, ptr = ir.IntType(32), ir.IntType(8).as_pointer()
        real = context.get_value_type(alpha)
        function = ir.FunctionType(ir.VoidType(), [i32] * 6 + [real, ptr, i32, ptr, i32, real,
                                                              ptr, i32])
        real_at, pointer_at = (6, 11), (7, 9, 12)

        def arg(i: int) -> Any:
            if i in real_at:
                return args[i]
            if i in pointer_at:
                return builder.inttoptr(args[i], ptr)
            return context.cast(builder, args[i], signature.args[i], types.int32)

        call = [ir.Constant(i32, 101)] + [arg(i) for i in range(1, 14)]
        builder.call(builder.inttoptr(args[0], function.as_pointer()), call)
        return context.get_dummy_value()

    return types.none(address, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c,
                      ldc), codegen


@intrinsic
def gemm_compute(typingctx: Any, address: Any, transb: Any, m: Any, n: Any, k: Any, a: Any,
                 lda: Any, b: Any, ldb: Any, beta: Any, c: Any, ldc: Any) -> Any:
    """MKL's row-major ``cblas_?gemm_compute`` at ``address`` (float32's or float64's, as
    ``beta``): c ← a b + beta·c for a matrix a packed by ``cblas_?gemm_pack`` (its address),
    b given by its address and ``transb`` (111 as stored, 112 transposed)."""
    if beta not in (types.float32, types.float64) or not all(
            isinstance(t, types.Integer) for t in (address, transb, m, n, k, a, lda, b, ldb, c,
                                                   ldc)):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        i32, ptr = ir.IntType(32), ir.IntType(8).as_pointer()
        real = context.get_value_type(beta)
        function = ir.FunctionType(ir.VoidType(), [i32] * 6 + [ptr, i32, ptr, i32, real, ptr,
                                                              i32])

        def arg(i: int) -> Any:
            if i == 9:
                return args[i]
            if i in (5, 7, 10):
                return builder.inttoptr(args[i], ptr)
            return context.cast(builder, args[i], signature.args[i], types.int32)

        call = [ir.Constant(i32, 101), ir.Constant(i32, 151)] + [arg(i) for i in range(1, 12)]
        builder.call(builder.inttoptr(args[0], function.as_pointer()), call)
        return context.get_dummy_value()

    return types.none(address, transb, m, n, k, a, lda, b, ldb, beta, c, ldc), codegen


@intrinsic
def call_share(typingctx: Any, address: Any, data: Any, lo: Any, hi: Any, t: Any) -> Any:
    """The C function ``void f(void *data, int64 lo, int64 hi, int64 t)`` at ``address``,
    called (a share ``lo:hi`` of some work, for thread ``t``)."""
    if not isinstance(address, types.Integer) or data != types.voidptr or not all(
            isinstance(a, types.Integer) for a in (lo, hi, t)):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        i64 = ir.IntType(64)
        function = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer(), i64, i64, i64])
        call = [args[1]] + [context.cast(builder, args[i], signature.args[i], types.int64)
                            for i in (2, 3, 4)]
        builder.call(builder.inttoptr(args[0], function.as_pointer()), call)
        return context.get_dummy_value()

    return types.none(address, data, lo, hi, t), codegen

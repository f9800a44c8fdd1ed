"""ONNX node patterns for chainrule's primitives, by op name: each converter receives the graph,
the traced op (its ``params``) and its input tensors, and returns the name of its output."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.onnx.graph_builder import GraphBuilder
from chainrule.tensor import Tensor

Converter = Callable[[GraphBuilder, Any, list[Tensor], Tensor], str]
SYMBOLICS: dict[str, Converter] = {}

_INT64_MAX = np.iinfo(np.int64).max
_INT64_MIN = np.iinfo(np.int64).min


def _simple(name: str, op_type: str) -> None:
    SYMBOLICS[name] = lambda g, op, xs, out: g.node(op_type, [g.value(x) for x in xs])


for _name, _type in [("add", "Add"), ("sub", "Sub"), ("mul", "Mul"), ("div", "Div"),
                     ("pow", "Pow"), ("maximum", "Max"), ("minimum", "Min"), ("neg", "Neg"),
                     ("exp", "Exp"), ("log", "Log"), ("sqrt", "Sqrt"), ("abs", "Abs"),
                     ("tanh", "Tanh"), ("sigmoid", "Sigmoid"), ("relu", "Relu"), ("erf", "Erf"),
                     ("sin", "Sin"), ("cos", "Cos"), ("matmul", "MatMul"), ("where", "Where"),
                     ("clone", "Identity"), ("gt", "Greater"), ("lt", "Less"),
                     ("ge", "GreaterOrEqual"), ("le", "LessOrEqual"), ("eq", "Equal"),
                     ("logical_not", "Not"), ("logical_and", "And"), ("logical_or", "Or"),
                     ("floor", "Floor"), ("ceil", "Ceil"), ("sign", "Sign")]:
    _simple(_name, _type)


def symbolic(name: str) -> Callable[[Converter], Converter]:
    def add(fn: Converter) -> Converter:
        SYMBOLICS[name] = fn
        return fn
    return add


@symbolic("rsqrt")
def _rsqrt(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    return g.node("Reciprocal", [g.node("Sqrt", [g.value(xs[0])])])


@symbolic("ne")
def _ne(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    return g.node("Not", [g.node("Equal", [g.value(x) for x in xs])])


@symbolic("leaky_relu")
def _leaky_relu(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    return g.node("LeakyRelu", [g.value(xs[0])], alpha=float(op.negative_slope))


@symbolic("elu")
def _elu(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    return g.node("Elu", [g.value(xs[0])], alpha=float(op.alpha))


@symbolic("softplus")
def _softplus(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    x = g.value(xs[0])
    dt = xs[0].detach().numpy().dtype
    beta = g.constant(np.asarray(op.beta, dt), "beta")
    bx = g.node("Mul", [x, beta])
    soft = g.node("Div", [g.node("Softplus", [bx]), beta])
    linear = g.node("Greater", [bx, g.constant(np.asarray(op.threshold, dt), "threshold")])
    return g.node("Where", [linear, x, soft])


@symbolic("clamp")
def _clamp(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    dt = xs[0].detach().numpy().dtype
    lo = "" if op.lo is None else g.constant(np.asarray(op.lo, dt), "min")
    hi = "" if op.hi is None else g.constant(np.asarray(op.hi, dt), "max")
    return g.node("Clip", [g.value(xs[0]), lo, hi])


@symbolic("softmax")
def _softmax(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    return g.node("Softmax", [g.value(xs[0])], axis=int(op.dim))


@symbolic("log_softmax")
def _log_softmax(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    return g.node("LogSoftmax", [g.value(xs[0])], axis=int(op.dim))


def _reduce(op_type: str) -> Converter:
    def convert(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
        axes = op.axes if op.axes is not None else tuple(range(xs[0].ndim))
        keep = int(bool(op.keepdim))
        if op_type == "ReduceSum" or g.opset >= 18:  # axes became an input in opset 13 / 18
            return g.node(op_type, [g.value(xs[0]), g.ints(axes, "axes")], keepdims=keep)
        return g.node(op_type, [g.value(xs[0])], axes=list(axes), keepdims=keep)
    return convert


def _scalar(g: GraphBuilder, x: Tensor, value: float, hint: str) -> str:
    return g.constant(np.asarray(value, x.detach().numpy().dtype), hint)


def _mean_last(g: GraphBuilder, x: str, ndim: int) -> str:
    """ReduceMean over the last ``ndim`` axes, kept (axes an input from opset 18)."""
    axes = list(range(-ndim, 0))
    if g.opset >= 18:
        return g.node("ReduceMean", [x, g.ints(axes, "axes")], keepdims=1)
    return g.node("ReduceMean", [x], axes=axes, keepdims=1)


@symbolic("gelu")
def _gelu(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    x = g.value(xs[0])
    if op.approximate == "tanh":  # ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
        cube = g.node("Mul", [x, g.node("Mul", [x, x])])
        inner = g.node("Add", [x, g.node("Mul", [cube, _scalar(g, xs[0], 0.044715, "c")])])
        t = g.node("Tanh", [g.node("Mul", [inner, _scalar(g, xs[0], math.sqrt(2 / math.pi),
                                                                   "c")])])
    else:  # ½x(1 + erf(x/√2))
        t = g.node("Erf", [g.node("Div", [x, _scalar(g, xs[0], math.sqrt(2), "sqrt2")])])
    half_x = g.node("Mul", [x, _scalar(g, xs[0], 0.5, "half")])
    return g.node("Mul", [half_x, g.node("Add", [t, _scalar(g, xs[0], 1.0, "one")])])


@symbolic("layer_norm")
def _layer_norm(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    x = g.value(xs[0])
    centered = g.node("Sub", [x, _mean_last(g, x, op.ndim)])
    var = _mean_last(g, g.node("Mul", [centered, centered]), op.ndim)
    std = g.node("Sqrt", [g.node("Add", [var, _scalar(g, xs[0], op.eps, "eps")])])
    y = g.node("Div", [centered, std])
    if len(xs) == 3:
        y = g.node("Add", [g.node("Mul", [y, g.value(xs[1])]), g.value(xs[2])])
    return y


@symbolic("scaled_dot_product_attention")
def _attention(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    q, k, v = (g.value(x) for x in xs[:3])
    perm = list(range(xs[1].ndim))
    perm[-2:] = perm[-1], perm[-2]
    scores = g.node("Mul", [g.node("MatMul", [q, g.node("Transpose", [k], perm=perm)]),
                            _scalar(g, xs[0], op.scale, "scale")])
    if len(xs) == 4:
        scores = g.node("Add", [scores, g.value(xs[3])])
    if op.is_causal:
        L, S = xs[0].shape[-2], xs[1].shape[-2]
        blocked = np.where(np.tri(L, S, dtype=bool), 0.0, -np.inf)
        scores = g.node("Add", [scores, g.constant(
            blocked.astype(xs[0].detach().numpy().dtype), "causal_mask")])
    return g.node("MatMul", [g.node("Softmax", [scores], axis=-1), v])


SYMBOLICS["sum"] = _reduce("ReduceSum")
SYMBOLICS["amax"] = _reduce("ReduceMax")
SYMBOLICS["amin"] = _reduce("ReduceMin")


@symbolic("cast")
def _cast(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    to = g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(op.dtype))
    return g.node("Cast", [g.value(xs[0])], to=to)


@symbolic("linear")
def _linear(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    y = g.node("MatMul", [g.value(xs[0]), g.node("Transpose", [g.value(xs[1])], perm=[1, 0])])
    return g.node("Add", [y, g.value(xs[2])]) if len(xs) > 2 else y


@symbolic("conv2d")
def _conv2d(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    (t, b), (lf, r) = op.pads
    return g.node("Conv", [g.value(x) for x in xs], strides=list(op.stride), pads=[t, lf, b, r],
                  dilations=list(op.dilation), group=int(op.groups),
                  kernel_shape=list(xs[1].shape[2:]))


@symbolic("max_pool2d")
def _max_pool2d(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    (t, b), (lf, r) = op.pads
    h, w = xs[0].shape[-2:]
    floor = [(n + p - d * (k - 1) - 1) // s + 1 for n, p, d, k, s in
             zip((h, w), (t + b, lf + r), op.dilation, op.kernel, op.stride)]
    return g.node("MaxPool", [g.value(xs[0])], kernel_shape=list(op.kernel),
                  strides=list(op.stride), pads=[t, lf, b, r], dilations=list(op.dilation),
                  ceil_mode=int(list(op.out_size) != floor))


@symbolic("reshape")
def _reshape(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    """Inserting or removing unit dims is Squeeze/Unsqueeze; otherwise dims kept from the
    input become 0 (copy) and the first other dim -1 (inferred). Either way a batch size other
    than the example's still fits."""
    src = xs[0].shape
    unit = _unit_dims(tuple(src), tuple(out.shape))
    if unit is not None:
        squeeze, unsqueeze = unit
        name = g.value(xs[0])
        if squeeze:
            name = g.node("Squeeze", [name, g.ints(squeeze)])
        if unsqueeze:
            name = g.node("Unsqueeze", [name, g.ints(unsqueeze)])
        return name if name != g.value(xs[0]) else g.node("Identity", [name])
    shape = [0 if i < len(src) and d == src[i] else d for i, d in enumerate(out.shape)]
    rest = [i for i, d in enumerate(shape) if d != 0]
    if rest:
        shape[rest[0]] = -1
    return g.node("Reshape", [g.value(xs[0]), g.ints(shape)])


def _unit_dims(src: tuple[int, ...], dst: tuple[int, ...]) -> tuple[list[int], list[int]] | None:
    """The input axes to squeeze and output axes to unsqueeze that turn ``src`` into ``dst``,
    pairing equal dims left to right (so a batch of 1 stays paired); None when the reshape
    does more than add or drop unit dims."""
    squeeze, unsqueeze = [], []
    i = j = 0
    while i < len(src) or j < len(dst):
        if i < len(src) and j < len(dst) and src[i] == dst[j]:
            i, j = i + 1, j + 1
        elif i < len(src) and src[i] == 1:
            squeeze.append(i)
            i += 1
        elif j < len(dst) and dst[j] == 1:
            unsqueeze.append(j)
            j += 1
        else:
            return None
    return squeeze, unsqueeze


@symbolic("permute")
def _permute(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    return g.node("Transpose", [g.value(xs[0])], perm=list(op.dims))


@symbolic("expand")
def _expand(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    src = (1,) * (out.ndim - xs[0].ndim) + tuple(xs[0].shape)
    shape = [1 if s == d else d for s, d in zip(src, out.shape)]
    return g.node("Expand", [g.value(xs[0]), g.ints(shape)])


@symbolic("cat")
def _cat(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    return g.node("Concat", [g.value(x) for x in xs], axis=int(op.dim))


@symbolic("getitem")
def _getitem(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    """Basic indexing (ints, slices, None, ...) as Slice, Gather and Unsqueeze; one integer
    array index (an embedding lookup) as Gather."""
    x = xs[0]
    index = op.index if isinstance(op.index, tuple) else (op.index,)
    if any(i is Ellipsis for i in index):
        k = index.index(Ellipsis)
        n_fill = x.ndim - sum(i is not None for i in index if i is not Ellipsis)
        index = index[:k] + (slice(None),) * n_fill + index[k + 1:]
    arrays = [i for i in index if isinstance(i, np.ndarray | list | Tensor)]
    ints = [i for i in index if isinstance(i, int | np.integer)]
    if len(arrays) > 1 or (arrays and ints) or any(
            np.asarray(a).dtype.kind == "b" for a in arrays):
        raise NotImplementedError(f"onnx.export: indexing a tensor of shape {tuple(x.shape)} "
                                  f"with {op.index!r} is not supported")
    name = g.value(x)
    starts, ends, axes, steps, int_axes, gather = [], [], [], [], [], None
    ax = 0
    for item in index:
        if item is None:
            continue
        if isinstance(item, slice):
            n = x.shape[ax]
            start, stop, step = item.indices(n)
            if (start, stop, step) != (0, n, 1):
                if step > 0 and stop >= n:
                    stop = _INT64_MAX
                elif step < 0 and stop < 0:
                    stop = _INT64_MIN
                starts.append(start), ends.append(stop), axes.append(ax), steps.append(step)
        elif isinstance(item, int | np.integer):
            int_axes.append((ax, int(item)))
        else:
            gather = (ax, item)
        ax += 1
    if axes:
        name = g.node("Slice", [name, g.ints(starts, "starts"), g.ints(ends, "ends"),
                                g.ints(axes, "axes"), g.ints(steps, "steps")])
    if gather is not None:
        ax, arr = gather
        arr = arr.detach().numpy() if isinstance(arr, Tensor) else np.asarray(arr)
        idx = g.input_of(arr) or g.constant(arr.astype(np.int64), "indices")
        name = g.node("Gather", [name, idx], axis=ax)
    for ax, i in sorted(int_axes, reverse=True):
        name = g.node("Gather", [name, g.constant(np.asarray(i, np.int64), "index")], axis=ax)
    new_axes, pos = [], 0
    for item in index:
        if item is None:
            new_axes.append(pos)
            pos += 1
        elif not isinstance(item, int | np.integer):
            pos += 1
    if new_axes:
        name = g.node("Unsqueeze", [name, g.ints(new_axes, "axes")])
    return name if name != g.value(x) else g.node("Identity", [name])


@symbolic("lstm_sequence")
def _lstm_sequence(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    """ONNX LSTM: W, R and B are the weights and bias reordered from PyTorch's gate order
    (i f g o) to ONNX's (i o f c); the summed bias is ONNX's Wb, with Rb zero."""
    x, w_ih, w_hh, h0, c0 = xs[:5]
    hidden = w_hh.shape[1]
    order = np.concatenate([np.arange(k * hidden, (k + 1) * hidden) for k in (0, 3, 1, 2)])
    gate_order = g.ints(order, "gate_order")
    w, r = (g.node("Unsqueeze", [g.node("Gather", [g.value(m), gate_order], axis=0),
                                 g.ints([0], "axes")]) for m in (w_ih, w_hh))
    bias = ""
    if len(xs) == 6:
        zeros = g.constant(np.zeros(4 * hidden, xs[5].detach().numpy().dtype), "lstm_Rb")
        wb = g.node("Gather", [g.value(xs[5]), gate_order], axis=0)
        bias = g.node("Unsqueeze", [g.node("Concat", [wb, zeros], axis=0), g.ints([0], "axes")])
    h, c = (g.node("Unsqueeze", [g.value(s), g.ints([0], "axes")])
            if g.has(s) or s.detach().numpy().any() else "" for s in (h0, c0))  # "": zeros
    y, _, yc = g.node("LSTM", [g.value(x), w, r, bias, "", h, c], n_out=3, hidden_size=hidden,
                      direction="reverse" if op.reverse else "forward")
    return g.node("Concat", [g.node("Squeeze", [y, g.ints([1], "axes")]), yc], axis=0)


@symbolic("pad")
def _pad(g: GraphBuilder, op: Any, xs: list[Tensor], out: Tensor) -> str:
    """Constant padding; ONNX lists all the befores, then all the afters."""
    widths = [(int(b), int(a)) for b, a in op.widths]
    pads = [b for b, _ in widths] + [a for _, a in widths]
    value = g.constant(np.asarray(op.value, xs[0].detach().numpy().dtype), "pad_value")
    return g.node("Pad", [g.value(xs[0]), g.ints(pads, "pads"), value], mode="constant")

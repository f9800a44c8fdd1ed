"""``check_layer``: the contract every ``nn`` layer keeps (after Keras' ``run_layer_test``).

Given a layer class, its constructor kwargs, an input shape and the expected output shape and
parameter count, it checks: the parameter count; the output shape and dtype; that backward
reaches the input and every parameter with gradients of their shapes; float64 gradients against
finite differences (``gradcheck`` over the input and all parameters); a ``state_dict`` round trip
into a freshly built (differently initialised) layer reproducing the output; and the repr.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import chainrule as cr

Shape = tuple[int, ...]


def _inputs(shapes: Sequence[Shape], rng: np.random.Generator, dtype: Any,
            make: Callable[[np.random.Generator, Shape], np.ndarray] | None) -> list[cr.Tensor]:
    out = []
    for s in shapes:
        arr = make(rng, s) if make is not None else rng.standard_normal(s)
        if arr.dtype.kind == "f":
            out.append(cr.tensor(arr, dtype=dtype, requires_grad=True))
        else:
            out.append(cr.tensor(arr))
    return out


def check_layer(layer_cls: type[cr.nn.Module], kwargs: dict[str, Any],
                input_shape: Shape | Sequence[Shape], expected_shape: Shape, n_params: int,
                make_input: Callable[[np.random.Generator, Shape], np.ndarray] | None = None,
                gradcheck: bool = True, seed: int = 0) -> cr.nn.Module:
    """Run the layer contract; returns the (float32) layer it built."""
    shapes: list[Shape] = ([tuple(input_shape)] if input_shape and isinstance(input_shape[0], int)
                           else [tuple(s) for s in input_shape])  # type: ignore[union-attr]
    cr.manual_seed(seed)
    layer = layer_cls(**kwargs)
    name = layer_cls.__name__

    # parameter count
    count = sum(p.numel() for p in layer.parameters())
    assert count == n_params, f"{name}: {count} parameters, expected {n_params}"
    for pname, p in layer.named_parameters():
        assert p.dtype == cr.float32, f"{name}.{pname} has dtype {p.dtype}, expected float32"

    # forward: shape and dtype
    rng = np.random.default_rng(seed)
    xs = _inputs(shapes, rng, cr.float32, make_input)
    out = layer(*xs)
    assert out.shape == tuple(expected_shape), (
        f"{name}: output {out.shape}, expected {expected_shape}")
    assert out.dtype == cr.float32, f"{name}: output dtype {out.dtype}"

    # backward reaches the input and every parameter
    up = cr.tensor(rng.standard_normal(out.shape), dtype=cr.float32)
    out.backward(up)
    for x in xs:
        if x.requires_grad:
            assert x.grad is not None and x.grad.shape == x.shape, f"{name}: input grad"
    for pname, p in layer.named_parameters():
        assert p.grad is not None, f"{name}.{pname} got no gradient"
        assert p.grad.shape == p.shape and p.grad.dtype == p.dtype, f"{name}.{pname} grad shape"
    layer.zero_grad()

    # float64 gradients against finite differences, over the input and all parameters
    if gradcheck:
        layer.double()
        x64 = _inputs(shapes, np.random.default_rng(seed + 1), cr.float64, make_input)
        params = list(layer.parameters())
        n_in = len(x64)
        assert cr.autograd.gradcheck(lambda *a: layer(*a[:n_in]), [*x64, *params])
        layer.float()

    # state_dict round trip into a differently initialised copy
    cr.manual_seed(seed + 100)
    other = layer_cls(**kwargs)
    state = layer.state_dict()
    assert list(state) == list(other.state_dict()), f"{name}: state_dict keys differ"
    other.load_state_dict(state)
    layer.eval()
    other.eval()
    x_fresh = _inputs(shapes, np.random.default_rng(seed + 2), cr.float32, make_input)
    with cr.no_grad():
        np.testing.assert_allclose(other(*x_fresh).array, layer(*x_fresh).array, rtol=1e-6,
                                   atol=1e-6)
    layer.train()

    # repr names the class
    assert repr(layer).startswith(name + "("), repr(layer)
    return layer

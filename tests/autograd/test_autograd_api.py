"""The autograd API around the engine: hooks, retain_grad, grad modes, ``autograd.grad``,
custom Functions, the version counter, and the error messages users see."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import chainrule as cr


def leaf(values: list[float]) -> cr.Tensor:
    return cr.tensor(values, dtype=cr.float64, requires_grad=True)


# ---- hooks and retain_grad --------------------------------------------------------------------
def test_hooks_on_leaf_and_non_leaf_can_replace_the_gradient() -> None:
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()) or g * 2)  # multi-element return
    y = x * 3
    y.register_hook(lambda g: g + 1)
    y.sum().backward()
    assert seen == [[6.0, 6.0]]
    assert x.grad.tolist() == [12.0, 12.0]


def test_hook_returning_none_keeps_the_gradient() -> None:
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: None)
    (x * 5).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_hook_handle_remove() -> None:
    x = leaf([1.0])
    h = x.register_hook(lambda g: g * 10)
    y = x * 2
    hy = y.register_hook(lambda g: g * 10)
    h.remove()
    hy.remove()
    y.sum().backward()
    assert x.grad.tolist() == [2.0]


def test_hook_on_tensor_without_grad_raises() -> None:
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        cr.ones(2).register_hook(lambda g: g)


def test_retain_grad_keeps_non_leaf_gradient() -> None:
    x = leaf([1.0, 2.0])
    y = x * 3
    y.retain_grad()
    z = x * 3
    (y * y + z).sum().backward(retain_graph=True)
    assert y.grad.tolist() == [6.0, 12.0]
    assert z.grad is None
    (y * y).sum().backward()  # a retained gradient sums over backward calls, as PyTorch's
    assert y.grad.tolist() == [12.0, 24.0]


# ---- grad modes -------------------------------------------------------------------------------
def test_no_grad_enable_grad_nesting() -> None:
    x = leaf([1.0])
    with cr.no_grad():
        assert not (x * 2).requires_grad
        with cr.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    assert cr.is_grad_enabled()


def test_grad_modes_as_decorators() -> None:
    x = leaf([1.0])

    @cr.no_grad()
    def off(t: cr.Tensor) -> cr.Tensor:
        return t * 2

    @cr.enable_grad()
    def on(t: cr.Tensor) -> cr.Tensor:
        return t * 2

    @cr.set_grad_enabled(False)
    def off2(t: cr.Tensor) -> cr.Tensor:
        return t * 2

    assert cr.is_grad_enabled()  # making the decorators changed nothing
    assert not off(x).requires_grad
    assert not off2(x).requires_grad
    with cr.no_grad():
        assert on(x).requires_grad
    assert cr.is_grad_enabled()


def test_set_grad_enabled_as_function_and_context() -> None:
    try:
        cr.set_grad_enabled(False)
        assert not cr.is_grad_enabled()
    finally:
        cr.set_grad_enabled(True)
    with cr.set_grad_enabled(False):
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()


def test_grad_mode_restored_after_exception() -> None:
    with pytest.raises(ValueError), cr.no_grad():
        raise ValueError
    assert cr.is_grad_enabled()


def test_grad_mode_is_per_thread() -> None:
    seen = []
    with cr.no_grad():
        t = threading.Thread(target=lambda: seen.append(cr.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


# ---- autograd.grad ----------------------------------------------------------------------------
def test_grad_returns_without_touching_dot_grad() -> None:
    x = leaf([1.0, 2.0])
    (g,) = cr.autograd.grad((x**2).sum(), x)
    assert g.tolist() == [2.0, 4.0]
    assert x.grad is None


def test_grad_allow_unused() -> None:
    x, y = leaf([1.0]), leaf([2.0])
    out = (x * 3).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        cr.autograd.grad(out, [x, y], retain_graph=True)
    gx, gy = cr.autograd.grad(out, [x, y], allow_unused=True)
    assert gx.tolist() == [3.0]
    assert gy is None


def test_grad_with_respect_to_non_leaf() -> None:
    x = leaf([1.0, 2.0])
    h = x * 2
    (gh,) = cr.autograd.grad((h * h).sum(), h)
    assert gh.tolist() == [4.0, 8.0]


def test_grad_create_graph_gives_differentiable_gradient() -> None:
    x = leaf([0.3, -1.2])
    (g,) = cr.autograd.grad(x.tanh().sum(), x, create_graph=True)
    (gg,) = cr.autograd.grad(g.sum(), x)
    t = np.tanh([0.3, -1.2])
    np.testing.assert_allclose(gg.array, -2 * t * (1 - t**2), rtol=1e-12)


def test_grad_outputs_for_non_scalar() -> None:
    x = leaf([1.0, 2.0])
    (g,) = cr.autograd.grad(x * x, x, grad_outputs=cr.tensor([1.0, -1.0], dtype=cr.float64))
    assert g.tolist() == [2.0, -4.0]


# ---- custom Function ---------------------------------------------------------------------------
class Cube(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x**3 * scale

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return 3 * x**2 * g * ctx.scale, None


def test_custom_function_forward_backward() -> None:
    x = leaf([1.0, 2.0])
    y = Cube.apply(x, 2.0)
    assert y.requires_grad and y.tolist() == [2.0, 16.0]
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 24.0]
    assert cr.autograd.gradcheck(lambda t: Cube.apply(t, 0.5), [leaf([0.3, -0.7])])


def test_custom_function_without_grad_is_constant() -> None:
    with cr.no_grad():
        assert not Cube.apply(leaf([1.0]), 1.0).requires_grad
    assert not Cube.apply(cr.tensor([1.0]), 1.0).requires_grad


def test_custom_function_too_few_gradients() -> None:
    class Bad(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):  # type: ignore[override]
            return x * y

        @staticmethod
        def backward(ctx, g):  # type: ignore[override]
            return g

    with pytest.raises(RuntimeError, match="returned 1 gradients"):
        Bad.apply(leaf([1.0]), leaf([2.0])).sum().backward()


# ---- version counter --------------------------------------------------------------------------
def test_inplace_change_of_saved_tensor_raises() -> None:
    x = leaf([1.0, 2.0])
    a = x * 1
    b = a.exp()  # exp saves a (its input)
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


def test_inplace_change_of_unsaved_input_is_allowed() -> None:
    x = leaf([1.0, 2.0])
    a = x * 1
    b = a + 1  # add never reads its inputs' values
    a.mul_(3)
    b.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_inplace_on_leaf_requiring_grad_raises() -> None:
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with cr.no_grad():
        x.add_(1)
    assert x.tolist() == [2.0]


def test_inplace_on_non_leaf_is_recorded() -> None:
    x = leaf([1.0, 2.0])
    y = x * 2
    y.mul_(3).add_(1)  # y = 6x + 1
    (y * y).sum().backward()
    assert x.grad.tolist() == [84.0, 156.0]


def test_inplace_op_reading_itself_is_caught_by_version_counter() -> None:
    """``y.mul_(y)`` saves y and then changes it; PyTorch refuses the backward too."""
    x = leaf([1.0, 2.0])
    y = x * 2
    y.mul_(y)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# ---- errors -----------------------------------------------------------------------------------
def test_backward_on_non_scalar_needs_gradient() -> None:
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        (leaf([1.0, 2.0]) * 2).backward()


def test_backward_on_tensor_without_grad() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.ones(1).sum().backward()


def test_requires_grad_on_integer_tensor() -> None:
    with pytest.raises(RuntimeError, match="floating point"):
        cr.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        cr.tensor([1, 2]).requires_grad_()


@pytest.mark.parametrize("fn, words", [
    (lambda: cr.ones(3, 4) @ cr.ones(5, 2), ["matmul", "(3, 4)", "(5, 2)"]),
    (lambda: cr.ones(2, 3, 4) @ cr.ones(3, 4, 2), ["matmul", "(2, 3, 4)", "(3, 4, 2)"]),
    (lambda: cr.cat([cr.ones(3, 4), cr.ones(2, 3)]), ["cat", "(3, 4)", "(2, 3)"]),
    (lambda: cr.ones(3, 4) + cr.ones(2, 4), ["add", "(3, 4)", "(2, 4)"]),
    (lambda: cr.ones(3, 4) * cr.ones(3), ["mul", "(3, 4)", "(3,)"]),
    (lambda: cr.ones(2, 3).reshape(4, 2), ["reshape", "(2, 3)"]),
    (lambda: cr.ones(2, 3).expand(4, 3), ["expand", "(2, 3)"]),
    (lambda: cr.stack([cr.ones(2), cr.ones(3)]), ["stack", "(2,)", "(3,)"]),
    (lambda: cr.ones(2, 3).sum(2), ["sum", "2"]),
])
def test_shape_errors_name_op_and_shapes(fn: object, words: list[str]) -> None:
    with pytest.raises((RuntimeError, IndexError)) as info:
        fn()  # type: ignore[operator]
    for w in words:
        assert w in str(info.value), f"{w!r} missing from: {info.value}"


def test_gradcheck_catches_a_wrong_backward() -> None:
    class Wrong(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):  # type: ignore[override]
            return x * x

        @staticmethod
        def backward(ctx, g):  # type: ignore[override]
            return g  # should be 2x·g

    with pytest.raises(cr.autograd.GradcheckError, match="analytic"):
        cr.autograd.gradcheck(Wrong.apply, [leaf([0.5, 1.5])])


def test_gradcheck_on_non_contiguous_input() -> None:
    x = cr.from_numpy(np.arange(6.0).reshape(2, 3).T).requires_grad_()
    assert cr.autograd.gradcheck(lambda t: (t * t.exp()).sum(), [x])


def test_gradcheck_refuses_float32() -> None:
    with pytest.raises(ValueError, match="float64"):
        cr.autograd.gradcheck(lambda t: t * 2, [cr.ones(2, requires_grad=True)])


def test_backward_inputs_may_name_non_leaves() -> None:
    x = leaf([1.0, 2.0])
    y = x * 2
    (y * y).sum().backward(inputs=[y])
    assert y.grad.tolist() == [4.0, 8.0]
    assert x.grad is None
    y2 = x * 2
    (y2 * y2).sum().backward(inputs=[y2, x])
    assert x.grad.tolist() == [8.0, 16.0]

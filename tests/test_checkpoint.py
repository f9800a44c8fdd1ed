"""cr.utils.checkpoint.checkpoint: the same values and gradients as running the segment
directly (and as torch.utils.checkpoint), dropout masks reproduced, activations not kept."""

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.checkpoint import checkpoint


def _block(seed: int = 0, p: float = 0.3) -> cr.nn.Module:
    cr.manual_seed(seed)
    return cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.Tanh(), cr.nn.Dropout(p),
                            cr.nn.Linear(8, 4))


def _grads(model, x, checkpointed: bool, **kwargs):
    model.zero_grad()
    x = x.detach().requires_grad_()
    cr.manual_seed(5)
    h = checkpoint(model, x, **kwargs) if checkpointed else model(x)
    y = (h.tanh() ** 2).sum()
    y.backward()
    return [_n(h)] + [p.grad.numpy().copy() for p in model.parameters()] + [x.grad.numpy()]


def _n(t):
    return t.detach().numpy().copy()


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_gradients_equal_the_direct_ones_with_dropout(use_reentrant: bool) -> None:
    model, x = _block(), cr.randn(6, 4)
    direct = _grads(model, x, False)
    again = _grads(model, x, True, use_reentrant=use_reentrant)
    for a, b in zip(direct, again):
        np.testing.assert_array_equal(a, b)


def test_rng_state_after_the_segment_is_as_without_checkpoint() -> None:
    model, x = _block(), cr.randn(6, 4, requires_grad=True)
    cr.manual_seed(3)
    checkpoint(model, x, use_reentrant=False).sum().backward()
    after_checkpoint = cr.rand(3).tolist()
    cr.manual_seed(3)
    model(x).sum()
    assert cr.rand(3).tolist() == after_checkpoint


def test_parameters_get_gradients_when_no_input_requires_grad() -> None:
    model = _block(p=0.0)
    y = checkpoint(model, cr.randn(2, 4), use_reentrant=False)
    y.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        z = checkpoint(model, cr.randn(2, 4), use_reentrant=True)
    assert not z.requires_grad


def test_autograd_grad_through_a_checkpoint() -> None:
    model, x = _block(p=0.0), cr.randn(3, 4, requires_grad=True)
    params = list(model.parameters())
    direct = cr.autograd.grad(model(x).sum(), [x, *params])
    ours = cr.autograd.grad(checkpoint(model, x, use_reentrant=False).sum(), [x, *params])
    for a, b in zip(direct, ours):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_several_outputs_keyword_arguments_and_non_tensors() -> None:
    w = cr.nn.Parameter(cr.randn(3))

    def segment(a, b, scale=1.0):
        return a * w * scale, "tag", (b * w).exp(), a.argmax()

    a, b = cr.randn(3, requires_grad=True), cr.randn(3, requires_grad=True)
    u, tag, v, idx = checkpoint(segment, a, b, scale=2.0, use_reentrant=False)
    assert tag == "tag" and idx.dtype == cr.int64 and not idx.requires_grad
    (u.sum() + v.sum()).backward()
    got = [a.grad.numpy().copy(), b.grad.numpy().copy(), w.grad.numpy().copy()]
    a.grad = b.grad = w.grad = None
    u, _, v, _ = segment(a, b, scale=2.0)
    (u.sum() + v.sum()).backward()
    for g, t in zip(got, (a, b, w)):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        checkpoint(segment, a, b, scale=2.0, use_reentrant=True)


def test_activations_are_not_kept() -> None:
    x = cr.randn(4, 4, requires_grad=True)
    kept = []

    def segment(t):
        h = t.exp()
        kept.append(weakref.ref(h))
        return (h * 2).sum(0)

    y = checkpoint(segment, x, use_reentrant=False)
    gc.collect()
    assert kept[0]() is None  # the first forward's intermediate is gone
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(x.detach().numpy()), rtol=1e-6)


def test_use_reentrant_must_be_given_and_recomputation_is_checked() -> None:
    x = cr.randn(2, requires_grad=True)
    with pytest.warns(UserWarning, match="the use_reentrant parameter should be passed "
                                         "explicitly"):
        checkpoint(lambda t: t * 2, x)
    calls = []

    def shape_changes(t):
        calls.append(1)
        return t.sum() if len(calls) > 1 else t * 1

    y = checkpoint(shape_changes, x, use_reentrant=False)
    with pytest.raises(RuntimeError, match="recomputed values have different metadata"):
        y.sum().backward()


def test_matches_torch_checkpoint() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w, xv = rng.standard_normal((4, 4)), rng.standard_normal((3, 4))

    def grads(lib, ckpt):
        W = lib.tensor(w, requires_grad=True)
        x = lib.tensor(xv, requires_grad=True)
        y = ckpt(lambda t: (t @ W).tanh() @ W, x, use_reentrant=False)
        (y ** 3).sum().backward()
        return [_np(W.grad), _np(x.grad), _np(y)]

    _np = lambda t: t.detach().numpy()  # noqa: E731
    for a, b in zip(grads(cr, checkpoint), grads(torch, torch.utils.checkpoint.checkpoint)):
        np.testing.assert_allclose(a, b, rtol=1e-12)

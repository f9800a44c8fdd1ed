"""``Tensor.register_post_accumulate_grad_hook``: once per backward, after the last path."""

import gc

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import post_accumulate


def test_fires_once_after_all_paths_of_a_tied_weight():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.array.copy()))
    x = cr.tensor([3.0, 4.0])
    ((w * x).sum() + (w * w).sum() + (w * 2.0).sum()).backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [3 + 2 + 2, 4 + 4 + 2])


def test_sees_accumulated_grad_and_fires_each_backward():
    w = cr.tensor(2.0, requires_grad=True)
    seen = []
    h = w.register_post_accumulate_grad_hook(lambda t: seen.append(float(t.grad.array)))
    (w * 3.0).backward()
    (w * 5.0).backward()
    assert seen == [3.0, 8.0]
    h.remove()
    (w * 1.0).backward()
    assert seen == [3.0, 8.0]


def test_not_fired_by_autograd_grad_or_for_leaves_outside_inputs():
    a = cr.tensor(1.0, requires_grad=True)
    b = cr.tensor(1.0, requires_grad=True)
    seen = []
    a.register_post_accumulate_grad_hook(lambda t: seen.append("a"))
    b.register_post_accumulate_grad_hook(lambda t: seen.append("b"))
    cr.autograd.grad(a * b, [a])
    assert seen == []
    (a * b).backward(inputs=[b])
    assert seen == ["b"]


def test_leaf_root_and_unused_leaf():
    w = cr.tensor(1.0, requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(1))
    w.backward()
    assert seen == [1]


def test_non_leaf_and_no_grad_rejected():
    with pytest.raises(RuntimeError, match="non-leaf"):
        (cr.tensor(1.0, requires_grad=True) * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        cr.tensor(1.0).register_post_accumulate_grad_hook(print)


def test_entry_dropped_with_its_tensor():
    w = cr.tensor(1.0, requires_grad=True)
    w.register_post_accumulate_grad_hook(print)
    key = id(w)
    del w
    gc.collect()
    assert key not in post_accumulate.HOOKS

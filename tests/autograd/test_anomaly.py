"""``detect_anomaly``: names the op whose forward or backward first produced NaN/Inf, points at
the user's line, and leaves the normal path untouched."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import anomaly
from chainrule.autograd.anomaly import detect_anomaly, set_detect_anomaly
from chainrule.autograd.function import Op

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
PLAIN_APPLY = Op.__dict__["apply"]


def _line_of(marker: str) -> int:
    src, _ = inspect.getsourcelines(inspect.getmodule(_line_of))
    return next(i for i, line in enumerate(src, 1) if marker in line)


def test_forward_nan_names_the_op_and_the_line() -> None:
    x = cr.tensor([-1.0, 4.0], requires_grad=True)
    with pytest.raises(RuntimeError) as info, detect_anomaly():
        y = x * 2
        y.sqrt()  # MARK-forward
    msg = str(info.value)
    assert "Function 'sqrt' returned nan values in its forward output (shape (2,))" in msg
    assert "inputs were all finite, so this op produced it" in msg
    assert f"line {_line_of('MARK-forward')}" in msg


def test_forward_reports_inputs_that_were_already_bad() -> None:
    x = cr.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match=r"'mul'.*already non-finite: input 0 \(shape \(2,\)\)"):
        with detect_anomaly():
            x * 3


def test_backward_nan_names_the_op_input_and_forward_call() -> None:
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly():
        y = x.sqrt()  # MARK-backward
        loss = (y * 0.0).sum()
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    msg = str(info.value)
    assert "Function 'sqrtBackward' returned nan values in its 0th output" in msg
    assert "gradient for input 0 (shape (2,))" in msg
    assert "incoming gradient was finite" in msg
    assert f"line {_line_of('MARK-backward')}" in msg


def test_without_detection_nan_passes_silently() -> None:
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    (x.sqrt() * 0.0).sum().backward()
    assert np.isnan(x.grad.array[0])


def test_clean_training_step_is_unaffected() -> None:
    cr.manual_seed(0)
    net = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    x, y = cr.randn(5, 3), cr.tensor([0, 1, 1, 0, 1])
    cr.nn.functional.cross_entropy(net(x), y).backward()
    want = [p.grad.array.copy() for p in net.parameters()]
    net.zero_grad()
    with detect_anomaly():
        cr.nn.functional.cross_entropy(net(x), y).backward()
    for p, w in zip(net.parameters(), want):
        np.testing.assert_array_equal(p.grad.array, w)


def test_apply_is_restored_after_exit_even_on_error() -> None:
    with pytest.raises(RuntimeError), detect_anomaly():
        assert anomaly.is_anomaly_enabled()
        cr.tensor([-1.0]).log()
    assert Op.__dict__["apply"].__func__ is PLAIN_APPLY.__func__
    assert not anomaly.enabled and not anomaly.is_anomaly_enabled()


def test_nesting_decorator_and_set_detect_anomaly() -> None:
    with detect_anomaly():
        with detect_anomaly():
            pass
        assert anomaly.enabled  # still inside the outer block
        with set_detect_anomaly(False):
            cr.tensor([-1.0]).log()  # off: no error
        assert anomaly.enabled
    assert not anomaly.enabled

    @detect_anomaly()
    def f() -> None:
        cr.tensor([0.0]).log()

    with pytest.raises(RuntimeError, match="'log' returned inf"):
        f()
    assert not anomaly.enabled
    set_detect_anomaly(True)
    try:
        assert anomaly.enabled
    finally:
        set_detect_anomaly(False)
    assert not anomaly.enabled and Op.__dict__["apply"].__func__ is PLAIN_APPLY.__func__


def test_check_inf_false_only_looks_for_nan() -> None:
    with detect_anomaly(check_inf=False):
        cr.tensor([0.0]).log()  # -inf is allowed (e.g. attention masks)
        with pytest.raises(RuntimeError, match="nan"):
            cr.tensor([-1.0]).log()


def test_higher_order_gradients_still_work() -> None:
    x = cr.tensor([1.5], dtype=cr.float64, requires_grad=True)
    with detect_anomaly():
        (g,) = cr.autograd.grad(x**3, x, create_graph=True)
        (h,) = cr.autograd.grad(g.sum(), x)
    assert h.item() == pytest.approx(9.0)

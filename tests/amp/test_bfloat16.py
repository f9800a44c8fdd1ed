"""bfloat16 tensors and modules: storage through ml_dtypes, casts that carry gradients, products
computed in float32 and rounded once."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend
from ulp import assert_ulp_close

ml_dtypes = pytest.importorskip("ml_dtypes")
BF16 = np.dtype(ml_dtypes.bfloat16)


def test_importing_chainrule_does_not_import_ml_dtypes() -> None:
    code = "import sys, chainrule; print('ml_dtypes' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_ml_dtypes_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[amp\]'"):
        backend.bfloat16()


def test_unknown_attribute_of_the_package_still_raises() -> None:
    with pytest.raises(AttributeError, match="no attribute 'bfloat17'"):
        cr.bfloat17  # noqa: B018


def test_bfloat16_is_a_floating_dtype_that_rounds_like_ml_dtypes() -> None:
    assert cr.bfloat16 == BF16
    x = cr.randn(5, 7)
    y = x.bfloat16()
    assert y.dtype == cr.bfloat16 and y.is_floating_point()
    np.testing.assert_array_equal(y.numpy(), x.numpy().astype(BF16))
    assert cr.tensor([1.0, 2.0], dtype=cr.bfloat16).dtype == cr.bfloat16


def test_gradient_through_a_bfloat16_cast_comes_back_in_float32() -> None:
    x = cr.randn(3, 4, requires_grad=True)
    (x.bfloat16() * 3.0).sum().backward()
    assert x.grad.dtype == cr.float32
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 4), 3.0, np.float32))


@pytest.mark.parametrize("f", [
    lambda a, b: a @ b,
    lambda a, b: cr.nn.functional.linear(a, b.T),
    lambda a, b: cr.einsum("ij,jk->ik", a, b),
])
def test_products_of_bfloat16_are_float32_products_rounded_once(f) -> None:
    a, b = cr.randn(6, 8).bfloat16(), cr.randn(8, 5).bfloat16()
    out = f(a, b)
    assert out.dtype == cr.bfloat16
    want = (a.numpy().astype(np.float32) @ b.numpy().astype(np.float32)).astype(BF16)
    # einsum and linear reach the float32 product by other routes (another summation order):
    # float32 ulps apart, which rounding to bfloat16 turns into at most one bfloat16 ulp
    assert_ulp_close(out.numpy(), want, ulps=1)


def test_conv2d_and_mean_work_in_bfloat16() -> None:
    x, w = cr.randn(2, 3, 6, 6).bfloat16(), cr.randn(4, 3, 3, 3).bfloat16()
    out = cr.nn.functional.conv2d(x, w, padding=1)
    assert out.dtype == cr.bfloat16
    want = cr.nn.functional.conv2d(x.float(), w.float(), padding=1)
    np.testing.assert_allclose(out.float().numpy(), want.numpy(), rtol=2e-2, atol=2e-2)
    assert out.mean().dtype == cr.bfloat16


def test_module_dtype_conversions_cast_parameters_and_buffers() -> None:
    net = cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.BatchNorm1d(3))
    net.bfloat16()
    assert {t.dtype for t in [*net.parameters(), net[1].running_mean]} == {cr.bfloat16}
    assert net[1].num_batches_tracked.dtype == cr.int64  # integer buffers keep their dtype
    net.half()
    assert {p.dtype for p in net.parameters()} == {cr.float16}
    net.double()
    assert {p.dtype for p in net.parameters()} == {cr.float64}
    net.float()
    assert {p.dtype for p in net.parameters()} == {cr.float32}


def test_a_bfloat16_model_trains_with_bfloat16_gradients() -> None:
    cr.manual_seed(0)
    net = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Linear(8, 1)).bfloat16()
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    x, y = cr.randn(16, 4).bfloat16(), cr.randn(16, 1).bfloat16()
    first = None
    for _ in range(20):
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        first = first if first is not None else loss.item()
        opt.step()
    assert {p.grad.dtype for p in net.parameters()} == {cr.bfloat16}
    assert {p.dtype for p in net.parameters()} == {cr.bfloat16}
    assert loss.item() < first


def test_rounding_and_products_equal_torch_bfloat16() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 96)).astype(np.float32)
    b = rng.standard_normal((96, 48)).astype(np.float32)
    ta, tb = torch.from_numpy(a).bfloat16(), torch.from_numpy(b).bfloat16()
    ca, cb = cr.tensor(a).bfloat16(), cr.tensor(b).bfloat16()
    np.testing.assert_array_equal(ca.float().numpy(), ta.float().numpy())
    # both accumulate in float32 and round once; the sums' order may differ by BLAS
    np.testing.assert_allclose((ca @ cb).float().numpy(), (ta @ tb).float().numpy(),
                               rtol=8e-3, atol=1e-6)

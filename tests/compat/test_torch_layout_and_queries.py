"""PyTorch's module layout (``nn.modules``, ``utils.data.dataloader``, ``backends``,
``accelerator``) and the tensor queries real programs make: ``Size``, ``is_cuda``,
``nelement``, format strings, ``movedim``, ``narrow``, ``grad_fn.next_functions``."""

import importlib
import pickle
import warnings

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("path, name", [
    ("chainrule.utils.data.dataloader", "DataLoader"),
    ("chainrule.utils.data.dataset", "TensorDataset"),
    ("chainrule.utils.data.sampler", "RandomSampler"),
    ("chainrule.nn.modules.linear", "Linear"),
    ("chainrule.nn.modules.conv", "Conv2d"),
    ("chainrule.nn.modules.activation", "MultiheadAttention"),
    ("chainrule.nn.modules.batchnorm", "BatchNorm1d"),
    ("chainrule.nn.modules.container", "Sequential"),
    ("chainrule.nn.modules.module", "Module"),
    ("chainrule.nn.modules.rnn", "LSTM"),
    ("chainrule.nn.modules.loss", "CrossEntropyLoss"),
    ("chainrule.nn.modules", "Linear"),
])
def test_pytorch_module_paths_give_the_same_objects(path: str, name: str) -> None:
    module = importlib.import_module(path)
    top = cr.data if path.startswith("chainrule.utils") else cr.nn
    assert getattr(module, name) is getattr(top, name)


def test_nn_parallel_is_a_package() -> None:
    assert importlib.import_module("chainrule.nn.parallel") is cr.nn.parallel


def test_backends_report_what_a_cpu_only_pytorch_reports() -> None:
    torch = pytest.importorskip("torch")
    b, tb = cr.backends, torch.backends
    assert (b.cudnn.enabled, b.cudnn.benchmark, b.cudnn.deterministic, b.cudnn.allow_tf32) == (
        tb.cudnn.enabled, tb.cudnn.benchmark, tb.cudnn.deterministic, tb.cudnn.allow_tf32)
    assert b.cudnn.is_available() is tb.cudnn.is_available() is False
    assert b.cudnn.version() is None
    assert b.mps.is_available() is b.mps.is_built() is False
    assert b.cuda.is_built() is False
    for flag in ("allow_tf32", "allow_fp16_reduced_precision_reduction",
                 "allow_bf16_reduced_precision_reduction"):
        assert getattr(b.cuda.matmul, flag) == getattr(tb.cuda.matmul, flag)


def test_backend_flags_are_accepted_and_kept() -> None:
    saved = cr.backends.cudnn.benchmark
    cr.backends.cudnn.benchmark = True
    assert cr.backends.cudnn.benchmark is True
    cr.backends.cudnn.benchmark = saved
    with cr.backends.cudnn.flags(enabled=False, deterministic=True):
        assert cr.backends.cudnn.enabled is False and cr.backends.cudnn.deterministic is True
    assert cr.backends.cudnn.enabled is True and cr.backends.cudnn.deterministic is False
    cr.backends.cuda.matmul.allow_tf32 = True
    assert cr.backends.cuda.matmul.allow_tf32 is True
    cr.backends.cuda.matmul.allow_tf32 = False
    with pytest.raises(AttributeError, match="Unknown attribute allow_tf33"):
        cr.backends.cuda.matmul.allow_tf33 = True


def test_accelerator_reports_none() -> None:
    assert cr.accelerator.is_available() is False
    assert cr.accelerator.current_accelerator() is None
    assert cr.accelerator.device_count() == 0


def test_shape_and_size_are_a_size() -> None:
    x = cr.zeros(2, 3, 4)
    for s in (x.shape, x.size()):
        assert type(s) is cr.Size and s == (2, 3, 4) and isinstance(s, tuple)
    assert repr(x.shape) == "chainrule.Size([2, 3, 4])"
    assert repr(cr.tensor(1.0).shape) == "chainrule.Size([])"
    assert type(x.shape[1:]) is cr.Size and x.shape[1:] == (3, 4)
    assert type(x.shape[0]) is int
    assert type(x.shape + (5,)) is cr.Size and x.shape + (5,) == (2, 3, 4, 5)
    assert x.shape.numel() == 24 and cr.Size([]).numel() == 1
    assert x.size(-1) == 4
    assert pickle.loads(pickle.dumps(x.shape)) == x.shape
    with pytest.raises(IndexError, match=r"range of \[-3, 2\], but got 3"):
        x.size(3)
    with pytest.raises(TypeError, match="Size"):
        cr.Size([2, "a"])


def test_size_repr_matches_torch_apart_from_the_package_name() -> None:
    torch = pytest.importorskip("torch")
    for shape in [(), (2,), (2, 3)]:
        got = repr(cr.tensor(np.zeros(shape)).shape).replace("chainrule.", "torch.")
        assert got == repr(torch.Size(shape))


def test_device_queries() -> None:
    x = cr.ones(3)
    assert x.is_cuda is False and x.is_cpu is True and x.device.type == "cpu"
    assert x.nelement() == 3 == x.numel()


@pytest.mark.parametrize("spec", [".4f", "+.2f", "e", "", ">10.3f", "g"])
def test_zero_d_tensors_format_like_their_number_as_in_torch(spec: str) -> None:
    torch = pytest.importorskip("torch")
    for v in (1.234567, -0.5, 3.0):
        assert format(cr.tensor(v), spec) == format(torch.tensor(v), spec)
    assert format(cr.tensor(7), "d") == format(torch.tensor(7), "d")
    loss = (cr.ones(2, requires_grad=True) * 2).sum()
    assert f"{loss:.4f}" == "4.0000"


def test_multi_element_tensor_with_a_format_spec_raises_as_in_torch() -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError) as theirs:
        format(torch.ones(2), ".2f")
    with pytest.raises(TypeError) as ours:
        format(cr.ones(2), ".2f")
    assert str(ours.value) == str(theirs.value)
    assert f"{cr.ones(2)}" == str(cr.ones(2))


@pytest.mark.parametrize("source, destination", [
    (0, 2), (-1, 0), (1, 1), ((0, 1), (2, 0)), ([0, 2], [1, 0]), ((), ()),
])
def test_movedim_matches_torch_values_and_gradients(source, destination) -> None:
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((2, 3, 4))
    g = np.random.default_rng(1).standard_normal(
        torch.movedim(torch.tensor(a), source, destination).shape)
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = cr.movedim(x, source, destination), torch.movedim(tx, source, destination)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    assert x.moveaxis(source, destination).shape == tuple(ty.shape)


def test_movedim_errors_name_the_dims() -> None:
    x = cr.ones(2, 3, 4)
    with pytest.raises(IndexError, match=r"range of \[-3, 2\], but got 3"):
        x.movedim(0, 3)
    with pytest.raises(RuntimeError, match=r"repeated dim in `source` \(\[0, 0\]\)"):
        x.movedim((0, 0), (1, 2))
    with pytest.raises(RuntimeError, match="same number of dims"):
        x.movedim((0, 1), (1,))
    with pytest.raises(TypeError, match="movedim"):
        x.movedim(0, (1,))


@pytest.mark.parametrize("dim, start, length", [(1, 2, 3), (1, -2, 2), (0, 0, 1), (-1, 5, 0)])
def test_narrow_matches_torch(dim: int, start: int, length: int) -> None:
    torch = pytest.importorskip("torch")
    a = np.arange(10.0).reshape(2, 5)
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = x.narrow(dim, start, length), tx.narrow(dim, start, length)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    (y * 3).sum().backward()
    (ty * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    assert cr.narrow(x, dim, cr.tensor(start), length).shape == tuple(ty.shape)


def test_narrow_errors_as_in_torch() -> None:
    x = cr.ones(2, 5)
    with pytest.raises(IndexError, match=r"start out of range \(expected to be in range of "
                                         r"\[-5, 5\], but got 7\)"):
        x.narrow(1, 7, 1)
    with pytest.raises(RuntimeError, match=r"start \(2\) \+ length \(4\) exceeds dimension "
                                           r"size \(5\)"):
        x.narrow(1, 2, 4)
    with pytest.raises(RuntimeError, match="length must be non-negative"):
        x.narrow(1, 2, -1)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.narrow(2, 0, 1)


def test_grad_fn_next_functions_and_name_follow_torch() -> None:
    torch = pytest.importorskip("torch")

    def walk(fn, depth=0):
        if fn is None:
            return None
        return (fn.name(), [walk(f, depth + 1) for f, _ in fn.next_functions])

    w, tw = cr.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    c, tc = cr.ones(3), torch.ones(3)
    loss = (w * c + w).exp().sum()
    tloss = (tw * tc + tw).exp().sum()
    assert walk(loss.grad_fn) == walk(tloss.grad_fn)
    leaf = loss.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[1][0]
    assert leaf.variable is w and leaf.next_functions == ()


def test_custom_function_node_name() -> None:
    class Twice(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):  # type: ignore[override]
            return x * 2

        @staticmethod
        def backward(ctx, g):  # type: ignore[override]
            return g * 2

    y = Twice.apply(cr.ones(2, requires_grad=True))
    assert y.grad_fn.name() == "TwiceBackward"


def test_rnn_flatten_parameters_is_a_no_op() -> None:
    lstm = cr.nn.LSTM(3, 4)
    before = {k: v.numpy().copy() for k, v in lstm.state_dict().items()}
    assert lstm.flatten_parameters() is None
    assert all((lstm.state_dict()[k].numpy() == v).all() for k, v in before.items())


def test_dropout2d_on_2d_input_warns_as_torch_and_drops_entries() -> None:
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning) as ours:
        y = cr.nn.Dropout2d(0.5)(cr.ones(64, 32))
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        torch.nn.Dropout2d(0.5)(torch.ones(64, 32))
    assert str(ours[0].message) == str(theirs[0].message)
    kept = y.numpy() != 0
    assert set(np.unique(y.numpy())) <= {0.0, 2.0}
    assert 0.3 < kept.mean() < 0.7 and not (kept.all(axis=1) | ~kept.any(axis=1)).all()

"""cr.save / cr.load of whole objects with PyTorch's weights_only rule; state dicts of tensors
stay safetensors files; map_location; safe_globals."""

import copy
import os
import pickle

import numpy as np
import pytest

import chainrule as cr


class Net(cr.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
        self.register_buffer("scale", cr.tensor(2.0))
        self.name = "net"

    def forward(self, x):
        return self.body(x) * self.scale


class Exploit:
    def __reduce__(self):
        return os.system, ("echo pwned > /dev/null",)


def test_a_whole_module_loads_only_when_asked(tmp_path) -> None:
    net, x = Net(), cr.randn(5, 3)
    net.body[0].weight.grad = cr.ones(4, 3)
    path = tmp_path / "net.pt"
    cr.save(net, path)
    with pytest.raises(pickle.UnpicklingError) as info:
        cr.load(path)
    msg = str(info.value)
    assert msg.startswith("Weights only load failed.")
    assert f"GLOBAL {__name__}.Net was not an allowed global by default" in msg
    assert f"chainrule.serialization.add_safe_globals([{__name__}.Net])" in msg
    back = cr.load(path, weights_only=False)
    assert type(back) is Net and back.name == "net" and back.training
    np.testing.assert_array_equal(back(x).detach().numpy(), net(x).detach().numpy())
    w = back.body[0].weight
    assert type(w) is cr.nn.Parameter and w.requires_grad
    np.testing.assert_array_equal(w.grad.numpy(), np.ones((4, 3)))
    assert w is not net.body[0].weight


def test_the_weights_only_error_reads_as_torchs(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    torch_path = tmp_path / "t.pt"
    torch.save(torch.nn.Linear(2, 2), torch_path)
    with pytest.raises(pickle.UnpicklingError) as theirs:
        torch.load(torch_path)
    cr.save(cr.nn.Linear(2, 2), tmp_path / "c.pt")
    with pytest.raises(pickle.UnpicklingError) as ours:
        cr.load(tmp_path / "c.pt")
    first = lambda e: str(e.value).splitlines()[0]  # noqa: E731
    assert first(ours) == first(theirs)
    assert ("WeightsUnpickler error: Unsupported global: GLOBAL "
            "chainrule.nn.modules.linear.Linear") in str(ours.value)


def test_safe_globals_allowlist(tmp_path) -> None:
    path = tmp_path / "net.pt"
    cr.save(Net(), path)
    allowed = [Net, cr.nn.Sequential, cr.nn.Linear, cr.nn.ReLU]
    with cr.serialization.safe_globals(allowed):
        assert set(allowed) <= set(cr.serialization.get_safe_globals())
        assert type(cr.load(path)) is Net
    assert cr.serialization.get_safe_globals() == []
    with pytest.raises(pickle.UnpicklingError, match="Sequential"):
        with cr.serialization.safe_globals([Net]):
            cr.load(path)
    cr.serialization.add_safe_globals(allowed)
    try:
        assert type(cr.load(path)) is Net
    finally:
        cr.serialization.clear_safe_globals()
    with pytest.raises(pickle.UnpicklingError):
        cr.load(path)


def test_weights_only_never_runs_the_files_code(tmp_path, monkeypatch) -> None:
    path = tmp_path / "evil.pt"
    cr.save({"model": cr.ones(2), "payload": Exploit()}, path)
    calls = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd))
    with pytest.raises(pickle.UnpicklingError, match=f"GLOBAL {os.name}.system"):
        cr.load(path)
    assert calls == []


def test_plain_objects_load_by_default(tmp_path) -> None:
    obj = {"w": cr.ones(2, 3), "epoch": 7, "lr": 0.1, "name": "run-1", "done": None,
           "steps": [1, 2, (3, 4.5)], "tags": {"a", "b"}, "size": cr.zeros(2, 3).shape,
           "blob": b"\x00\x01"}
    cr.save(obj, tmp_path / "o.pt")
    back = cr.load(tmp_path / "o.pt")
    assert back.keys() == obj.keys() and back["tags"] == {"a", "b"}
    assert back["steps"] == [1, 2, (3, 4.5)] and back["blob"] == b"\x00\x01"
    assert type(back["size"]) is cr.Size and back["size"] == (2, 3)
    np.testing.assert_array_equal(back["w"].numpy(), np.ones((2, 3)))


def test_state_dicts_stay_safetensors(tmp_path) -> None:
    st = pytest.importorskip("safetensors.numpy")
    net = Net()
    cr.save(net.state_dict(), tmp_path / "w.safetensors")
    arrays = st.load_file(str(tmp_path / "w.safetensors"))
    assert set(arrays) == set(net.state_dict())
    fresh = Net()
    fresh.load_state_dict(cr.load(tmp_path / "w.safetensors", weights_only=True))
    x = cr.randn(2, 3)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), net(x).detach().numpy())


def test_a_failed_save_keeps_the_previous_file(tmp_path) -> None:
    path = tmp_path / "ckpt.pt"
    cr.save(Net(), path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="'model.hook'"):
        cr.save({"model": {"hook": lambda: 1}}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.pt"]


def test_map_location(tmp_path) -> None:
    path = tmp_path / "o.pt"
    cr.save({"w": cr.ones(2), "n": 1}, path)
    for where in (None, "cpu", cr.device("cpu"), {"cuda:0": "cpu"}):
        np.testing.assert_array_equal(cr.load(path, map_location=where)["w"].numpy(), [1, 1])
    seen = []
    got = cr.load(path, map_location=lambda t, loc: seen.append(loc) or t * 3)
    assert seen == ["cpu"] and got["w"].tolist() == [3.0, 3.0] and got["n"] == 1
    with pytest.raises(RuntimeError, match="cuda"):
        cr.load(path, map_location="cuda")
    with pytest.raises(TypeError, match="map_location"):
        cr.load(path, map_location=3)


def test_pickle_module_needs_weights_only_false(tmp_path) -> None:
    cr.save(Net(), tmp_path / "n.pt")
    with pytest.raises(RuntimeError, match="Can not safely load weights when explicit "
                                           "pickle_module is specified"):
        cr.load(tmp_path / "n.pt", pickle_module=pickle)
    assert type(cr.load(tmp_path / "n.pt", pickle_module=pickle, weights_only=False)) is Net


def test_tensors_pickle_and_deepcopy_as_leaves() -> None:
    p = cr.nn.Parameter(cr.arange(6.0).reshape(2, 3))
    p.grad = cr.ones(2, 3)
    for q in (pickle.loads(pickle.dumps(p)), copy.deepcopy(p)):
        assert type(q) is cr.nn.Parameter and q.requires_grad and q.shape == (2, 3)
        np.testing.assert_array_equal(q.numpy() if not q.requires_grad else q.detach().numpy(),
                                      p.detach().numpy())
        assert q.grad.tolist() == [[1.0] * 3] * 2
        q.array[0, 0] = 99.0
        assert p.array[0, 0] == 0.0
    y = cr.ones(2, requires_grad=True) * 2  # a non-leaf pickles as plain data
    z = pickle.loads(pickle.dumps(y))
    assert z.grad_fn is None and not z.requires_grad and z.tolist() == [2.0, 2.0]
    i = pickle.loads(pickle.dumps(cr.arange(3)))
    assert i.dtype == cr.int64 and i.tolist() == [0, 1, 2]


def test_whole_modules_saved_under_the_old_layout_still_load(tmp_path, monkeypatch) -> None:
    """Files written before the layers moved to ``nn/modules/`` name ``chainrule.nn.linear``
    and friends; they must keep loading."""
    import sys
    import types

    from chainrule.vision.models.resnet import CifarResNet

    old = {"chainrule.nn.linear": {"Linear": cr.nn.Linear},
           "chainrule.nn.containers": {"Sequential": cr.nn.Sequential},
           "chainrule.nn.activation": {"ReLU": cr.nn.ReLU}}
    for name, classes in old.items():  # pickle records where each class says it lives
        module = types.ModuleType(name)
        for cls_name, cls in classes.items():
            setattr(module, cls_name, cls)
            monkeypatch.setattr(cls, "__module__", name)
        monkeypatch.setitem(sys.modules, name, module)
    net = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU())
    cr.save(net, tmp_path / "old.pt")
    monkeypatch.undo()
    assert "chainrule.nn.linear" not in sys.modules

    back = cr.load(tmp_path / "old.pt", weights_only=False)
    assert type(back[0]) is cr.nn.Linear and type(back) is cr.nn.Sequential
    x = cr.randn(2, 3)
    np.testing.assert_array_equal(back(x).array, net(x).array)
    import io

    from chainrule.serialization import _Unpickler

    assert _Unpickler(io.BytesIO()).find_class("chainrule.nn.resnet", "ResNet") is CifarResNet


def test_pickle_and_deepcopy_keep_every_shape_and_layout() -> None:
    import copy
    import pickle

    scalar, strided = cr.tensor(3.0), cr.arange(6.0).reshape(2, 3).T
    for t in (scalar, strided, cr.zeros(0, 2)):
        back = pickle.loads(pickle.dumps(t))
        assert back.shape == t.shape and back.tolist() == t.tolist()
    bn = cr.nn.BatchNorm1d(3)
    twin = copy.deepcopy(bn)  # (its 0-d num_batches_tracked came back 1-d)
    assert twin.num_batches_tracked.shape == () and twin.state_dict().keys() == \
        bn.state_dict().keys()
    twin.load_state_dict(bn.state_dict())

"""cr.save / cr.load: round trips, interop with torch's safetensors files, atomicity, damage."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule import nn, optim
from chainrule.optim import lr_scheduler
from chainrule.serialization import load, save

pytest.importorskip("safetensors")


def _model() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def _trained():
    cr.manual_seed(0)
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    sched = lr_scheduler.StepLR(opt, step_size=2)
    x = cr.randn(8, 3)
    for _ in range(3):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
        sched.step()
    return model, opt, sched


def test_round_trip_of_a_full_checkpoint(tmp_path) -> None:
    model, opt, sched = _trained()
    gen = cr.Generator(5)
    ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "rng": cr.get_rng_state(),
            "loader_rng": gen.get_state(), "epoch": 2, "note": None, "t": (1, "a")}
    path = tmp_path / "ckpt.safetensors"
    save(ckpt, path)
    back = load(path)
    assert set(back) == set(ckpt)
    for k, v in ckpt["model"].items():
        np.testing.assert_array_equal(back["model"][k].numpy(), v.numpy())
        assert back["model"][k].dtype == v.dtype
    so, bo = ckpt["optimizer"], back["optimizer"]
    assert bo["param_groups"] == so["param_groups"]
    assert set(bo["state"]) == set(so["state"]) == {0, 1, 2, 3}  # integer ids survive
    for i, s in so["state"].items():
        assert bo["state"][i]["step"] == s["step"] == 3
        for name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            np.testing.assert_array_equal(bo["state"][i][name].numpy(), s[name].numpy())
    assert back["scheduler"] == ckpt["scheduler"]
    assert back["rng"] == ckpt["rng"] and back["loader_rng"] == ckpt["loader_rng"]
    assert back["t"] == (1, "a") and back["note"] is None and back["epoch"] == 2
    cr.set_rng_state(back["rng"])  # an RNG state loads back into a generator
    gen.set_state(back["loader_rng"])


def test_loaded_state_dicts_restore_model_and_optimizer(tmp_path) -> None:
    model, opt, sched = _trained()
    save({"m": model.state_dict(), "o": opt.state_dict()}, tmp_path / "c")
    back = load(tmp_path / "c")
    m2 = _model()
    m2.load_state_dict(back["m"])
    o2 = optim.Adam(m2.parameters())
    o2.load_state_dict(back["o"])
    assert o2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == 0.001
    assert o2.param_groups[0]["amsgrad"] and o2.param_groups[0]["initial_lr"] == 0.01
    x = cr.randn(5, 3)
    for m, o in ((model, opt), (m2, o2)):
        o.zero_grad()
        (m(x) ** 2).mean().backward()
        o.step()
    for p, q in zip(model.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.array, q.array)


@given(arr=hnp.arrays(st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_,
                                       np.float16, np.int32]),
                      hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)))
@settings(max_examples=30, deadline=None)
def test_arrays_of_any_dtype_and_shape_round_trip(tmp_path_factory, arr) -> None:
    path = tmp_path_factory.mktemp("h") / "a.safetensors"
    save({"a": arr, "t": cr.Tensor(arr)}, path)
    back = load(path)
    for got in (back["a"], back["t"].numpy()):
        assert got.dtype == arr.dtype and got.shape == arr.shape
        np.testing.assert_array_equal(got, arr)


def test_model_state_dict_is_a_plain_safetensors_file(tmp_path) -> None:
    import safetensors.numpy as stn
    model = _model()
    save(model.state_dict(), tmp_path / "m.safetensors")
    raw = stn.load_file(str(tmp_path / "m.safetensors"))
    assert set(raw) == set(model.state_dict())


def test_weights_saved_by_torch_load_into_the_equivalent_model(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    save_file(tm.state_dict(), str(tmp_path / "torch.safetensors"))
    model = _model()
    model.load_state_dict(load(tmp_path / "torch.safetensors"))
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    np.testing.assert_allclose(model(cr.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_interrupted_save_leaves_the_previous_file_intact(tmp_path, monkeypatch) -> None:
    path = tmp_path / "ckpt.safetensors"
    save({"w": cr.ones(3), "epoch": 1}, path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(os, "fsync", crash)  # dies after writing part of the temp file
    with pytest.raises(KeyboardInterrupt):
        save({"w": cr.zeros(1000), "epoch": 2}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # no temp file left behind


@pytest.mark.parametrize("cut", [0, 5, 20, -1, -13])
def test_truncated_files_raise_naming_the_path(tmp_path, cut) -> None:
    path = tmp_path / "ckpt.safetensors"
    save({"w": cr.arange(100.0), "opt": {"lr": 0.1}}, path)
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut >= 0 else data[:len(data) + cut])
    with pytest.raises(ValueError, match="ckpt.safetensors"):
        load(path)


def test_flipped_bytes_are_detected(tmp_path) -> None:
    path = tmp_path / "ckpt.safetensors"
    save({"w": cr.arange(100.0), "opt": {"lr": 0.125}}, path)
    data = bytearray(path.read_bytes())
    for pos in (len(data) - 40, data.index(b"0.125") + 2):
        bad = bytearray(data)
        bad[pos] ^= 0x04
        path.write_bytes(bytes(bad))
        with pytest.raises(ValueError, match="not a valid checkpoint"):
            load(path)


def test_garbage_and_unsupported_values(tmp_path) -> None:
    path = tmp_path / "junk.bin"
    path.write_bytes(b"definitely not a checkpoint, but long enough")
    with pytest.raises(ValueError, match="junk.bin"):
        load(path)
    with pytest.raises(TypeError, match="'a.b'"):  # neither plain nor picklable
        save({"a": {"b": lambda: 0}}, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_file_objects(tmp_path) -> None:
    with open(tmp_path / "f", "wb") as f:
        save({"w": cr.ones(2)}, f)
    with open(tmp_path / "f", "rb") as f:
        assert load(f)["w"].tolist() == [1.0, 1.0]


def test_missing_safetensors_says_how_to_install(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"pip install chainrule\[io\]"):
        save({"w": cr.ones(1)}, tmp_path / "x")

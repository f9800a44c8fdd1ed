"""Keras 3's whole-model ``.keras`` archive and ``.weights.h5`` files.

A ``.keras`` file is a zip holding ``metadata.json``, ``config.json`` (the model's class and
constructor config, its layers and graph, and the compile arguments) and ``model.weights.h5``.
The h5 file has Keras's layout: ``layers/<name>/vars/<i>`` per layer, where ``<name>`` is the
snake-cased class name made unique in layer order (``dense``, ``dense_1``; a nested model's
layers under ``layers/<model>/layers/...``), and ``optimizer/vars/<i>``: iterations, learning
rate, then each weight's slots. Weights are stored in Keras's layout (a Dense kernel is
(in, out), a Conv2D kernel (kh, kw, in, out)), so archives move between chainrule and Keras
for the layers both have. The metadata also records chainrule's global RNG state, which
``load_model`` restores — as Keras's seed-generator variables do — so that a run resumed from a
checkpoint draws the same shuffles and dropout masks as one that was never stopped.

``h5py`` is an optional dependency: ``pip install chainrule[keras]`` (or ``pip install h5py``).
"""

from __future__ import annotations

import datetime
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.keras.layers import Layer, _snake
from chainrule.keras.serialization import from_config, layer_entry
from chainrule.keras.trainer import Trainer

KERAS_VERSION = "3.15.1"


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as e:
        raise ImportError("saving and loading Keras .keras / .weights.h5 files needs h5py: "
                          "pip install h5py") from e
    return h5py


# ---- each layer's weights in Keras's order and layout ----

def _dense(layer: Layer) -> list[tuple[Any, Callable[..., Any], Callable[..., Any]]]:
    out = [(layer.linear.weight, lambda a: a.T, lambda a: a.T)]
    if layer.use_bias:
        out.append((layer.linear.bias, _same, _same))
    return out


def _conv(layer: Layer) -> list[tuple[Any, Callable[..., Any], Callable[..., Any]]]:
    n = layer.conv.weight.ndim
    to = (2, 3, 1, 0) if n == 4 else (2, 1, 0)
    back = tuple(np.argsort(to))
    out = [(layer.conv.weight, lambda a: a.transpose(to), lambda a: a.transpose(back))]
    if layer.use_bias:
        out.append((layer.conv.bias, _same, _same))
    return out


def _same(a: np.ndarray) -> np.ndarray:
    return a


def _layout(layer: Layer) -> list[tuple[Any, Callable[..., Any], Callable[..., Any]]]:
    """(tensor, to-Keras, from-Keras) for each of the layer's own variables, in Keras order."""
    if hasattr(layer, "_keras_weights"):   # a layer that states its Keras layout itself
        return layer._keras_weights()
    kind = type(layer).__name__
    if kind == "Dense":
        return _dense(layer)
    if kind in ("Conv2D", "Conv1D"):
        return _conv(layer)
    if kind == "BatchNormalization":
        bn = layer.bn
        return [(t, _same, _same) for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var)]
    return [(t, _same, _same) for k, t in layer.state_dict().items()
            if not k.endswith("num_batches_tracked")]


def _container_layers(model: Any) -> list[Layer]:
    return list(model.layers)


def _walk(model: Any, prefix: str = "") -> list[tuple[str, Layer]]:
    """(h5 path, layer) for every layer, nested models expanded, in Keras's naming."""
    used: dict[str, int] = {}
    out = []
    for layer in _container_layers(model):
        base = _snake(type(layer).__name__)
        if base == "functional" or type(layer).__name__ == "Functional":
            base = "functional"
        n = used.get(base, 0)
        used[base] = n + 1
        path = f"{prefix}layers/{base if n == 0 else f'{base}_{n}'}"
        if hasattr(layer, "_compile_loss") or hasattr(layer, "layers_list") or \
                hasattr(layer, "_nodes"):
            out.append((path, layer))
            out += _walk(layer, path + "/")
        else:
            out.append((path, layer))
    return out


def _is_model(layer: Any) -> bool:
    return isinstance(layer, Trainer)


def _groups(layer: Layer) -> list[tuple[str, list[Any]]]:
    """(sub-path, variables) as Keras's h5 nests them (``cell``, ``query_dense``, ...)."""
    if hasattr(layer, "_keras_weight_groups"):
        return layer._keras_weight_groups()
    return [("", _layout(layer))]


def _vars_path(path: str, sub: str) -> str:
    return "/".join(p for p in (path, sub, "vars") if p)


def _write_weights(model: Any, f: Any) -> None:
    f.create_group("vars")
    for path, layer in _walk(model):
        f.require_group(path).require_group("vars")
        if _is_model(layer):
            continue
        for sub, layout in _groups(layer):
            group = f.require_group(_vars_path(path, sub))
            for i, (t, to, _) in enumerate(layout):
                group.create_dataset(str(i), data=np.ascontiguousarray(to(np.asarray(t.array))))


def _read_weights(model: Any, f: Any) -> None:
    for path, layer in _walk(model):
        if _is_model(layer):
            continue
        for sub, layout in _groups(layer):
            where = _vars_path(path, sub)
            group = f.get(where)
            stored = 0 if group is None else len(group)
            if stored != len(layout):
                raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}) expects "
                                 f"{len(layout)} variables, but the file has {stored} at "
                                 f"'{where}'")
            for i, (t, _, back) in enumerate(layout):
                value = back(np.asarray(group[str(i)]))
                if value.shape != tuple(t.shape):
                    raise ValueError(f"Layer '{layer.name}': variable {i} has shape "
                                     f"{tuple(t.shape)} but the file holds {value.shape}")
                t.array[...] = value


def _write_optimizer(model: Any, f: Any) -> None:
    opt = getattr(model, "optimizer", None)
    if opt is None or opt.inner is None:
        return
    group = f.create_group("optimizer").create_group("vars")
    group.create_dataset("0", data=np.int64(opt.iterations))
    i = 1   # with a schedule Keras keeps no learning-rate variable
    if opt._schedule is None:
        group.create_dataset("1", data=np.float32(opt.learning_rate))
        i = 2
    slots: list[list[str]] = []
    to_keras = _param_layouts(model)
    for p in _bound(opt):
        state = opt.inner.state.get(p, {})
        keys = sorted(k for k, v in state.items() if hasattr(v, "shape") and v.shape)
        slots.append(keys)
        to = to_keras.get(id(p), (_same, _same))[0]
        for k in keys:
            group.create_dataset(str(i), data=np.ascontiguousarray(to(np.asarray(state[k]))))
            i += 1
    group.attrs["chainrule_slots"] = json.dumps(slots)
    group.attrs["chainrule_learning_rate"] = float(opt.learning_rate)  # var 1 is float32


# The slots Keras 3 keeps per weight, in its order, by the chainrule (PyTorch) names of the same
# running averages; Keras's Adam/AdamW m, v and RMSprop's velocity are PyTorch's.
_KERAS_SLOTS = {"Adam": ["exp_avg", "exp_avg_sq"], "AdamW": ["exp_avg", "exp_avg_sq"],
                "RMSprop": ["square_avg"]}


def _read_optimizer(model: Any, f: Any) -> None:
    opt = getattr(model, "optimizer", None)
    group = f.get("optimizer/vars")
    if opt is None or group is None:
        return
    if opt.inner is None:
        opt.bind(p for p in model.parameters() if p.requires_grad)
        model._bound = True
    params = _bound(opt)
    first = 1 if opt._schedule is not None else 2   # the first slot variable
    if "chainrule_slots" in group.attrs:
        slots = json.loads(group.attrs["chainrule_slots"])
    else:   # written by Keras: read the optimizers whose slots mean the same here
        names = _KERAS_SLOTS.get(type(opt).__name__)
        plain = not (opt._kwargs.get("momentum") or opt._kwargs.get("centered"))
        if names is None or not plain or len(group) != first + len(names) * len(params):
            return
        slots = [names] * len(params)
    opt.iterations = int(np.asarray(group["0"]))
    if opt._schedule is None:   # a schedule gives the rate from iterations
        opt.learning_rate = float(group.attrs.get("chainrule_learning_rate",
                                                  np.asarray(group["1"])))
    from_keras = _param_layouts(model)
    i = first
    for p, keys in zip(params, slots):
        back = from_keras.get(id(p), (_same, _same))[1]
        state: dict[str, Any] = {}
        for k in keys:
            state[k] = back(np.asarray(group[str(i)])).astype(p.dtype)
            i += 1
        if keys:
            if "exp_avg" in keys or "square_avg" in keys:
                state["step"] = opt.iterations
            opt.inner.state[p] = state


def _bound(opt: Any) -> list[Any]:
    return [p for g in opt.inner.param_groups for p in g["params"]]


def _param_layouts(model: Any) -> dict[int, tuple[Callable[..., Any], Callable[..., Any]]]:
    out = {}
    for _, layer in _walk(model):
        if not _is_model(layer):
            for t, to, back in _layout(layer):
                out[id(t)] = (to, back)
    return out


# ---- archives ----

def save_model(model: Any, path: str) -> None:
    """Write ``model`` to a ``.keras`` archive (atomically: temp file, then rename)."""
    h5py = _h5py()
    config = {**layer_entry(model)}
    if getattr(model, "compiled", False):
        config["compile_config"] = model.get_compile_config()
    meta = {"keras_version": KERAS_VERSION,
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
            "chainrule": {"rng_state": cr.get_rng_state()}}
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        _write_weights(model, f)
        _write_optimizer(model, f)
    folder = os.path.dirname(os.path.abspath(path))
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as tmp:
        with zipfile.ZipFile(tmp, "w") as z:
            z.writestr("metadata.json", json.dumps(meta))
            z.writestr("config.json", json.dumps(config))
            z.writestr("model.weights.h5", buf.getvalue())
    os.replace(tmp.name, path)


def load_model(filepath: str | os.PathLike[str], custom_objects: Any = None,
               compile: bool = True, safe_mode: bool = True) -> Any:
    """A model from a ``.keras`` archive (written by chainrule or by Keras 3), with its weights,
    its compile settings and optimizer state when ``compile`` (and the saved RNG state).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "m.keras")
        >>> model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
        >>> model.save(path)
        >>> restored = keras.models.load_model(path)
        >>> x = cr.ones(1, 3)
        >>> cr.allclose(restored(x), model(x))
        True
    """
    h5py = _h5py()
    path = os.fspath(filepath)
    if not path.endswith(".keras"):
        raise ValueError(f"load_model: expected a .keras file, got {path!r}")
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
        meta = json.loads(z.read("metadata.json"))
        weights = z.read("model.weights.h5")
    model = from_config(config)
    with h5py.File(io.BytesIO(weights), "r") as f:
        _read_weights(model, f)
        if compile and config.get("compile_config"):
            model.compile_from_config(config["compile_config"])
            _read_optimizer(model, f)
    state = meta.get("chainrule", {}).get("rng_state")
    if state is not None:
        cr.set_rng_state(state)
    return model


def restore(model: Any, path: str) -> None:
    """Load an archive's weights, optimizer state and RNG state into ``model`` itself."""
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("metadata.json"))
        data = z.read("model.weights.h5")
    with _h5py().File(io.BytesIO(data), "r") as f:
        _read_weights(model, f)
        _read_optimizer(model, f)
    state = meta.get("chainrule", {}).get("rng_state")
    if state is not None:
        cr.set_rng_state(state)


def save_weights(model: Any, path: str) -> None:
    if not path.endswith(".weights.h5"):
        from chainrule.train.callbacks import save_state
        save_state(model.state_dict(), path)
        return
    h5py = _h5py()
    with h5py.File(path, "w") as f:
        _write_weights(model, f)


def load_weights(model: Any, path: str) -> None:
    if path.endswith(".keras"):
        with zipfile.ZipFile(path) as z:
            data = z.read("model.weights.h5")
        with _h5py().File(io.BytesIO(data), "r") as f:
            _read_weights(model, f)
        return
    if not path.endswith(".weights.h5"):
        from chainrule.serialization import load
        model.load_state_dict(load(path))
        return
    with _h5py().File(path, "r") as f:
        _read_weights(model, f)

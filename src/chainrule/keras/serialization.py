"""Keras configs: a layer, model, optimizer, activation or loss as the JSON-ready entry a
``.keras`` archive's ``config.json`` holds (``serialize``, ``layer_entry``), and back
(``from_config``, with ``accepted`` checking which Keras settings chainrule has)."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from chainrule.keras import activations, losses, metrics, optimizers, schedules
from chainrule.keras import layers as keras_layers
from chainrule.keras.layers import Layer, _snake

# Keras settings whose value here is the only behaviour chainrule has
_DEFAULTS = {"data_format": "channels_last", "groups": 1, "renorm_momentum": 0.99}


_BENIGN = {"dtype", "seed", "ema_momentum", "ema_overwrite_frequency", "name", "ragged",
           "optional", "sparse", "build_config", "loss_scale_factor"}


MODELS: dict[str, type[Layer]] = {}
"""The model classes by the class name in a config (``Functional``, ``Model``, ``Sequential``),
filled by ``register_model`` where each is defined."""


def register_model(cls: type[Layer], *names: str) -> type[Layer]:
    """Make ``cls`` the class that ``from_config`` builds for ``names`` (default: its name)."""
    for name in names or (cls.__name__,):
        MODELS[name] = cls
    return cls


def serialize(obj: Any) -> Any:
    """A JSON-ready config value: layers and optimizers as {module, class_name, config}."""
    if isinstance(obj, Layer):
        return layer_entry(obj)
    if isinstance(obj, losses.Loss):
        return serialize(losses.serialize(obj))
    if isinstance(obj, metrics.Metric):
        return serialize(metrics.serialize(obj))
    if isinstance(obj, schedules.LearningRateSchedule):
        return serialize(schedules.serialize(obj))
    if isinstance(obj, optimizers.Optimizer):
        return {"module": "keras.optimizers", "class_name": type(obj).__name__,
                "config": serialize({"name": _snake(type(obj).__name__), **obj.keras_config()}),
                "registered_name": None}
    if isinstance(obj, (list, tuple)):
        return [serialize(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize(v) for k, v in obj.items()}
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if callable(obj):
        name = activations.name_of(obj)
        if name not in (None, "") and activations.get(name) is obj:
            return name
        loss = losses.name_of(obj)
        if loss in losses.LOSSES:
            return loss
        raise ValueError(f"cannot save {obj!r}: only built-in activations and losses (by name) "
                         f"can go into a .keras config")
    return obj


def deserialize(obj: Any) -> Any:
    """``obj`` with the config entries of losses and metrics (``serialize``'s, or Keras's)
    turned back into objects, in lists and dicts too."""
    modules = {"keras.losses": losses.deserialize, "keras.metrics": metrics.deserialize}
    if isinstance(obj, dict):
        if obj.get("module") in modules and "class_name" in obj:
            return modules[obj["module"]](obj)
        return {k: deserialize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [deserialize(v) for v in obj]
    return obj


def layer_entry(layer: Layer) -> dict[str, Any]:
    config = {k: v for k, v in layer.get_config().items()
              if not (k == "input_shape" and v is None)}
    entry = {"module": "keras.layers", "class_name": type(layer).__name__,
             "config": serialize(config), "registered_name": None}
    if type(layer).__name__ == "Sequential":
        entry["module"] = "keras"
    if type(layer).__name__ == "Functional":
        entry["module"] = "keras.src.models.functional"
        entry["registered_name"] = "Functional"
    if layer.built_input_shape is not None:
        entry["build_config"] = {"input_shape": list(layer.built_input_shape)}
    return entry


def from_config(entry: dict[str, Any]) -> Layer:
    """The layer or model an entry of ``config.json`` describes."""
    name = entry["class_name"]
    if name in MODELS:
        return MODELS[name].from_config(entry["config"])
    cls = getattr(keras_layers, name, None)
    if cls is None:
        raise ValueError(f"Unknown layer: '{name}'. chainrule.keras has no layer of that name")
    return cls.from_config(accepted(cls, entry["config"], name))


def accepted(cls: Any, config: dict[str, Any], what: str) -> dict[str, Any]:
    """The entries of ``config`` that ``cls`` takes; Keras-only settings left at their
    defaults (None, False, initializers, dtype policies) are dropped, others refused."""
    params = inspect.signature(cls.__init__).parameters
    open_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    names = set(params) | ({"name", "trainable", "input_shape"} if open_kwargs else set())
    out = {}
    for k, v in config.items():
        if k in names:
            out[k] = v
        elif v in (None, False) or k in _BENIGN or k.endswith("_initializer") or \
                (k in _DEFAULTS and _DEFAULTS[k] == v):
            continue
        else:
            raise ValueError(f"{what}: the setting {k}={v!r} is not supported by chainrule")
    return out

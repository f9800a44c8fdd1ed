"""A Keras-compatible front-end over ``chainrule.nn`` and ``chainrule.train``.

``from chainrule.keras import Sequential, layers`` — channels-last tensors, lazily built layers,
``compile`` / ``fit`` / ``evaluate`` / ``predict`` / ``summary`` with Keras's names and defaults.
"""

from chainrule.keras import (
    activations,
    callbacks,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    optimizers,
    regularizers,
    utils,
)
from chainrule.keras.layers import Input
from chainrule.keras.models import Model, Sequential

models = __import__("chainrule.keras.models", fromlist=["models"])

__all__ = ["Input", "Model", "Sequential", "activations", "callbacks", "datasets",
           "initializers", "layers", "losses", "metrics", "models", "optimizers",
           "regularizers", "utils"]

from chainrule.keras import ops, saving  # noqa: E402
from chainrule.keras.symbolic import KerasTensor  # noqa: E402

__all__ += ["KerasTensor", "ops", "saving"]

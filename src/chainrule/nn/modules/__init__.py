"""PyTorch's ``torch.nn.modules`` layout: one submodule per layer family (``linear``,
``conv``, ``rnn``, ...), each re-exporting the layers of ``chainrule.nn``, so
``from torch.nn.modules.linear import Linear`` ports as ``chainrule.nn.modules.linear``."""

from chainrule.nn.modules import (
    activation,
    batchnorm,
    container,
    conv,
    dropout,
    flatten,
    instancenorm,
    linear,
    loss,
    module,
    normalization,
    padding,
    pooling,
    rnn,
    sparse,
    transformer,
    upsampling,
)
from chainrule.nn.modules.activation import *  # noqa: F403
from chainrule.nn.modules.batchnorm import *  # noqa: F403
from chainrule.nn.modules.container import *  # noqa: F403
from chainrule.nn.modules.conv import *  # noqa: F403
from chainrule.nn.modules.dropout import *  # noqa: F403
from chainrule.nn.modules.flatten import *  # noqa: F403
from chainrule.nn.modules.instancenorm import *  # noqa: F403
from chainrule.nn.modules.linear import *  # noqa: F403
from chainrule.nn.modules.loss import *  # noqa: F403
from chainrule.nn.modules.module import *  # noqa: F403
from chainrule.nn.modules.normalization import *  # noqa: F403
from chainrule.nn.modules.padding import *  # noqa: F403
from chainrule.nn.modules.pooling import *  # noqa: F403
from chainrule.nn.modules.rnn import *  # noqa: F403
from chainrule.nn.modules.sparse import *  # noqa: F403
from chainrule.nn.modules.transformer import *  # noqa: F403
from chainrule.nn.modules.upsampling import *  # noqa: F403

__all__ = [
    "activation",
    "batchnorm",
    "container",
    "conv",
    "dropout",
    "flatten",
    "instancenorm",
    "linear",
    "loss",
    "module",
    "normalization",
    "padding",
    "pooling",
    "rnn",
    "sparse",
    "transformer",
    "upsampling",
]

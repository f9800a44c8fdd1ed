"""``from chainrule.utils.data import DataLoader, TensorDataset`` works as in PyTorch: the same
objects as ``chainrule.data``, with PyTorch's submodules (``chainrule.utils.data.dataloader``,
``.dataset``, ``.sampler``)."""

from chainrule.data import *  # noqa: F403
from chainrule.data import __all__  # noqa: F401
from chainrule.utils.data import dataloader, dataset, sampler  # noqa: F401

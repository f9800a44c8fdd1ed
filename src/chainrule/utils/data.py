"""``from chainrule.utils.data import DataLoader, TensorDataset`` works as in PyTorch: the same
objects as ``chainrule.data``."""

from chainrule.data import *  # noqa: F403
from chainrule.data import __all__  # noqa: F401

"""Neural-network building blocks: ``Module``, ``Parameter``, the layers (``nn.modules``), the
stateless functions (``nn.functional``), ``init`` and ``utils``."""

from chainrule.nn import functional, init, modules, parallel, utils
from chainrule.nn.modules import *  # noqa: F403
from chainrule.nn.modules import __all__ as _layers
from chainrule.nn.parallel.sync_batchnorm import SyncBatchNorm

__all__ = [*_layers, "SyncBatchNorm", "functional", "init", "modules", "parallel", "utils"]

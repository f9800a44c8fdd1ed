"""Data parallelism across processes: ``DistributedDataParallel``."""

from chainrule.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]

"""PyTorch's ``torch.nn.parallel``: data parallelism across processes."""

from chainrule.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]

"""Datasets, samplers, the DataLoader and preprocessing transforms."""

from chainrule.data.dataloader import DataLoader, default_collate
from chainrule.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from chainrule.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from chainrule.data.transforms import Compose, Standardize
from chainrule.data.worker import WorkerInfo, get_worker_info

__all__ = ["Dataset", "IterableDataset", "ChainDataset", "TensorDataset", "Subset",
           "ConcatDataset", "StackDataset",
           "random_split", "DataLoader",
           "default_collate", "Sampler", "SequentialSampler", "RandomSampler",
           "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler", "Standardize",
           "Compose", "get_worker_info", "WorkerInfo"]

from chainrule.data.distributed import DistributedSampler  # noqa: E402

__all__ += ["DistributedSampler"]

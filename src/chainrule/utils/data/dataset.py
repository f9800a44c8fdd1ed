"""PyTorch's ``torch.utils.data.dataset`` path: the objects of ``chainrule.data.dataset``."""

from chainrule.data.dataset import (
    ConcatDataset,
    Dataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)

__all__ = ["ConcatDataset", "Dataset", "StackDataset", "Subset", "TensorDataset", "random_split"]

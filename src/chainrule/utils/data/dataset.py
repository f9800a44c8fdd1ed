"""PyTorch's ``torch.utils.data.dataset`` path: the objects of ``chainrule.data.dataset``."""

from chainrule.data.dataset import Dataset, Subset, TensorDataset, random_split

__all__ = ["Dataset", "Subset", "TensorDataset", "random_split"]

"""``CIFAR10`` in torchvision's layout: the pickled batches in ``root/cifar-10-batches-py``."""

from __future__ import annotations

import os
import pickle
import tarfile
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.datasets.mnist import sha256_of
from chainrule.vision._pil import pil_image
from chainrule.vision.datasets.vision import VisionDataset, fetch


class CIFAR10(VisionDataset):
    """CIFAR-10 (50,000 train / 10,000 test 32×32 colour images in 10 classes), as
    ``torchvision.datasets.CIFAR10``.

    The batches ``data_batch_1`` … ``data_batch_5``, ``test_batch`` and ``batches.meta`` are
    read from ``root/cifar-10-batches-py`` (the "python version" of the dataset: pickled dicts
    with ``data``, an (N, 3072) uint8 array of R, G, B planes, and ``labels``).
    ``download=True`` fetches ``cifar-10-python.tar.gz`` into ``root``, checks its SHA-256 and
    extracts it.

    Args:
        root: the directory holding ``cifar-10-batches-py``.
        train: the five training batches if True, else the test batch.
        transform: applied to each PIL image, e.g. ``transforms.ToTensor()``.
        target_transform: applied to each label.
        download: fetch and extract the archive when the batches are missing.

    Attributes:
        data: uint8 array (N, 32, 32, 3), height × width × channels as torchvision keeps it.
        targets: list of N ints.
        classes: the class names from ``batches.meta``.

    Raises:
        RuntimeError: the batches are missing and ``download`` is False, or cannot be
            downloaded.

    Items are ``(PIL.Image of mode 'RGB', int)``; reading them needs Pillow. The batches are
    pickles: load only files from a source you trust.
    """

    base_folder = "cifar-10-batches-py"
    urls = ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
    filename = "cifar-10-python.tar.gz"
    tgz_sha256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
    train_list = [f"data_batch_{i}" for i in range(1, 6)]
    test_list = ["test_batch"]
    meta = {"filename": "batches.meta", "key": "label_names"}

    def __init__(self, root: str | os.PathLike[str], train: bool = True,
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform, target_transform)
        self.train = train
        if download:
            self.download()
        missing = self._missing()
        if missing:
            raise RuntimeError(
                f"Dataset not found or corrupted. You can use download=True to download it. "
                f"{type(self).__name__} looks for {', '.join(missing)} in "
                f"{os.path.join(self.root, self.base_folder)}")
        data, self.targets = [], []
        for name in self.train_list if train else self.test_list:
            entry = self._unpickle(name)
            data.append(entry["data"])
            self.targets.extend(int(t) for t in entry.get("labels", entry.get("fine_labels")))
        self.data = np.vstack(data).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
        self.classes = list(self._unpickle(self.meta["filename"])[self.meta["key"]])
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def _unpickle(self, name: str) -> dict[str, Any]:
        with open(os.path.join(self.root, self.base_folder, name), "rb") as f:
            return pickle.load(f, encoding="latin1")

    def _missing(self) -> list[str]:
        names = self.train_list + self.test_list + [self.meta["filename"]]
        folder = os.path.join(self.root, self.base_folder)
        return [n for n in names if not os.path.isfile(os.path.join(folder, n))]

    def download(self) -> None:
        """Fetch the archive (checked against its SHA-256) and extract it into ``root``,
        unless the batches are already there; a verified archive already in ``root`` is reused."""
        if not self._missing():
            return
        archive = os.path.join(self.root, self.filename)
        if not (os.path.isfile(archive) and sha256_of(archive) == self.tgz_sha256):
            fetch(self.urls, archive, self.tgz_sha256)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(self.root, filter="data")

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        return self._apply(pil_image().fromarray(self.data[index]), self.targets[index])

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"

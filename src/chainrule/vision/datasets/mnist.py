"""``MNIST`` and ``FashionMNIST`` in torchvision's layout: the IDX files in ``root/<Class>/raw``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from chainrule.datasets import mnist as idx
from chainrule.tensor import Tensor
from chainrule.vision._pil import pil_image
from chainrule.vision.datasets.vision import VisionDataset, fetch


class MNIST(VisionDataset):
    """The MNIST digits (60,000 train / 10,000 test 28×28 grey images), as
    ``torchvision.datasets.MNIST``.

    The four IDX files are read from ``root/MNIST/raw``, gzip-compressed (``*.gz``, as
    downloaded) or already extracted. ``download=True`` fetches missing files from
    ``mirrors`` and checks each against its published SHA-256 before keeping it.

    Args:
        root: the directory holding ``MNIST/raw``.
        train: the 60,000 training images if True, else the 10,000 test images.
        transform: applied to each PIL image, e.g. ``transforms.ToTensor()``.
        target_transform: applied to each label.
        download: fetch the files that are missing from ``root/MNIST/raw``.

    Attributes:
        data: uint8 tensor (N, 28, 28).
        targets: int64 tensor (N,).

    Raises:
        RuntimeError: the files are missing and ``download`` is False, or cannot be downloaded.

    Items are ``(PIL.Image of mode 'L', int)``; reading them needs Pillow.
    """

    mirrors = list(idx.MIRRORS["mnist"])
    checksums = idx.SHA256["mnist"]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike[str], train: bool = True,
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform, target_transform)
        self.train = train
        if download:
            self.download()
        missing = [f for f in idx.FILES if self._path(f) is None]
        if missing:
            raise RuntimeError(
                f"Dataset not found. You can use download=True to download it. "
                f"{type(self).__name__} looks for {', '.join(missing)} (or the files without "
                f".gz) in {self.raw_folder}")
        split = 0 if train else 2
        self.data = Tensor._wrap(idx.read_idx(self._path(idx.FILES[split])))
        self.targets = Tensor._wrap(idx.read_idx(self._path(idx.FILES[split + 1])).astype("int64"))

    @property
    def raw_folder(self) -> str:
        """``root/<class name>/raw``, where the IDX files are."""
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def _path(self, fname: str) -> str | None:
        for name in (fname, fname.removesuffix(".gz")):
            path = os.path.join(self.raw_folder, name)
            if os.path.isfile(path):
                return path
        return None

    def download(self) -> None:
        """Fetch the files missing from ``raw_folder``, each checked against its SHA-256."""
        for fname in idx.FILES:
            if self._path(fname) is None:
                fetch([base + fname for base in self.mirrors],
                      os.path.join(self.raw_folder, fname), self.checksums[fname])

    def __len__(self) -> int:
        return len(self.data.array)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img = pil_image().fromarray(self.data.array[index])
        return self._apply(img, int(self.targets.array[index]))

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (same sizes and files as MNIST), read from
    ``root/FashionMNIST/raw``; see :class:`MNIST`."""

    mirrors = list(idx.MIRRORS["fashion-mnist"])
    checksums = idx.SHA256["fashion-mnist"]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]

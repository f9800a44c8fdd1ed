"""``VisionDataset``: the root, transforms and printout every vision dataset shares."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from chainrule.data.dataset import Dataset
from chainrule.datasets.mnist import download as download_file


class VisionDataset(Dataset):
    """A dataset stored under ``root`` whose items go through ``transform`` (the image) and
    ``target_transform`` (the label), as ``torchvision.datasets.VisionDataset``.

    Args:
        root: the directory the dataset's files live in (``~`` is expanded).
        transform: applied to each image, e.g. ``transforms.ToTensor()``.
        target_transform: applied to each label.
    """

    _repr_indent = 4

    def __init__(self, root: str | os.PathLike[str],
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None) -> None:
        self.root = os.path.expanduser(os.fspath(root))
        self.transform = transform
        self.target_transform = target_transform

    def _apply(self, img: Any, target: Any) -> tuple[Any, Any]:
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"Number of datapoints: {len(self)}", f"Root location: {self.root}"]
        lines += [line for line in self.extra_repr().splitlines() if line]
        for name in ("transform", "target_transform"):
            t = getattr(self, name)
            if t is not None:
                head, *rest = repr(t).splitlines()
                lines.append(f"{name.replace('_', ' ').title().replace(' ', '')}: {head}")
                lines += rest
        pad = " " * self._repr_indent
        return "\n".join([f"Dataset {type(self).__name__}"] + [pad + line for line in lines])


def fetch(urls: list[str], dest: str, sha256: str, progress: bool = True) -> None:
    """Download the first of ``urls`` that works to ``dest``, checking its SHA-256.

    Raises:
        RuntimeError: every URL failed; the message lists each failure.
    """
    errors = []
    for url in urls:
        try:
            download_file(url, dest, sha256, retries=2, progress=progress, backoff=0.1)
            return
        except OSError as e:
            errors.append(f"  {url}: {e}")
    raise RuntimeError(f"Error downloading {os.path.basename(dest)}:\n" + "\n".join(errors))

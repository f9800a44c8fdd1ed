"""Pillow, imported on first use: ``chainrule.vision`` works on tensors without it."""

from __future__ import annotations

from typing import Any


def pil_image() -> Any:
    """The ``PIL.Image`` module, or an ImportError saying what to install."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("chainrule.vision needs Pillow for PIL images and PNG files: "
                          "pip install 'chainrule[vision]' (or pip install Pillow)") from e
    return Image


def is_pil_image(img: Any) -> bool:
    """Whether ``img`` is a PIL image (False, without importing Pillow, when it is not loaded)."""
    import sys

    image = sys.modules.get("PIL.Image")
    return image is not None and isinstance(img, image.Image)

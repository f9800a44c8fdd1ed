"""The ``weights`` argument of the model builders: only ``None`` (random initialisation)."""

from __future__ import annotations

from typing import Any


def check_no_weights(builder: str, weights: Any) -> None:
    """Refuse pretrained weights with a message saying how to load torchvision's instead."""
    if weights is not None:
        raise ValueError(
            f"{builder}(weights={weights!r}): chainrule cannot download pretrained weights. "
            f"Build the model with weights=None and load a torchvision state_dict saved as "
            f"safetensors (safetensors.torch.save_file(model.state_dict(), path) in PyTorch): "
            f"model.load_state_dict(chainrule.load(path)).")

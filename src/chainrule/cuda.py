"""``chainrule.cuda``: reports that no GPU is available, so the usual device choice
``"cuda" if cr.cuda.is_available() else "cpu"`` picks the CPU."""

from __future__ import annotations


def is_available() -> bool:
    """False: chainrule computes on the CPU."""
    return False


def device_count() -> int:
    """0: no GPU devices."""
    return 0


def manual_seed(seed: int) -> None:
    """Ignored, as in PyTorch when CUDA is not available (seed the CPU with
    ``chainrule.manual_seed``)."""


manual_seed_all = manual_seed

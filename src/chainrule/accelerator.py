"""``torch.accelerator``: the device-agnostic way to ask for a GPU. chainrule computes on the
CPU, so there is no accelerator and device-choosing code falls back to the CPU:

    device = cr.accelerator.current_accelerator() or cr.device("cpu")
"""

from __future__ import annotations

from chainrule.device import device


def is_available() -> bool:
    """False: no accelerator is available."""
    return False


def current_accelerator(check_available: bool = False) -> device | None:
    """The accelerator device type, or None (as here) when there is none."""
    return None


def device_count() -> int:
    """0: no accelerator devices."""
    return 0

"""Mixed precision, as ``torch.amp``: ``autocast`` regions and ``GradScaler`` loss scaling."""

from chainrule.amp.autocast_mode import (
    autocast,
    float32_op,
    get_autocast_dtype,
    is_autocast_enabled,
)
from chainrule.amp.grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "float32_op", "get_autocast_dtype", "is_autocast_enabled"]

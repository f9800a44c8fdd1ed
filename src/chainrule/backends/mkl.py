"""``torch.backends.mkl``: whether chainrule's products run through Intel MKL (where the
optional ``mkl`` package is installed; ``pip install "chainrule[mkl]"``).

Example:
    >>> import chainrule as cr
    >>> isinstance(cr.backends.mkl.is_available(), bool)
    True
"""

from __future__ import annotations

from chainrule import mkl


def is_available() -> bool:
    """True when chainrule's float32 and float64 products run through MKL."""
    return mkl.is_available()

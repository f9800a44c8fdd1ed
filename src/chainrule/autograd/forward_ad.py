"""Forward-mode AD (``torch.autograd.forward_ad``): ``make_dual`` and ``unpack`` (from
``ops/dual.py``) over the levels and tangents of ``autograd/tangents.py``, whose
``enter_level``, ``exit_level``, ``levels``, ``tangent_of`` and ``propagate`` are re-exported
here.
"""

from __future__ import annotations

from chainrule.autograd.tangents import enter_level, exit_level, levels, propagate, tangent_of
from chainrule.ops.dual import make_dual, unpack

__all__ = ["enter_level", "exit_level", "levels", "make_dual", "propagate", "tangent_of",
           "unpack"]

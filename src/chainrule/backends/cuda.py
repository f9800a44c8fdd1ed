"""``torch.backends.cuda`` on a CPU-only build: ``is_built()`` is False and the cuBLAS switches
under ``matmul`` keep PyTorch's defaults (``allow_tf32`` False, reduced-precision reductions
True); they are recorded and have no effect.

Example:
    >>> import chainrule as cr
    >>> cr.backends.cuda.matmul.allow_tf32 = True
    >>> cr.backends.cuda.matmul.allow_tf32
    True
"""

from __future__ import annotations

from typing import Any


def is_built() -> bool:
    """False: chainrule is not built with CUDA."""
    return False


class cuBLASModule:  # noqa: N801  (PyTorch's name)
    """The ``matmul`` switches; setting any other attribute is an error, as in PyTorch."""

    _FLAGS = ("allow_tf32", "allow_fp16_reduced_precision_reduction",
              "allow_bf16_reduced_precision_reduction", "allow_fp16_accumulation")

    def __init__(self) -> None:
        object.__setattr__(self, "allow_tf32", False)
        object.__setattr__(self, "allow_fp16_reduced_precision_reduction", True)
        object.__setattr__(self, "allow_bf16_reduced_precision_reduction", True)
        object.__setattr__(self, "allow_fp16_accumulation", False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._FLAGS:
            raise AttributeError("Unknown attribute " + name)
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError("Unknown attribute " + name)


matmul = cuBLASModule()

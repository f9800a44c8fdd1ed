"""chainrule: a small, readable deep-learning framework on NumPy.

``import chainrule as cr`` gives PyTorch's names: ``cr.tensor``, ``cr.nn``, ``cr.optim``, ...
"""

from chainrule import backend
from chainrule.autograd.grad_mode import (
    enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled,
)
from chainrule.tensor import Tensor, tensor

from chainrule import autograd  # noqa: I001  (after Tensor: the engine imports it)
from chainrule.ops import table as _table

_table.bind()  # Tensor's methods
globals().update(_table.FUNCTIONS)  # cr.exp, cr.sum, cr.matmul, ...: the public ops

from chainrule.creation import (  # noqa: E402
    arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
    get_default_dtype, linspace, normal, ones, ones_like, rand, rand_like, randint,
    randint_like, randn, randn_like, randperm, set_default_dtype, zeros, zeros_like,
)
from chainrule import cuda, data, datasets, func, linalg, nn, optim, train, utils, viz  # noqa: E402
from chainrule.compiled import CompileError, compile  # noqa: A004  (cr.compile, as torch.compile)
from chainrule.device import device
from chainrule.random import (
    Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state,
)
from chainrule.serialization import load, save
from chainrule.size import Size
from chainrule.threads import get_num_threads, set_num_threads
from chainrule import accelerator, backends  # noqa: E402
from chainrule.out_keyword import FUNCTIONS as _WITH_OUT  # noqa: E402

globals().update(_WITH_OUT)  # cr.add(..., out=t), cr.zeros(..., out=t), ...: see out_keyword.py

float32 = backend.float32
float64 = backend.float64
float16 = backend.float16
int64 = backend.int64
int32 = backend.int32
int16 = backend.int16
int8 = backend.int8
uint8 = backend.uint8
bool = backend.bool_
float = float32
double = float64
long = int64
short = int16
half = float16

from chainrule import amp, cpu, onnx
from chainrule.amp import autocast, get_autocast_dtype, is_autocast_enabled


def __getattr__(name: str) -> object:
    """``chainrule.bfloat16``, made on first use: its storage comes from the optional
    ``ml_dtypes`` package, which importing chainrule does not load."""
    if name == "bfloat16":
        return backend.bfloat16()
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


def is_tensor(obj: object) -> bool:
    """True when ``obj`` is a chainrule Tensor (Parameters included).

    Example:
        >>> import chainrule as cr
        >>> cr.is_tensor(cr.ones(1)), cr.is_tensor([1.0])
        (True, False)
    """
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    """The number of elements of ``input``.

    Example:
        >>> import chainrule as cr
        >>> cr.numel(cr.zeros(2, 3, 4))
        24
    """
    return input.numel()


__version__ = "0.1.0"
from chainrule import distributed  # noqa: E402

"""``chainrule.device``: where a tensor lives. chainrule computes on the CPU through NumPy, so
``"cpu"`` is the one device it accepts; naming it lets device-agnostic PyTorch code run as is:

    device = cr.device("cuda" if cr.cuda.is_available() else "cpu")
    model.to(device); x = cr.zeros(3, device=device)
"""

from __future__ import annotations

from typing import Any

_KNOWN = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla")


class device:  # noqa: N801  (PyTorch's name)
    """A device name, ``device("cpu")``, ``device("cuda:0")`` or ``device("cuda", 0)``.

    Example:
        >>> import chainrule as cr
        >>> cr.device("cpu")
        device(type='cpu')
        >>> cr.zeros(2).device == "cpu"
        True
    """

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a device string such as 'cpu', got "
                            f"{type!r}")
        name, _, number = type.partition(":")
        if number:
            if index is not None:
                raise RuntimeError(f"device(): type (string) must not include an index because "
                                   f"index was passed explicitly: {type}")
            if not number.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(number)
        if name not in _KNOWN:
            raise RuntimeError(f"Expected one of {', '.join(_KNOWN)} device type at start of "
                               f"device string: {type}")
        self.type = name
        self.index = index

    def __repr__(self) -> str:
        extra = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{extra})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def check(where: Any, op: str) -> None:
    """Accept ``None`` and the CPU; refuse any other device with an error naming ``op``."""
    if where is None:
        return
    d = device(where) if isinstance(where, str | device) else None
    if d is None:
        raise TypeError(f"{op}: expected a device ('cpu') or None, got {where!r}")
    if d.type != "cpu":
        raise RuntimeError(f"{op}: chainrule computes on the CPU (NumPy); device '{d}' is not "
                           "available. Use 'cpu', or cr.cuda.is_available() to choose.")


def to_dtype(args: tuple[Any, ...], kwargs: dict[str, Any], op: str, tensor_type: type) -> Any:
    """The dtype that ``.to(...)``'s arguments ask for (``None`` for none): ``to(dtype)``,
    ``to(tensor)`` (its dtype), ``to(device, dtype)`` or keywords; refuses non-CPU devices."""
    dtype, where = kwargs.get("dtype"), kwargs.get("device")
    for a in args:
        if isinstance(a, tensor_type):
            dtype = a.dtype
        elif isinstance(a, str | device):
            where = a
        else:
            dtype = a
    check(where, op)
    return dtype

"""``save`` / ``load``: checkpoints in the safetensors format, written atomically.

A checkpoint is any nesting of dicts, lists and tuples whose leaves are tensors, arrays,
numbers, strings, booleans or ``None``: a model ``state_dict``, an optimizer's or scheduler's,
an RNG state, or a dict of several. Tensors and arrays become the file's tensors (named by
their path, ``optimizer.state.0.exp_avg``); everything else is JSON in the header's
``__metadata__``, with a CRC-32 over that JSON and every tensor's bytes. A model state dict
gives a plain safetensors file that other libraries read, and files written by others
(``safetensors.torch.save_file(model.state_dict(), path)``) load as ``{name: Tensor}``.

Any other object (a whole ``Module``, a dict holding one, a set, a user's class) is pickled
instead, as ``torch.save`` does. ``load`` reads such a file with PyTorch's ``weights_only``
rule: by default only tensors, numbers, strings and plain containers are rebuilt, and any
other class or function must be allowlisted (``add_safe_globals``, ``safe_globals``) or the
load asked for with ``weights_only=False`` (which runs the file's code: trusted files only).

Saving writes a temporary file in the target's directory, fsyncs it and renames it over the
target, so a crash mid-save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
import shutil
import socket
import tempfile
import time
import zlib
from collections.abc import Callable
from typing import Any

from chainrule.backend import Array, xp
from chainrule.device import check as check_device
from chainrule.device import device
from chainrule.tensor import Tensor
from chainrule.weights_only_unpickler import (
    WeightsUnpickler,
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
    weights_only_error,
)

__all__ = ["save", "load", "add_safe_globals", "clear_safe_globals", "get_safe_globals",
           "safe_globals"]

_KEY = "chainrule"
_CRC = "chainrule.crc32"
_FORMAT = 1
_MARKERS = ("__tensor__", "__ndarray__", "__tuple__", "__dict__", "__npscalar__")


def _safetensors() -> Any:
    try:
        import safetensors.numpy as st
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise ImportError("chainrule.save/load need the 'safetensors' package: "
                          "pip install chainrule[io]") from e
    return st


def _crc(structure: str, arrays: dict[str, Array]) -> str:
    crc = zlib.crc32(structure.encode())
    for name in sorted(arrays):
        crc = zlib.crc32(name.encode(), crc)
        crc = zlib.crc32(memoryview(arrays[name].reshape(-1)).cast("B"), crc)
    return f"{crc:08x}"


class _Encoder:
    """Splits an object into named arrays and a JSON-able skeleton referring to them."""

    def __init__(self) -> None:
        self.arrays: dict[str, Array] = {}

    def _name(self, path: str) -> str:
        name, i = path or "tensor", 1
        while name in self.arrays:
            name, i = f"{path}#{i}", i + 1
        return name

    def _store(self, arr: Array, path: str) -> str:
        name = self._name(path)
        self.arrays[name] = arr if arr.flags.c_contiguous else arr.copy(order="C")
        return name

    def encode(self, obj: Any, path: str) -> Any:
        sub = lambda key: f"{path}.{key}" if path else str(key)
        if isinstance(obj, Tensor):
            return {"__tensor__": self._store(obj.array, path)}
        if isinstance(obj, xp.ndarray):
            return {"__ndarray__": self._store(obj, path)}
        if obj is None or isinstance(obj, bool | int | float | str):
            return obj
        if isinstance(obj, xp.generic):
            return {"__npscalar__": self._store(xp.asarray(obj), path)}
        if isinstance(obj, dict):
            if all(isinstance(k, str) and k not in _MARKERS for k in obj):
                return {k: self.encode(v, sub(k)) for k, v in obj.items()}
            return {"__dict__": [[self.encode(k, sub(f"key{i}")), self.encode(v, sub(k))]
                                 for i, (k, v) in enumerate(obj.items())]}
        if isinstance(obj, list):
            return [self.encode(v, sub(i)) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, sub(i)) for i, v in enumerate(obj)]}
        raise TypeError(f"chainrule.save: cannot save a {type(obj).__name__} at "
                        f"'{path or '<root>'}' (tensors, arrays, numbers, strings, None, "
                        "dicts, lists and tuples only)")


def _decode(node: Any, arrays: dict[str, Array]) -> Any:
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (marker, value), = node.items()
        if marker == "__tensor__":
            return Tensor._wrap(arrays[value])
        if marker == "__ndarray__":
            return arrays[value]
        if marker == "__npscalar__":
            return arrays[value][()]
        if marker == "__tuple__":
            return tuple(_decode(v, arrays) for v in value)
        if marker == "__dict__":
            return {_hashable(_decode(k, arrays)): _decode(v, arrays) for k, v in value}
    return {k: _decode(v, arrays) for k, v in node.items()}


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def save(obj: Any, f: str | os.PathLike[str] | Any, pickle_module: Any = pickle,
         pickle_protocol: int = 2) -> None:
    """Save a checkpoint (state dicts, RNG states, nestings of them) or any picklable object
    to ``f``.

    Args:
        obj: e.g. ``model.state_dict()`` or ``{"model": ..., "optimizer": opt.state_dict(),
            "rng": cr.get_rng_state()}`` (a safetensors file), or a whole model (pickled).
        f: a path (written atomically) or a binary file object.
        pickle_module: the module that pickles objects that are not plain checkpoints.
        pickle_protocol: the pickle protocol for those.

    Raises:
        TypeError: for an object that is neither a plain checkpoint nor picklable, naming
            where the first unstorable value sits in ``obj``.
        ImportError: when ``safetensors`` is missing (``pip install chainrule[io]``).

    Example:
        >>> import chainrule as cr, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
        >>> cr.save({"w": cr.ones(2), "step": 3}, path)
        >>> cr.load(path)["step"]
        3
    """
    enc = _Encoder()
    try:
        structure = json.dumps({"format": _FORMAT, "root": enc.encode(obj, "")})
    except TypeError as plain:  # not a plain checkpoint: pickle it whole
        try:
            blob = pickle_module.dumps(obj, protocol=pickle_protocol)
        except (pickle.PicklingError, AttributeError, TypeError) as e:
            raise TypeError(f"{plain}; pickling the whole object failed too: {e}") from e
    else:
        try:
            blob = _safetensors().save(enc.arrays, metadata={
                _KEY: structure, _CRC: _crc(structure, enc.arrays)})
        except ImportError:
            raise
        except Exception as e:
            raise TypeError(f"chainrule.save: safetensors could not store the arrays: "
                            f"{e}") from e
    if hasattr(f, "write"):
        f.write(blob)
        return
    _atomic_write(os.fspath(f), blob)


def _atomic_write(path: str, blob: bytes) -> None:
    """Write ``blob`` to a temporary file beside ``path``, fsync it and rename it over ``path``.

    The temporary file's name records this host and process, so the next save of the same
    target removes the leftovers of a save that was killed; a save that would not fit on the
    disk is refused before anything is written.
    """
    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale_temps(directory, os.path.basename(path))
    free = shutil.disk_usage(directory).free
    if len(blob) > free:
        raise OSError(errno.ENOSPC, f"chainrule.save: {len(blob)} bytes do not fit in the "
                                    f"{free} bytes free on the disk of '{directory}'")
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(os.path.basename(path)), suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(blob)
            out.flush()
            os.fsync(out.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


_STALE_AFTER_S = 24 * 3600
"""Temporaries of another host's saves (a shared filesystem) are removed after this long."""


def _temp_prefix(target: str, host: str | None = None, pid: int | None = None) -> str:
    host = socket.gethostname() if host is None else host
    return f".{target}.{host}.{os.getpid() if pid is None else pid}."


def _remove_stale_temps(directory: str, target: str) -> None:
    """Delete temporaries of earlier saves of ``target`` whose writer is gone: a process of
    this host that no longer runs, or another host's temporary older than a day."""
    host = socket.gethostname()
    head = f".{target}."
    try:
        names = [n for n in os.listdir(directory) if n.startswith(head) and n.endswith(".tmp")]
    except OSError:
        return
    for name in names:
        parts = name[len(head):].split(".")
        if len(parts) < 4 or not parts[-3].isdigit():
            continue
        tmp_host, pid = ".".join(parts[:-3]), int(parts[-3])
        full = os.path.join(directory, name)
        try:
            if tmp_host == host:
                if _alive(pid):
                    continue
            elif time.time() - os.path.getmtime(full) < _STALE_AFTER_S:
                continue
            os.unlink(full)
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def load(f: str | os.PathLike[str] | Any, map_location: Any = None, pickle_module: Any = None,
         *, weights_only: bool | None = None, mmap: bool | None = None,
         **pickle_load_args: Any) -> Any:
    """Load what ``save`` wrote (or any safetensors file, as ``{name: Tensor}``).

    Args:
        f: a path or a binary file object.
        map_location: where tensors go: ``None``, ``"cpu"``, a ``device``, a dict such as
            ``{"cuda:0": "cpu"}``, or a function ``fn(tensor, "cpu")`` returning the tensor to
            use (applied to the tensors in the loaded containers). Devices other than the CPU
            are refused.
        pickle_module: the module that unpickles a pickled object (only with
            ``weights_only=False``).
        weights_only: ``True`` (the default, as ``torch.load``): a pickled file may hold only
            tensors, numbers, strings, plain containers and allowlisted globals. ``False``:
            unpickle anything, which runs code from the file; use it only for trusted files.
        mmap: accepted for compatibility; a path is always memory-mapped.
        **pickle_load_args: passed to the unpickler (e.g. ``encoding``).

    A path is memory-mapped copy-on-write, so loading holds about one copy of the data and the
    loaded tensors are private (writing to them never changes the file).

    Raises:
        ValueError: naming the path, when the file is truncated, corrupt, not a checkpoint, or
            written by chainrule and failing its checksum.
        pickle.UnpicklingError: when ``weights_only`` refuses a global, naming it.

    Example:
        >>> import chainrule as cr
        >>> import io
        >>> buffer = io.BytesIO()
        >>> cr.save({"w": cr.tensor([1.0, 2.0])}, buffer)
        >>> _ = buffer.seek(0)
        >>> cr.load(buffer)
        {'w': tensor([1., 2.])}
    """
    _check_map_location(map_location)
    if hasattr(f, "read"):
        name = getattr(f, "name", "<file object>")
        buf = xp.frombuffer(bytearray(f.read()), xp.uint8)
    else:
        name = os.fspath(f)
        buf = _map(name)
    if buf[:1].tobytes() == b"\x80" and not _is_safetensors(buf):  # PROTO: a pickle's start
        obj = _unpickle(buf.tobytes(), pickle_module, weights_only, pickle_load_args)
    else:
        obj = _load_safetensors(buf, name)
    return _map_tensors(obj, map_location) if callable(map_location) else obj


def _is_safetensors(data: Array) -> bool:
    """A safetensors file: the size of its JSON header (8 bytes), then the header."""
    return len(data) > 8 and 8 + int.from_bytes(data[:8].tobytes(), "little") <= len(data) and \
        data[8:9].tobytes() == b"{"


def _unpickle(data: bytes, pickle_module: Any, weights_only: bool | None,
              load_args: dict[str, Any]) -> Any:
    if weights_only is None or weights_only:
        if pickle_module is not None:
            raise RuntimeError("Can not safely load weights when explicit pickle_module is "
                               "specified")
        try:
            return WeightsUnpickler(io.BytesIO(data), **load_args).load()
        except pickle.UnpicklingError as e:
            raise weights_only_error(str(e)) from None
    if pickle_module is not None:
        return pickle_module.loads(data, **load_args)
    return _Unpickler(io.BytesIO(data), **load_args).load()


# Modules whose classes moved when the package was laid out by concept; whole objects saved
# before name them there. Each maps to the namespace that exports those classes now.
_MOVED = {
    **{f"chainrule.nn.{m}": "chainrule.nn" for m in (
        "activation", "attention", "containers", "conv", "dropout", "dropout2d",
        "embedding_bag", "flatten", "graph", "linear", "loss", "module", "normalization",
        "padding", "pooling", "rnn", "rnn_packed", "sparse", "transformer", "upsampling")},
    "chainrule.nn.resnet": "chainrule.vision.models.resnet",
    "chainrule.optim._cyclic_lr": "chainrule.optim.lr_scheduler",
    "chainrule.optim._warm_restarts": "chainrule.optim.lr_scheduler",
    "chainrule.keras.recurrent": "chainrule.keras.layers",
    "chainrule.keras.functional": "chainrule.keras.models",
}
_RENAMED = {("chainrule.nn.resnet", "ResNet"): "CifarResNet"}


class _Unpickler(pickle.Unpickler):
    """``pickle``'s unpickler that also finds classes under the module they were saved from."""

    def find_class(self, module: str, name: str) -> Any:
        if module in _MOVED:
            name = _RENAMED.get((module, name), name)
            module = _MOVED[module]
        return super().find_class(module, name)


def _check_map_location(map_location: Any) -> None:
    if isinstance(map_location, dict):
        for where in map_location.values():
            check_device(where, "load")
    elif isinstance(map_location, str | device):
        check_device(map_location, "load")
    elif map_location is not None and not callable(map_location):
        raise TypeError(f"load: map_location should be a str, a device, a dict or a function, "
                        f"got {type(map_location).__name__}")


def _map_tensors(obj: Any, fn: Callable[[Tensor, str], Any]) -> Any:
    if isinstance(obj, Tensor):
        out = fn(obj, "cpu")
        return obj if out is None else out
    if isinstance(obj, dict):
        return type(obj)((k, _map_tensors(v, fn)) for k, v in obj.items())
    if isinstance(obj, list | tuple) and not hasattr(obj, "_fields"):
        return type(obj)(_map_tensors(v, fn) for v in obj)
    return obj


def _load_safetensors(buf: Array, name: str) -> Any:
    bad = lambda why: ValueError(f"chainrule.load: '{name}' is not a valid checkpoint: {why}")
    header, arrays = _parse(buf, bad)
    meta = header.get("__metadata__") or {}
    if _KEY not in meta and _CRC not in meta:
        return {k: Tensor._wrap(v) for k, v in arrays.items()}
    if _KEY not in meta or _CRC not in meta:
        missing = _KEY if _KEY not in meta else _CRC
        raise bad(f"written by chainrule but its '{missing}' metadata is missing (the file was "
                  "modified or damaged)")
    structure = meta[_KEY]
    if not isinstance(structure, str) or meta[_CRC] != _crc(structure, arrays):
        raise bad("checksum mismatch (the file was modified or damaged)")
    try:
        tree = json.loads(structure)
        return _decode(tree["root"], arrays)
    except Exception as e:
        raise bad(f"unreadable structure ({e})") from e


def _map(path: str) -> Array:
    """The file's bytes, mapped copy-on-write (an empty file gives an empty array)."""
    if os.path.getsize(path) == 0:
        return xp.zeros(0, xp.uint8)
    return xp.asarray(xp.memmap(path, dtype=xp.uint8, mode="c"))  # a plain array over the map


_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "I64": "int64",
           "I32": "int32", "I16": "int16", "I8": "int8", "U64": "uint64", "U32": "uint32",
           "U16": "uint16", "U8": "uint8", "BOOL": "bool"}


def _dtype(code: Any) -> Any:
    if code == "BF16":
        try:
            import ml_dtypes
        except ImportError as e:
            raise ValueError("bfloat16 tensors need the 'ml_dtypes' package") from e
        return xp.dtype(ml_dtypes.bfloat16)
    if code not in _DTYPES:
        raise ValueError(f"unsupported dtype {code!r}")
    return xp.dtype(_DTYPES[code])


def _parse(buf: Array, bad: Any) -> tuple[dict[str, Any], dict[str, Array]]:
    """The safetensors header and the tensors as views of ``buf`` (checked against its size)."""
    if len(buf) < 8:
        raise bad(f"truncated ({len(buf)} bytes, no safetensors header)")
    n = int(buf[:8].view("<u8")[0])
    if 8 + n > len(buf):
        raise bad(f"truncated (header says {n} bytes, file has {len(buf) - 8} after it)")
    body = buf[8 + n:]
    try:
        header = json.loads(bytes(buf[8:8 + n]))
        arrays = {}
        for key, info in header.items():
            if key == "__metadata__":
                continue
            dtype, shape = _dtype(info["dtype"]), tuple(int(d) for d in info["shape"])
            start, end = (int(o) for o in info["data_offsets"])
            count = 1
            for d in shape:
                count *= d
            if not 0 <= start <= end <= len(body) or end - start != count * dtype.itemsize:
                raise ValueError(f"tensor {key!r}: offsets [{start}, {end}] do not fit its shape "
                                 f"{list(shape)} and the {len(body)} bytes of data")
            arrays[key] = body[start:end].view(dtype).reshape(shape)
    except Exception as e:
        raise bad(f"corrupt or truncated safetensors data ({e})") from e
    return header, arrays

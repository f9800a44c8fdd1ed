"""MNIST and Fashion-MNIST from the standard IDX ``.gz`` files: find, download, verify, parse.

Lookup order for the files: the ``data_dir`` argument, then ``$CHAINRULE_DATA``, then
``~/.cache/chainrule``. In each directory the four files may lie directly in it or in a
``mnist/`` (``fashion-mnist/``) subdirectory. Missing files are downloaded from the public
mirrors, checked against their published SHA-256, and written atomically (temp file, then
``os.replace``), so an interrupted download never leaves a half file under the real name.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte.gz":
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz":
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz":
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz":
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz":
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz":
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz":
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz":
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}

MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/"],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class DatasetNotFoundError(FileNotFoundError):
    """The data files are neither on disk nor downloadable; the message says where to put them.

    ``how`` is the way the message tells to name a directory (``"pass --data-dir DIR"`` for a
    command line, whose users never see ``data_dir=``); ``describe(how)`` gives it with another.
    """

    def __init__(self, name: str, missing: str, dirs: list[Path], errors: list[str],
                 how: str = "pass data_dir=...") -> None:
        self.name, self.missing, self.dirs, self.errors = name, missing, dirs, errors
        super().__init__(self.describe(how))

    def describe(self, how: str) -> str:
        where = "\n  ".join(str(d) for d in self.dirs)
        why = ("" if not self.errors else
               "\nand it could not be downloaded:\n  " + "\n  ".join(self.errors[-2:]))
        return (f"{self.name}: {self.missing} was not found{why}\n"
                f"Put the four files {', '.join(FILES)} into one of these directories (or its "
                f"{self.name}/ subdirectory):\n  {where}\n"
                f"(or {how}, or set CHAINRULE_DATA).")


def default_dirs(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Directories searched, in order: ``data_dir``, ``$CHAINRULE_DATA``, ``~/.cache/chainrule``."""
    dirs = []
    if data_dir is not None:
        dirs.append(Path(data_dir).expanduser())
    env = os.environ.get("CHAINRULE_DATA")
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(Path("~/.cache/chainrule").expanduser())
    return dirs


def _find(name: str, fname: str, dirs: list[Path]) -> Path | None:
    for d in dirs:
        for candidate in (d / fname, d / name / fname):
            if candidate.is_file():
                return candidate
    return None


def sha256_of(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: str | os.PathLike[str], sha256: str | None = None,
             retries: int = 3, timeout: float = 30.0, progress: bool = True,
             backoff: float = 0.5) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying ``sha256``; retry on any failure.

    The bytes go to a temporary file beside ``dest`` and are moved into place with
    ``os.replace`` only once the checksum matches.

    Raises:
        OSError: every attempt failed (the last error is chained).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    last: Exception | None = None
    for attempt in range(1, retries + 1):
        fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as r:
                total = int(r.headers.get("Content-Length") or 0) or None
                bar = _bar(total, dest.name) if progress else None
                h = hashlib.sha256()
                for block in iter(lambda: r.read(1 << 16), b""):
                    out.write(block)
                    h.update(block)
                    if bar is not None:
                        bar.update(len(block))
                if bar is not None:
                    bar.close()
                out.flush()
                os.fsync(out.fileno())
            if sha256 is not None and h.hexdigest() != sha256:
                raise OSError(f"checksum mismatch for {url}: expected sha256 {sha256}, "
                              f"got {h.hexdigest()}")
            os.replace(tmp, dest)
            return dest
        except (OSError, urllib.error.URLError) as e:  # URLError is an OSError; listed for clarity
            last = e
            if os.path.exists(tmp):
                os.unlink(tmp)
            if progress:
                print(f"download of {url} failed (attempt {attempt}/{retries}): {e}",
                      file=sys.stderr, flush=True)
            if attempt < retries:
                time.sleep(backoff * attempt)
    raise OSError(f"could not download {url} after {retries} attempts: {last}") from last


def _bar(total: int | None, desc: str):  # noqa: ANN202 — tqdm or None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, leave=False)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Parse a (gzip-compressed or raw) IDX file of unsigned bytes into a uint8 array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    ndim = raw[3]
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(dims)):
        raise ValueError(f"{path}: header says shape {dims} but the payload has "
                         f"{len(raw) - offset} bytes")
    return np.frombuffer(raw, np.uint8, offset=offset).reshape(dims).copy()


def locate(name: str = "mnist", data_dir: str | os.PathLike[str] | None = None,
           download_missing: bool = True, mirrors: list[str] | None = None,
           retries: int = 3, progress: bool = True) -> dict[str, Path]:
    """Paths of the four files of ``name`` ('mnist' or 'fashion-mnist'), downloading missing ones.

    Downloads go into the first searched directory (under ``name/``).
    """
    if name not in SHA256:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(SHA256)}")
    dirs = default_dirs(data_dir)
    found: dict[str, Path] = {}
    errors: list[str] = []
    for fname in FILES:
        path = _find(name, fname, dirs)
        if path is None and download_missing:
            dest = dirs[0] / name / fname
            for base in mirrors if mirrors is not None else MIRRORS[name]:
                try:
                    path = download(base + fname, dest, SHA256[name][fname], retries=retries,
                                    progress=progress)
                    break
                except OSError as e:
                    errors.append(str(e))
        if path is None:
            raise DatasetNotFoundError(name, fname, dirs, errors)
        found[fname] = path
    return found


def load_mnist(data_dir: str | os.PathLike[str] | None = None, fashion: bool = False,
               download: bool = True, mirrors: list[str] | None = None) -> Arrays:
    """MNIST (or Fashion-MNIST) as uint8 NumPy arrays.

    Args:
        data_dir: a directory holding the ``.gz`` files (directly or under ``mnist/`` /
            ``fashion-mnist/``); searched before ``$CHAINRULE_DATA`` and ``~/.cache/chainrule``.
        fashion: load Fashion-MNIST instead.
        download: fetch missing files from the public mirrors (checksummed).
        mirrors: base URLs to try instead of the built-in ones.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: images (60000, 28, 28) / (10000, 28, 28) and
        labels (60000,) / (10000,), all uint8.

    Raises:
        DatasetNotFoundError: the files are absent and could not be downloaded; the message
            lists where to put them.
    """
    name = "fashion-mnist" if fashion else "mnist"
    paths = locate(name, data_dir, download_missing=download, mirrors=mirrors)
    arr = {f: read_idx(p) for f, p in paths.items()}
    return ((arr[FILES[0]], arr[FILES[1]]), (arr[FILES[2]], arr[FILES[3]]))


def load_fashion_mnist(data_dir: str | os.PathLike[str] | None = None,
                       download: bool = True) -> Arrays:
    """Fashion-MNIST; see :func:`load_mnist`."""
    return load_mnist(data_dir, fashion=True, download=download)


def load_subset() -> Arrays:
    """The small MNIST subset shipped inside the package (2,000 train + 500 test images).

    For offline smoke runs only; it is far too small to reach the full data's accuracy.
    """
    path = Path(__file__).parent / "assets" / "mnist_subset.npz"
    with np.load(path) as z:
        return (z["x_train"], z["y_train"]), (z["x_test"], z["y_test"])


def load_mnist_or_subset(data_dir: str | os.PathLike[str] | None = None, download: bool = True,
                         how: str = "pass --data-dir DIR") -> tuple[Arrays, bool]:
    """MNIST, else — loudly, on stderr — the shipped subset: ``(arrays, is_subset)``.

    For command-line programs: with no ``data_dir`` a missing data set falls back to
    :func:`load_subset` after a warning saying how to get the full one (``how`` names the
    program's option). An explicit ``data_dir`` is never silently replaced: when it is not a
    directory, or holds no MNIST files and none could be downloaded into it, the
    :class:`DatasetNotFoundError` (or ``NotADirectoryError``) is raised.
    """
    if data_dir is not None:
        d = Path(data_dir).expanduser()
        if not d.is_dir():
            raise NotADirectoryError(f"MNIST data directory {str(d)!r} does not exist")
        missing = [f for f in FILES if _find("mnist", f, [d]) is None]
        if missing and not download:
            raise DatasetNotFoundError("mnist", missing[0], [d], [], how)
    try:
        return load_mnist(data_dir, download=download), False
    except DatasetNotFoundError as e:
        if data_dir is not None:
            raise DatasetNotFoundError(e.name, e.missing, e.dirs, e.errors, how) from None
        banner = "=" * 78
        print(f"{banner}\nWARNING: the full MNIST data is not available:\n{e.describe(how)}\n\n"
              f"FALLING BACK to the small subset shipped with chainrule (2,000 training and "
              f"500 test images).\nAccuracy on it is NOT comparable to the full data set.\n"
              f"{banner}", file=sys.stderr, flush=True)
        return load_subset(), True

"""MNIST loading: real files, lookup order, download against a local server (with a corrupted
first response that must be caught by the checksum and retried), offline error, shipped subset."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from chainrule.datasets import DatasetNotFoundError, load_mnist, load_subset, mnist

DATA = Path("/work/shared/data")
needs_data = pytest.mark.skipif(not (DATA / "mnist").is_dir(), reason="real MNIST files absent")


@pytest.fixture(scope="module")
def real():
    return load_mnist(DATA, download=False)


@needs_data
def test_real_files_shapes_dtypes_and_counts(real):
    (x, y), (xt, yt) = real
    assert x.shape == (60000, 28, 28) and y.shape == (60000,)
    assert xt.shape == (10000, 28, 28) and yt.shape == (10000,)
    assert x.dtype == y.dtype == xt.dtype == yt.dtype == np.uint8
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(yt).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert abs(x.mean() - 33.32) < 0.01


@needs_data
def test_fashion_and_subdir_or_direct_lookup(tmp_path, monkeypatch):
    # direct files in the dir
    for f in mnist.FILES[2:]:
        (tmp_path / f).symlink_to(DATA / "fashion-mnist" / f)
    monkeypatch.setenv("CHAINRULE_DATA", str(DATA))   # env holds fashion-mnist/ train files
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (x, y), (xt, yt) = load_mnist(tmp_path, fashion=True, download=False)
    assert np.bincount(yt).tolist() == [1000] * 10 and np.bincount(y).tolist() == [6000] * 10
    assert abs(x.mean() - 72.94) < 0.01


def test_read_idx_rejects_bad_header(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"\x01\x02")
    with pytest.raises(ValueError, match="header says shape"):
        mnist.read_idx(p)
    p.write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match="not an unsigned-byte IDX"):
        mnist.read_idx(p)


class _Handler(http.server.SimpleHTTPRequestHandler):
    corrupt_first: set[str] = set()
    hits: dict[str, int] = {}

    def do_GET(self):  # noqa: N802
        name = self.path.rsplit("/", 1)[-1]
        self.hits[name] = self.hits.get(name, 0) + 1
        body = (DATA / "mnist" / name).read_bytes()
        if name in self.corrupt_first and self.hits[name] == 1:
            body = body[:-10] + b"corrupted!"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.hits = {}
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/", _Handler
    srv.shutdown()
    srv.server_close()


@needs_data
def test_download_detects_corruption_and_retries(server, tmp_path, monkeypatch, real):
    url, handler = server
    handler.corrupt_first = {"t10k-labels-idx1-ubyte.gz"}
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(mnist.time, "sleep", lambda s: None)
    dest = tmp_path / "data"
    (x, y), (xt, yt) = load_mnist(dest, mirrors=[url])
    assert handler.hits["t10k-labels-idx1-ubyte.gz"] == 2          # corrupted, then retried
    assert all(handler.hits[f] == 1 for f in mnist.FILES[:3])
    assert np.array_equal(yt, real[1][1]) and np.array_equal(x, real[0][0])
    files = sorted(p.name for p in (dest / "mnist").iterdir())
    assert files == sorted(mnist.FILES)                             # no .part leftovers
    # second call finds the cached files: no new requests
    load_mnist(dest, mirrors=[url])
    assert sum(handler.hits.values()) == 5


@needs_data
def test_download_gives_up_on_persistent_corruption(server, tmp_path, monkeypatch):
    url, handler = server
    handler.corrupt_first = set()
    monkeypatch.setattr(mnist.time, "sleep", lambda s: None)
    dest = tmp_path / "x.gz"
    with pytest.raises(OSError, match="checksum mismatch"):
        mnist.download(url + "t10k-labels-idx1-ubyte.gz", dest, "0" * 64, retries=2,
                       progress=False)
    assert handler.hits["t10k-labels-idx1-ubyte.gz"] == 2
    assert list(tmp_path.iterdir()) == []                           # nothing half-written


def test_offline_absent_gives_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(mnist.time, "sleep", lambda s: None)
    # port 9 on localhost: connection refused, like being offline
    with pytest.raises(DatasetNotFoundError) as e:
        load_mnist(tmp_path / "d", mirrors=["http://127.0.0.1:9/"])
    msg = str(e.value)
    assert "train-images-idx3-ubyte.gz" in msg and "could not be downloaded" in msg
    assert f"\n  {tmp_path / 'd'}\n" in msg and "mnist/ subdirectory" in msg
    assert "CHAINRULE_DATA" in msg
    with pytest.raises(DatasetNotFoundError, match="was not found"):
        load_mnist(tmp_path / "d", download=False)


def test_shipped_subset():
    (x, y), (xt, yt) = load_subset()
    assert x.shape == (2000, 28, 28) and y.shape == (2000,) and xt.shape == (500, 28, 28)
    assert x.dtype == np.uint8 and set(np.unique(y)) == set(range(10))
    path = Path(mnist.__file__).parent / "assets" / "mnist_subset.npz"
    assert path.stat().st_size < 1_000_000
    if (DATA / "mnist").is_dir():
        (fx, fy), (fxt, _) = load_mnist(DATA, download=False)
        assert np.array_equal(x, fx[:2000]) and np.array_equal(xt, fxt[:500])




def test_load_mnist_or_subset_falls_back_only_without_a_data_dir(tmp_path, monkeypatch, capsys):
    from chainrule.datasets import load_mnist_or_subset

    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    ((x, y), (xt, yt)), subset = load_mnist_or_subset(download=False, how="use --data")
    assert subset and x.shape == (2000, 28, 28) and xt.shape == (500, 28, 28)
    err = capsys.readouterr().err
    assert "FALLING BACK" in err and "(or use --data, or set CHAINRULE_DATA)" in err
    with pytest.raises(NotADirectoryError, match="does not exist"):
        load_mnist_or_subset(tmp_path / "absent", download=False)
    with pytest.raises(DatasetNotFoundError, match=r"or use --data, or set") as e:
        load_mnist_or_subset(tmp_path, download=False, how="use --data")
    assert e.value.dirs == [tmp_path] and e.value.missing == "train-images-idx3-ubyte.gz"
    assert "FALLING BACK" not in capsys.readouterr().err

"""chainrule.vision.datasets: torchvision's layout read from disk (the shipped MNIST subset written
as IDX files, the real MNIST files, generated CIFAR-10 pickles), downloads from a loopback
server checked against SHA-256, and the errors when files are missing."""

from __future__ import annotations

import functools
import http.server
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import DataLoader
from chainrule.datasets import load_subset
from chainrule.vision import datasets, transforms
from vision_files import sha256_of, write_cifar10, write_mnist_raw

Image = pytest.importorskip("PIL.Image")

SHARED = Path("/work/shared/data")
needs_shared = pytest.mark.skipif(not (SHARED / "mnist").is_dir(),
                                  reason="the real MNIST files are not on this machine")


@pytest.fixture(scope="module")
def subset():
    return load_subset()


@pytest.fixture
def mnist_root(tmp_path, subset):
    write_mnist_raw(tmp_path / "MNIST" / "raw", *subset)
    return tmp_path


def test_mnist_reads_the_shipped_subset_in_torchvisions_layout(mnist_root, subset):
    (x, y), (xt, yt) = subset
    train = datasets.MNIST(mnist_root, train=True)
    test = datasets.MNIST(str(mnist_root), train=False)
    assert len(train) == len(x) == 2000 and len(test) == len(xt) == 500
    np.testing.assert_array_equal(train.data.numpy(), x)
    np.testing.assert_array_equal(test.targets.numpy(), yt)
    assert train.targets.dtype == np.int64
    img, label = train[7]
    assert isinstance(img, Image.Image) and img.mode == "L" and img.size == (28, 28)
    np.testing.assert_array_equal(np.asarray(img), x[7])
    assert type(label) is int and label == y[7]
    assert train.class_to_idx["3 - three"] == 3


def test_mnist_transforms_apply_to_image_and_label(mnist_root, subset):
    (x, y), _ = subset
    ds = datasets.MNIST(mnist_root, transform=transforms.ToTensor(),
                        target_transform=lambda t: t + 100)
    img, label = ds[3]
    assert img.shape == (1, 28, 28) and img.dtype == np.float32
    np.testing.assert_allclose(img.numpy()[0], x[3] / 255.0, rtol=1e-6)
    assert label == y[3] + 100


def test_mnist_batches_through_a_dataloader(mnist_root, subset):
    (x, y), _ = subset
    ds = datasets.MNIST(mnist_root, transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]))
    images, labels = next(iter(DataLoader(ds, batch_size=16, num_workers=2)))
    assert images.shape == (16, 1, 28, 28) and labels.shape == (16,)
    assert labels.dtype == np.int64 and labels.numpy().tolist() == y[:16].tolist()
    np.testing.assert_allclose(images.numpy()[:, 0], (x[:16] / 255 - 0.1307) / 0.3081,
                               rtol=1e-5, atol=1e-5)


def test_mnist_reads_extracted_files_too(tmp_path, subset):
    write_mnist_raw(tmp_path / "MNIST" / "raw", *subset, gz=False)
    assert len(datasets.MNIST(tmp_path, train=False)) == 500


def test_missing_files_without_download_say_where_and_how(tmp_path):
    with pytest.raises(RuntimeError, match="download=True") as e:
        datasets.MNIST(tmp_path)
    assert str(tmp_path / "MNIST" / "raw") in str(e.value)
    with pytest.raises(RuntimeError, match="download=True") as e:
        datasets.CIFAR10(tmp_path)
    assert "cifar-10-batches-py" in str(e.value) and "data_batch_1" in str(e.value)


def test_fashion_mnist_has_its_own_folder_and_classes(tmp_path, subset):
    write_mnist_raw(tmp_path / "FashionMNIST" / "raw", *subset)
    ds = datasets.FashionMNIST(tmp_path, train=False)
    assert len(ds) == 500 and ds.classes[9] == "Ankle boot"
    with pytest.raises(RuntimeError, match="MNIST"):
        datasets.MNIST(tmp_path)


@needs_shared
def test_real_mnist_files(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in (SHARED / "mnist").glob("*.gz"):
        (raw / f.name).symlink_to(f)
    test = datasets.MNIST(tmp_path, train=False)
    assert len(test) == 10000 and len(datasets.MNIST(tmp_path)) == 60000
    assert np.bincount(test.targets.numpy()).tolist() == [980, 1135, 1032, 1010, 982, 892,
                                                          958, 1028, 974, 1009]


@pytest.fixture
def server(tmp_path):
    """An HTTP server on loopback serving ``tmp_path/www``; yields (base URL, folder)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", www
    httpd.shutdown()
    thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test output stays clean
        pass


def test_mnist_download_checks_sha256_and_falls_back_to_the_next_mirror(
        tmp_path, subset, server, monkeypatch):
    base, www = server
    write_mnist_raw(www / "good", *subset)
    write_mnist_raw(www / "bad", subset[1], subset[0])  # files swapped: wrong checksums
    sums = {f.name: sha256_of(f) for f in (www / "good").iterdir()}
    monkeypatch.setattr(datasets.MNIST, "checksums", sums)
    monkeypatch.setattr(datasets.MNIST, "mirrors", [base + "missing/", base + "bad/",
                                                    base + "good/"])
    root = tmp_path / "data"
    ds = datasets.MNIST(root, train=False, download=True)
    assert len(ds) == 500
    raw = root / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(sums)  # no partial files left
    assert all(sha256_of(raw / name) == s for name, s in sums.items())


def test_mnist_download_that_never_verifies_raises_and_keeps_nothing(
        tmp_path, subset, server, monkeypatch, capsys):
    base, www = server
    write_mnist_raw(www, *subset)
    monkeypatch.setattr(datasets.MNIST, "mirrors", [base])  # the real MNIST checksums
    with pytest.raises(RuntimeError, match="checksum mismatch"):
        datasets.MNIST(tmp_path, download=True)
    assert list((tmp_path / "MNIST" / "raw").iterdir()) == []


@needs_shared
def test_real_mnist_download_verifies_the_published_checksums(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.MNIST, "mirrors", [(SHARED / "mnist").as_uri() + "/"])
    assert len(datasets.MNIST(tmp_path, train=False, download=True)) == 10000


@pytest.fixture
def cifar_root(tmp_path):
    return tmp_path, write_cifar10(tmp_path / "cifar-10-batches-py")


def test_cifar10_reads_generated_batches(cifar_root):
    root, (x, y, xt, yt) = cifar_root
    train, test = datasets.CIFAR10(root), datasets.CIFAR10(root, train=False)
    assert len(train) == 20 and len(test) == 6
    assert train.data.shape == (20, 32, 32, 3) and train.data.dtype == np.uint8
    assert train.targets == y and test.targets == yt
    assert train.classes[0] == "airplane" and train.class_to_idx["truck"] == 9
    img, label = test[4]
    assert isinstance(img, Image.Image) and img.mode == "RGB" and img.size == (32, 32)
    planes = xt[4].reshape(3, 32, 32)  # the published layout: R, G, B planes, row-major
    np.testing.assert_array_equal(np.asarray(img), planes.transpose(1, 2, 0))
    assert label == yt[4]
    tensor, _ = datasets.CIFAR10(root, train=False, transform=transforms.ToTensor())[4]
    np.testing.assert_allclose(tensor.numpy(), planes / 255.0, rtol=1e-6)
    assert "Split: Test" in repr(test) and "Number of datapoints: 6" in repr(test)


def test_cifar10_download_verifies_and_extracts_the_archive(tmp_path, server, monkeypatch):
    base, www = server
    _, y, _, _ = write_cifar10(tmp_path / "src" / "cifar-10-batches-py")
    archive = www / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    monkeypatch.setattr(datasets.CIFAR10, "urls", [base + "cifar-10-python.tar.gz"])
    with pytest.raises(RuntimeError, match="checksum mismatch"):  # the real archive's SHA-256
        datasets.CIFAR10(tmp_path / "a", download=True)
    monkeypatch.setattr(datasets.CIFAR10, "tgz_sha256", sha256_of(archive))
    ds = datasets.CIFAR10(tmp_path / "b", download=True)
    assert ds.targets == y
    assert (tmp_path / "b" / "cifar-10-python.tar.gz").is_file()
    monkeypatch.setattr(datasets.CIFAR10, "urls", [base + "gone.tar.gz"])
    assert datasets.CIFAR10(tmp_path / "b", download=True).targets == y  # present: no fetch
    for batch in (tmp_path / "b" / "cifar-10-batches-py").iterdir():
        batch.unlink()
    assert datasets.CIFAR10(tmp_path / "b", download=True).targets == y  # archive reused

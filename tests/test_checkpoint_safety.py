"""Checkpoints under crashes, full disks and tampering: stale temporaries are cleaned, a save
that cannot fit is refused before writing, and a file chainrule wrote is always verified."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule import serialization
from chainrule.serialization import load, save

pytest.importorskip("safetensors")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _temp(tmp_path, target: str, host: str, pid: int, age_s: float = 0.0):
    path = tmp_path / f".{target}.{host}.{pid}.abc123.tmp"
    path.write_bytes(b"\0" * 4096)  # what a killed save leaves behind
    if age_s:
        old = time.time() - age_s
        os.utime(path, (old, old))
    return path


def test_temporaries_of_killed_saves_are_removed_by_the_next_save(tmp_path) -> None:
    host = socket.gethostname()
    killed = _temp(tmp_path, "ckpt.safetensors", host, _dead_pid())
    other_target = _temp(tmp_path, "other.safetensors", host, _dead_pid())
    save({"w": cr.ones(3)}, tmp_path / "ckpt.safetensors")
    assert not killed.exists()
    assert other_target.exists()  # only the same target's leftovers are touched
    assert sorted(os.listdir(tmp_path)) == sorted(["ckpt.safetensors", other_target.name])


def test_a_save_in_progress_elsewhere_is_left_alone(tmp_path) -> None:
    host = socket.gethostname()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        running = _temp(tmp_path, "ckpt.safetensors", host, sleeper.pid)
        fresh_remote = _temp(tmp_path, "ckpt.safetensors", "another-host", 1)
        old_remote = _temp(tmp_path, "ckpt.safetensors", "another-host", 2, age_s=2 * 86400)
        save({"w": cr.ones(3)}, tmp_path / "ckpt.safetensors")
        assert running.exists() and fresh_remote.exists()
        assert not old_remote.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_killed_save_process_leaves_no_temp_after_the_next_save(tmp_path) -> None:
    path = tmp_path / "ckpt.safetensors"
    save({"w": cr.ones(3), "epoch": 1}, path)
    script = (
        "import os, sys, chainrule as cr\n"
        "from chainrule import serialization as s\n"
        "os.fsync = lambda fd: os.kill(os.getpid(), 9)  # killed after the data, before rename\n"
        f"cr.save({{'w': cr.zeros(300000)}}, {str(path)!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -9
    leftovers = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert len(leftovers) == 1 and os.path.getsize(tmp_path / leftovers[0]) > 1_000_000
    assert load(path)["epoch"] == 1  # the previous checkpoint is intact
    save({"w": cr.ones(3), "epoch": 2}, path)
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


def test_a_save_that_cannot_fit_is_refused_before_writing(tmp_path, monkeypatch) -> None:
    path = tmp_path / "ckpt.safetensors"
    save({"w": cr.ones(3), "epoch": 1}, path)

    class Usage:
        free = 100

    monkeypatch.setattr(serialization.shutil, "disk_usage", lambda _: Usage)
    with pytest.raises(OSError, match="do not fit in the 100 bytes free"):
        save({"w": cr.zeros(1000), "epoch": 2}, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    assert load(path)["epoch"] == 1


@pytest.mark.parametrize("renamed", [b"chainrule.crc32", b'"chainrule"'])
def test_altered_metadata_keys_do_not_skip_the_checksum(tmp_path, renamed: bytes) -> None:
    path = tmp_path / "ckpt.safetensors"
    save({"w": cr.arange(100.0), "epoch": 3}, path)
    data = bytearray(path.read_bytes())
    at = data.index(renamed)
    data[at + len(renamed) - 2] ^= 0x01  # rename the key, same length
    data[-40] ^= 0x04  # and corrupt a byte of the tensor data
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="written by chainrule but its .* metadata is missing"):
        load(path)


def test_a_changed_checksum_is_refused(tmp_path) -> None:
    path = tmp_path / "ckpt.safetensors"
    save({"w": cr.arange(100.0)}, path)
    data = path.read_bytes()
    at = data.index(b'"chainrule.crc32":"') + len(b'"chainrule.crc32":"')
    tampered = data[:at] + (b"0" if data[at:at + 1] != b"0" else b"1") + data[at + 1:]
    path.write_bytes(tampered)
    with pytest.raises(ValueError, match="checksum mismatch"):
        load(path)


def test_loading_maps_the_file_and_gives_private_writable_tensors(tmp_path) -> None:
    path = tmp_path / "ckpt.safetensors"
    w = np.arange(1000, dtype=np.float32)
    save({"w": cr.tensor(w)}, path)
    before = path.read_bytes()
    loaded = load(path)["w"]
    base = loaded.numpy()
    while base.base is not None and not isinstance(base, np.memmap):
        base = base.base
    assert isinstance(base, np.memmap) or type(base).__name__ == "mmap"
    loaded.add_(1.0)  # copy-on-write: the file is not changed
    np.testing.assert_array_equal(loaded.numpy(), w + 1)
    assert path.read_bytes() == before
    np.testing.assert_array_equal(load(path)["w"].numpy(), w)

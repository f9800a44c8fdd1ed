"""``chainrule run``: the ``mpirun`` command it builds (running it is in ``test_mpi.py``)."""

import os
import shutil
import sys

import pytest

from chainrule.launch import command, parser

needs_mpirun = pytest.mark.skipif(shutil.which("mpirun") is None, reason="mpirun not installed")


@needs_mpirun
def test_local_run_uses_this_python_and_passes_script_arguments():
    cmd = command(parser().parse_args(["-n", "2", "train.py", "--epochs", "3", "-n", "9"]))
    assert cmd[1:3] == ["-n", "2"]
    assert cmd[-6:] == [sys.executable, "train.py", "--epochs", "3", "-n", "9"]


@needs_mpirun
def test_more_ranks_than_cores_oversubscribe():
    many = (os.cpu_count() or 1) + 1
    assert "--oversubscribe" in command(parser().parse_args(["-n", str(many), "s.py"]))
    assert "--oversubscribe" not in command(parser().parse_args(["-n", "1", "s.py"]))


@needs_mpirun
def test_hostfile_forwards_the_environment(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/x")
    cmd = command(parser().parse_args(["-n", "8", "--hostfile", "hosts", "--mpi-arg=--bind-to",
                                       "--mpi-arg=none", "s.py"]))
    assert cmd[3:5] == ["--hostfile", "hosts"] and "--oversubscribe" not in cmd
    assert cmd[cmd.index("PYTHONPATH") - 1] == "-x"
    assert cmd[-4:-2] == ["--bind-to", "none"]


def test_missing_mpirun_and_bad_counts_are_explained():
    with pytest.raises(SystemExit, match="not found; install Open MPI"):
        command(parser().parse_args(["--mpirun", "no-such-mpirun", "-n", "2", "s.py"]))
    with pytest.raises(SystemExit, match="-n must be >= 1, got 0"):
        command(parser().parse_args(["-n", "0", "s.py"]))

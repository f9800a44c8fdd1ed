"""The process-group API outside an MPI job: errors before ``init_process_group``, argument
checks, and torchrun-style variables checked against MPI (in a subprocess, so this test process
never initialises MPI)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import chainrule as cr
import chainrule.distributed as dist
from chainrule.nn.parallel import DistributedDataParallel


def test_everything_needs_the_process_group_first():
    assert not dist.is_initialized()
    for call in (dist.get_rank, dist.get_world_size, dist.barrier,
                 lambda: dist.all_reduce(cr.zeros(2)),
                 lambda: DistributedDataParallel(cr.nn.Linear(2, 2))):
        with pytest.raises(RuntimeError, match="Default process group has not been initialized"):
            call()


def test_importing_chainrule_does_not_import_mpi4py():
    code = "import sys, chainrule; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2] / "src")))
    assert out.stdout.strip() == "False", out.stderr


def test_only_the_mpi_backend():
    with pytest.raises(ValueError, match="backend 'nccl' is not available"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="MPI connects the processes itself"):
        dist.init_process_group("mpi", init_method="tcp://10.0.0.1:23456")


def run_singleton(code: str = "print(d.get_rank(), d.get_world_size())",
                  **variables: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mpi4py")
    code = "import os, chainrule.distributed as d; d.init_process_group(); " + code
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2] / "src"),
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", **variables)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=60)


def test_torchrun_variables_must_agree_with_mpi():
    ok = run_singleton(RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT="29500")
    assert ok.returncode == 0 and ok.stdout.split() == ["0", "1"], ok.stderr
    bad = run_singleton(RANK="1", WORLD_SIZE="2")
    assert bad.returncode != 0
    assert "WORLD_SIZE=2 but MASTER_ADDR, MASTER_PORT not set" in bad.stderr
    assert "chainrule run -n N script.py" in bad.stderr
    outside = run_singleton(RANK="2", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT="1")
    assert outside.returncode != 0 and "RANK=2 is not in [0, WORLD_SIZE=2)" in outside.stderr


def test_mpi_yields_the_core_while_waiting_unless_told_otherwise(monkeypatch):
    code = "print(os.environ['OMPI_MCA_mpi_yield_when_idle'])"
    monkeypatch.delenv("OMPI_MCA_mpi_yield_when_idle", raising=False)
    default = run_singleton(code)
    assert default.returncode == 0 and default.stdout.split() == ["1"], default.stderr
    chosen = run_singleton(code, OMPI_MCA_mpi_yield_when_idle="0")
    assert chosen.returncode == 0 and chosen.stdout.split() == ["0"], chosen.stderr

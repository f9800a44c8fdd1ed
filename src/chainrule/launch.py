"""``chainrule run``: start a training script on N processes with ``mpirun``.

    chainrule run -n 4 train.py --epochs 3                   # 4 processes on this machine
    chainrule run -n 8 --hostfile hosts train.py             # across the machines in `hosts`

It is a thin layer over Open MPI's ``mpirun -n N python script.py args…`` (which works as
well): it runs the script with this Python, lets a job start as root (containers), allows
more processes than cores on one machine, and forwards ``PYTHONPATH`` and the BLAS thread
variables to other machines.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

FORWARDED = ("PYTHONPATH", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "CHAINRULE_DATA")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="chainrule run", description="Run a script on N processes with mpirun "
        "(data-parallel training with chainrule.distributed).")
    p.add_argument("-n", "--nproc", type=int, required=True, help="number of processes")
    p.add_argument("--hostfile", help="Open MPI hostfile listing the machines (and slots)")
    p.add_argument("--mpirun", default="mpirun", help="the mpirun executable (default: mpirun)")
    p.add_argument("--mpi-arg", action="append", default=[], metavar="ARG",
                   help="an extra argument for mpirun (repeatable), e.g. --mpi-arg=--bind-to "
                        "--mpi-arg=none")
    p.add_argument("script", help="the Python script to run")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the script's arguments")
    return p


def command(args: argparse.Namespace) -> list[str]:
    """The ``mpirun`` command line for ``args``."""
    if args.nproc < 1:
        raise SystemExit(f"chainrule run: -n must be >= 1, got {args.nproc}")
    mpirun = shutil.which(args.mpirun)
    if mpirun is None:
        raise SystemExit(f"chainrule run: {args.mpirun!r} not found; install Open MPI (e.g. "
                         "`apt-get install openmpi-bin libopenmpi-dev`) and `pip install "
                         "'chainrule[mpi]'`")
    cmd = [mpirun, "-n", str(args.nproc)]
    if args.hostfile:
        cmd += ["--hostfile", args.hostfile]
        for name in FORWARDED:
            if name in os.environ:
                cmd += ["-x", name]
    elif args.nproc > (os.cpu_count() or 1):
        cmd.append("--oversubscribe")
    return [*cmd, *args.mpi_arg, sys.executable, args.script, *args.args]


def main(argv: Sequence[str]) -> int:
    """Parse ``argv``, run mpirun, return its exit status."""
    args = parser().parse_args(list(argv))
    env = dict(os.environ)
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # Open MPI refuses root unless told
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return subprocess.call(command(args), env=env)

"""Joining processes that a torchrun-style launcher started into one MPI communicator.

``torchrun`` (or a job script) starts each process on its own and describes it with ``RANK``,
``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``; to MPI each is then a world of one. Rank 0
starts Open MPI's ``ompi-server`` (through which separately started MPI processes find each
other), opens an MPI port and hands both addresses out over a TCP socket at
``MASTER_ADDR:MASTER_PORT`` — the role PyTorch's TCPStore plays (``MASTER_PORT + 1`` under
torchrun itself, whose agent keeps its own store on ``MASTER_PORT``). Every other rank fetches them
and connects; the communicator grows by one rank per connection and is finally ordered by
``RANK``. From then on the bytes go over MPI as under ``mpirun``.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

# Set by every MPI launcher we know of (Open MPI, PMIx, MPICH's Hydra / PMI).
_LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK")
_RETRY_S = 0.1


def launched_by_mpi() -> bool:
    """Whether an MPI launcher (``mpirun``, ``chainrule run``) started this process."""
    return any(v in os.environ for v in _LAUNCHER_VARIABLES)


def torchrun_world() -> tuple[int, int, str, int] | None:
    """``(rank, world_size, master_addr, master_port)`` where torchrun-style variables describe a
    world of several processes that no MPI launcher started; ``None`` otherwise."""
    size = os.environ.get("WORLD_SIZE")
    if launched_by_mpi() or size is None or int(size) <= 1:
        return None
    missing = [v for v in ("RANK", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
    if missing:
        raise ValueError(f"init_process_group: WORLD_SIZE={size} but {', '.join(missing)} "
                         "not set; start the processes with torchrun (which sets RANK, "
                         "MASTER_ADDR and MASTER_PORT), or with `chainrule run -n N script.py` "
                         "/ `mpirun -n N python script.py`")
    rank = int(os.environ["RANK"])
    if not 0 <= rank < int(size):
        raise ValueError(f"init_process_group: RANK={rank} is not in [0, WORLD_SIZE={size})")
    port = int(os.environ["MASTER_PORT"])
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True":
        port += 1  # torchrun's agent holds MASTER_PORT for its own store
    return rank, int(size), os.environ["MASTER_ADDR"], port


def join(rank: int, size: int, addr: str, port: int, timeout_s: float) -> Any:
    """The communicator of all ``size`` ranks, this one at ``rank``; ``mpi4py`` is imported here,
    after the ompi-server address is in the environment."""
    import mpi4py

    mpi4py.rc.finalize = False
    server, uri = _start_ompi_server(timeout_s) if rank == 0 else (None, "")
    joined = threading.Event()
    threading.Thread(target=_exit_unless, args=(joined, timeout_s, rank, size, server),
                     name="chainrule-rendezvous-watch", daemon=True).start()
    try:
        world = _join(rank, size, addr, port, timeout_s, server, uri)
    finally:
        joined.set()
    return world


def _exit_unless(joined: threading.Event, timeout_s: float, rank: int, size: int,
                 server: subprocess.Popen[str] | None) -> None:
    """End the process (and rank 0's ompi-server) when the ranks have not all joined within
    ``timeout_s``: MPI's Connect and Accept wait without a limit, so a rank that never arrives
    would hang the others."""
    if not joined.wait(timeout_s):
        sys.stderr.write(f"[rank {rank}] init_process_group: the {size} ranks did not all join "
                         f"within {timeout_s:g} s (one of them is missing, died or could not "
                         "connect); exiting\n")
        sys.stderr.flush()
        if server is not None:
            server.terminate()
        os._exit(1)


def _join(rank: int, size: int, addr: str, port: int, timeout_s: float,
          server: subprocess.Popen[str] | None, uri: str) -> Any:
    if rank == 0:
        os.environ["OMPI_MCA_pmix_server_uri"] = uri
        from chainrule.distributed.process_group import mpi

        MPI = mpi()
        mpi_port = MPI.Open_port()
        _serve(addr, port, {"uri": uri, "port": mpi_port}, size - 1, timeout_s)
        group = MPI.COMM_SELF
    else:
        where = _fetch(addr, port, rank, timeout_s)
        os.environ["OMPI_MCA_pmix_server_uri"] = where["uri"]
        from chainrule.distributed.process_group import mpi

        MPI = mpi()
        mpi_port = where["port"]
        inter = MPI.COMM_SELF.Connect(mpi_port)
        group = inter.Merge(True)
    while group.Get_size() < size:  # the ranks already joined accept the next one together
        group = group.Accept(mpi_port if rank == 0 else None, root=0).Merge(False)
    if rank == 0:
        MPI.Close_port(mpi_port)
    world = group.Split(0, rank)
    atexit.register(_leave, world, server)
    return world


def _leave(world: Any, server: subprocess.Popen[str] | None) -> None:
    """At exit: wait until every rank is done, then go without MPI_Finalize, which hangs
    between processes joined through ompi-server once one of them has gone."""
    world.Barrier()
    if server is not None:
        server.terminate()


def _start_ompi_server(timeout_s: float) -> tuple[subprocess.Popen[str], str]:
    exe = shutil.which("ompi-server")
    if exe is None:
        raise RuntimeError("init_process_group: processes started by torchrun join through "
                           "Open MPI's ompi-server, which is not installed (apt-get install "
                           "openmpi-bin); or start them with `chainrule run -n N script.py`")
    report = os.path.join(tempfile.mkdtemp(prefix="chainrule-ompi-server-"), "uri")
    server = subprocess.Popen([exe, "--no-daemonize", "-r", report],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + min(timeout_s, 60.0)
    while not (os.path.exists(report) and open(report).read().strip()):
        if server.poll() is not None or time.monotonic() > deadline:
            server.terminate()
            raise RuntimeError("init_process_group: ompi-server did not start: "
                               f"{server.communicate()[1].strip()[-500:]}")
        time.sleep(_RETRY_S)
    with open(report) as f:
        return server, f.read().strip()


def _serve(addr: str, port: int, message: dict[str, str], clients: int,
           timeout_s: float) -> None:
    """Answer ``clients`` connections on ``port`` with ``message``, from a daemon thread."""
    try:
        listener = socket.create_server(("", port), reuse_port=False)
    except OSError as e:
        raise RuntimeError(f"init_process_group: rank 0 cannot listen on MASTER_PORT={port} "
                           f"({e.strerror})") from e
    listener.settimeout(timeout_s)
    payload = (json.dumps(message) + "\n").encode()

    def answer() -> None:
        with listener:
            for _ in range(clients):
                try:
                    conn, _peer = listener.accept()
                except OSError:  # timed out: the missing ranks report it themselves
                    return
                with conn:
                    conn.sendall(payload)

    threading.Thread(target=answer, name="chainrule-rendezvous", daemon=True).start()


def _fetch(addr: str, port: int, rank: int, timeout_s: float) -> dict[str, str]:
    """The message rank 0 serves at ``addr:port``, retried until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((addr, port), timeout=timeout_s) as conn:
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            return json.loads(data)
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise TimeoutError(f"init_process_group: rank {rank} found no rank 0 at "
                                   f"MASTER_ADDR={addr} MASTER_PORT={port} within "
                                   f"{timeout_s:.0f} s") from None
            time.sleep(_RETRY_S)

"""Data-parallel training on real MPI jobs: ``chainrule run`` starts ``workers.py`` on 2 and 4
ranks of this machine (oversubscribed where there are fewer cores) and on 2 ranks in two network
namespaces joined by a veth pair, so that the bytes cross a network interface."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("mpi4py")
if shutil.which("mpirun") is None:
    pytest.skip("Open MPI's mpirun is not installed (apt-get install openmpi-bin "
                "libopenmpi-dev)", allow_module_level=True)

WORKERS = str(Path(__file__).with_name("workers.py"))
SRC = str(Path(__file__).parents[2] / "src")


def env(**extra: str) -> dict[str, str]:
    e = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
             OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
             OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    e.update(extra)
    return e


def launch(n: int, *checks: str, timeout: float = 240, mpi_args: tuple[str, ...] = (),
           **extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """``chainrule run -n n workers.py checks…``; returns the finished process and seconds."""
    cmd = [sys.executable, "-m", "chainrule.cli", "run", "-n", str(n),
           *(f"--mpi-arg={a}" for a in ("--oversubscribe", *mpi_args)), WORKERS, *checks]
    start = time.monotonic()
    done = subprocess.run(cmd, env=env(**extra), capture_output=True, text=True,
                          timeout=timeout)
    return done, time.monotonic() - start


def passed(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-4000:]}"
    return [line[3:] for line in done.stdout.splitlines() if line.startswith("OK ")]


EQUIVALENCE = [f"equivalence {m} {o} accumulate={a}" for m in ("mlp", "convnet", "lstm", "syncbn")
               for o in ("sgd", "adam") for a in ((1,) if m == "syncbn" else (1, 2))]


CHECKS = ("collectives", "ddp_features", "buckets", "sampler_loader", "fit", "trainer_fit",
          "resume", "equivalence")


def test_two_ranks_everything():
    done, _ = launch(2, *CHECKS)
    got = passed(done)
    assert got[:7] == ["collectives", "ddp-features", "buckets", "sampler-loader", "fit",
                       "trainer-fit", "resume"]
    assert [g.rsplit(" ", 1)[0] for g in got[7:]] == EQUIVALENCE
    # Only rank 0 prints fit's progress: 3 epochs in the run on N ranks + 3 in its reference.
    assert done.stdout.count("Epoch 3/3") == 2


def test_four_ranks_everything():
    done, _ = launch(4, *CHECKS)
    got = passed(done)
    assert len(got) == 7 + len(EQUIVALENCE)


def test_one_rank_leaves_the_gradients_as_they_are():
    done, _ = launch(1, "one_rank")
    assert passed(done) == ["one-rank"]


def test_a_rank_that_raises_stops_the_job():
    done, seconds = launch(2, "raise", timeout=120)
    assert done.returncode != 0
    assert "rank 1 fails on purpose" in done.stderr
    assert "[rank 1] uncaught exception; aborting all 2 ranks" in done.stderr
    assert seconds < 60


def test_a_rank_that_dies_stops_the_job():
    done, seconds = launch(2, "die", timeout=120)
    assert done.returncode != 0
    assert "exited on signal 9" in done.stderr
    assert seconds < 60


def test_a_missing_rank_is_reported_after_the_timeout():
    done, seconds = launch(2, "missing", timeout=120, CHECKS_TIMEOUT="3")
    assert done.returncode != 0
    assert ("all_reduce: rank 0 of 2 waited 3 s for the other ranks; one of them is missing"
            in done.stderr)
    assert seconds < 30  # not the 60 s that rank 1 sleeps


def test_a_missing_rank_at_a_bucket_run_on_the_training_thread_is_reported():
    # That blocking call cannot be interrupted: the communication thread reports it and
    # aborts the job.
    done, seconds = launch(2, "missing_bucket", timeout=120, CHECKS_TIMEOUT="3")
    assert done.returncode != 0
    assert ("[rank 0] DistributedError: DistributedDataParallel gradient all_reduce: rank 0 of "
            "2 waited 3 s for the other ranks; one of them is missing" in done.stderr)
    assert seconds < 30


# ---- two network namespaces -------------------------------------------------------------------
NETNS = ("crtest-a", "crtest-b")
ADDRS = ("10.213.7.1", "10.213.7.2")


@pytest.fixture
def namespaces(tmp_path: Path):
    """Two namespaces joined by a veth pair; skips where this runner may not create them."""
    ip = shutil.which("ip")
    if ip is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("creating network namespaces needs root and iproute2's `ip`")
    pid = os.getpid() % 100000
    ns = (f"{NETNS[0]}{pid}", f"{NETNS[1]}{pid}")
    links = (f"cra{pid}", f"crb{pid}")
    made = subprocess.run([ip, "netns", "add", ns[0]], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"this runner may not create network namespaces: {made.stderr.strip()}")
    try:
        for cmd in ([ip, "netns", "add", ns[1]],
                    [ip, "link", "add", links[0], "type", "veth", "peer", "name", links[1]],
                    *([ip, "link", "set", links[i], "netns", ns[i]] for i in (0, 1)),
                    *([ip, "-n", ns[i], "addr", "add", f"{ADDRS[i]}/24", "dev", links[i]]
                      for i in (0, 1)),
                    *([ip, "-n", ns[i], "link", "set", dev, "up"]
                      for i in (0, 1) for dev in (links[i], "lo"))):
            subprocess.run(cmd, check=True, capture_output=True)
        agent = tmp_path / "netns-agent"  # mpirun's "ssh": run in the host address's namespace
        agent.write_text(f"#!/bin/sh\nhost=$1; shift\ncase $host in {ADDRS[1]}) ns={ns[1]};; "
                         f"*) ns={ns[0]};; esac\nexec {ip} netns exec $ns sh -c \"$*\"\n")
        agent.chmod(0o755)
        hosts = tmp_path / "hosts"
        hosts.write_text("".join(f"{a} slots=1\n" for a in ADDRS))
        yield ip, ns, links, agent, hosts
    finally:
        for name in ns:
            subprocess.run([ip, "netns", "del", name], capture_output=True)


def rx_bytes(ip: str, ns: str, link: str) -> int:
    out = subprocess.run([ip, "netns", "exec", ns, "cat", f"/sys/class/net/{link}/statistics/"
                          "rx_bytes"], capture_output=True, text=True, check=True).stdout
    return int(out)


def test_two_ranks_in_two_network_namespaces(namespaces):
    ip, ns, links, agent, hosts = namespaces
    before = rx_bytes(ip, ns[1], links[1])
    subnet = ADDRS[0].rsplit(".", 1)[0] + ".0/24"
    cmd = ["ip", "netns", "exec", ns[0], sys.executable, "-m", "chainrule.cli", "run", "-n", "2",
           "--hostfile", str(hosts), "--mpi-arg=--mca", "--mpi-arg=plm_rsh_agent",
           f"--mpi-arg={agent}", "--mpi-arg=--mca", "--mpi-arg=btl", "--mpi-arg=tcp,self",
           *(f"--mpi-arg={a}" for a in ("--mca", "btl_tcp_if_include", subnet,
                                        "--mca", "oob_tcp_if_include", subnet)),
           WORKERS, "collectives", "equivalence=convnet"]
    done = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=240)
    got = passed(done)
    assert got[0] == "collectives" and len(got) == 5
    # 20 steps × 4 runs of the ConvNet's 0.6 M float64 gradients crossed the veth pair.
    assert rx_bytes(ip, ns[1], links[1]) - before > 20 * 4 * 600_000 * 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_processes_started_with_torchrun_variables_join_over_mpi():
    """A job script's way: each process started alone with RANK / WORLD_SIZE / MASTER_ADDR /
    MASTER_PORT, in an order other than their ranks."""
    port = str(free_port())
    procs = [subprocess.Popen([sys.executable, WORKERS, "collectives", "ddp_features"],
                              env=env(RANK=str(r), WORLD_SIZE="3", MASTER_ADDR="127.0.0.1",
                                      MASTER_PORT=port, CHECKS_TIMEOUT="200"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in (2, 0, 1)]
    try:
        outs = [p.communicate(timeout=300) for p in procs]
    finally:  # (a failed join leaves no process behind)
        for p in procs:
            p.kill()
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, f"exit {p.returncode}\n{out}\n{err[-3000:]}"
    assert outs[1][0].split() == ["OK", "collectives", "OK", "ddp-features"]


def test_ranks_that_wait_for_a_missing_one_at_the_join_exit_within_the_timeout():
    """Two of three torchrun-style ranks start: they connect to each other, then wait in MPI's
    Accept (which has no limit) for the third; the join gives up after the timeout."""
    port = str(free_port())
    procs = [subprocess.Popen([sys.executable, WORKERS, "collectives"],
                              env=env(RANK=str(r), WORLD_SIZE="3", MASTER_ADDR="127.0.0.1",
                                      MASTER_PORT=port, CHECKS_TIMEOUT="15"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in (0, 1)]
    start = time.monotonic()
    try:
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert time.monotonic() - start < 90
    for r, (p, (_, err)) in enumerate(zip(procs, outs)):
        assert p.returncode != 0
        assert f"[rank {r}] init_process_group: the 3 ranks did not all join within 15 s" in err


def test_torchrun_starts_a_data_parallel_job():
    pytest.importorskip("torch")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
           "--master-port", str(free_port()), WORKERS, "collectives", "equivalence=mlp"]
    done = subprocess.run(cmd, env=env(CHECKS_TIMEOUT="200"), capture_output=True, text=True,
                          timeout=300)
    got = passed(done)
    assert got[0] == "collectives" and len(got) == 5
    assert all(line.startswith("equivalence mlp") for line in got[1:])

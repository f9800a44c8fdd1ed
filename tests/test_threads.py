"""Intra-op threads (``chainrule.threads``): ``split`` covers its range once in pieces run on
several threads, errors reach the caller, and ``get/set_num_threads`` behave as PyTorch's."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule import threads


@pytest.fixture
def three(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "_count", 3)


@pytest.mark.parametrize("n, grain", [(10, 1), (7, 1), (2, 1), (100, 40), (0, 1)])
def test_split_covers_the_range_once_in_one_piece_per_thread(three: None, n: int,
                                                              grain: int) -> None:
    seen = np.zeros(n, int)
    pieces: list[tuple[int, int, int]] = []

    def body(lo: int, hi: int) -> None:
        seen[lo:hi] += 1
        pieces.append((lo, hi, threading.get_ident()))

    threads.split(body, n, grain)
    assert (seen == 1).all()
    assert len(pieces) == max(1, min(3, n // grain))
    assert all(hi - lo >= min(grain, n) for lo, hi, _ in pieces)
    assert len({ident for *_, ident in pieces}) == len(pieces)  # each on its own thread
    assert threading.get_ident() in {ident for *_, ident in pieces}  # the caller takes one


def test_an_error_in_a_worker_reaches_the_caller_after_every_piece_ended(three: None) -> None:
    ended = []

    def body(lo: int, hi: int) -> None:
        if lo > 0 and hi == 9:
            raise ValueError(f"piece {lo}:{hi}")
        ended.append(lo)

    with pytest.raises(ValueError, match="piece 6:9"):
        threads.split(body, 9)
    assert sorted(ended) == [0, 3]
    threads.split(lambda lo, hi: ended.append(lo), 9)  # the workers still serve
    assert sorted(ended) == [0, 0, 3, 3, 6]


def test_a_split_inside_a_piece_runs_on_that_thread(three: None) -> None:
    inner: list[set[int]] = []

    def body(lo: int, hi: int) -> None:
        ids: set[int] = set()
        threads.split(lambda a, b: ids.add(threading.get_ident()), 6)
        inner.append(ids)

    threads.split(body, 3)
    assert len(inner) == 3 and all(len(ids) == 1 for ids in inner)


def test_one_thread_runs_everything_on_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "_count", 1)
    ids: list[int] = []
    threads.split(lambda lo, hi: ids.append(threading.get_ident()), 100)
    assert ids == [threading.get_ident()]


def test_set_num_threads_as_pytorch() -> None:
    before = cr.get_num_threads()
    try:
        cr.set_num_threads(1)
        assert cr.get_num_threads() == 1
        if threads._blas is not None:
            assert threads._blas_call("get_num_threads") == 1  # BLAS follows
        cr.set_num_threads(2)
        assert cr.get_num_threads() == 2
    finally:
        cr.set_num_threads(before)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="set_num_threads"):
            cr.set_num_threads(bad)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_split_works_in_a_forked_child(three: None) -> None:
    threads.split(lambda lo, hi: None, 9)  # the parent's workers exist
    code = ("import os, sys, threading; from chainrule import threads; threads._count = 3;"
            "threads.split(lambda a, b: None, 9); pid = os.fork()\n"
            "if pid == 0:\n"
            "    ids = set(); threads.split(lambda a, b: ids.add(threading.get_ident()), 9)\n"
            "    os._exit(0 if len(ids) == 3 else 1)\n"
            "sys.exit(os.waitpid(pid, 0)[1])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(threads._blas is None, reason="NumPy's BLAS is not OpenBLAS")
@pytest.mark.parametrize("env, want", [({}, threads._SPIN), ({"OPENBLAS_THREAD_TIMEOUT": "7"}, 7)])
def test_openblas_workers_spin_briefly_unless_the_user_chose(env: dict[str, str],
                                                             want: int) -> None:
    code = ("import chainrule, os; from chainrule import threads;"
            "print(threads._blas.openblas_thread_timeout(),"
            " os.environ.get('OPENBLAS_THREAD_TIMEOUT'))")
    environ = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**environ, **env}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(want), env.get("OPENBLAS_THREAD_TIMEOUT", "None")]

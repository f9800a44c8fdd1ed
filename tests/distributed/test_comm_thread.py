"""The communication thread without MPI (a stand-in communicator): calls run in order, the
group is idle once they have, and a call the training thread runs itself is watched."""

import threading
import time
from datetime import timedelta

import pytest

from chainrule.distributed.comm_thread import DistributedError
from chainrule.distributed.process_group import _Group


class FakeComm:
    """Rank 0 of 2; ``Abort`` records instead of ending the process."""

    def __init__(self) -> None:
        self.aborted = threading.Event()

    def Get_rank(self) -> int:
        return 0

    def Get_size(self) -> int:
        return 2

    def Abort(self, code: int) -> None:
        self.aborted.set()


@pytest.fixture
def group():
    g = _Group(FakeComm(), timedelta(seconds=0.2))
    yield g
    g.thread.stop()


def test_calls_run_in_order_and_the_group_is_idle_after_them(group):
    assert group.idle()
    release, order = threading.Event(), []
    first = group.submit(lambda comm: (release.wait(10), order.append(1)))
    second = group.submit(lambda comm: order.append(2) or "done")
    assert not group.idle()
    release.set()
    assert group.wait(second, "all_reduce") == "done"
    assert first.is_completed() and group.idle() and order == [1, 2]


def test_a_call_run_here_that_outlives_the_timeout_aborts_the_job(group, capsys):
    def stuck(comm: FakeComm) -> None:  # as a rank waiting inside MPI for a missing one
        comm.aborted.wait(10)

    start = time.monotonic()
    group.run_here(stuck, "DistributedDataParallel gradient all_reduce")
    assert group.comm.aborted.is_set() and 0.2 < time.monotonic() - start < 5
    assert ("[rank 0] DistributedError: DistributedDataParallel gradient all_reduce: rank 0 of 2 "
            "waited 0.2 s for the other ranks; one of them is missing") in capsys.readouterr().err


def test_calls_run_here_each_within_the_timeout_are_not_reported(group):
    start = time.monotonic()
    while time.monotonic() - start < 0.8:  # four timeouts of calls, none stuck
        group.run_here(lambda comm: time.sleep(0.02), "all_reduce")
    time.sleep(0.3)  # idle, not in a call: nothing to report either
    assert not group.comm.aborted.is_set()


def test_an_error_in_a_call_run_here_names_the_operation(group):
    def fail(comm: FakeComm) -> None:
        raise RuntimeError("MPI_ERR_TRUNCATE: message truncated")

    with pytest.raises(DistributedError, match="all_reduce: MPI_ERR_TRUNCATE"):
        group.run_here(fail, "all_reduce")
    assert group.thread.here is None

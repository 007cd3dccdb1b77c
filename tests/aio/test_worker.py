"""The thread boundary itself: ordering, delivery, skipping, shielding, shutdown."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import TypeVar

import anyio
import pytest

from informix_aio.aio._delivery import _registry as _completions
from informix_aio.aio._sched import (
    AFFINITY_ENV,
    SCHED_ENV,
    CpuFollower,
    batch_policy,
    cpu_reader,
)
from informix_aio.aio._worker import Worker
from informix_aio.errors import CommandTimeout, InterfaceError

pytestmark = pytest.mark.anyio

T = TypeVar("T")


async def test_jobs_run_on_one_thread_in_order_and_return_results() -> None:
    w = Worker()
    try:
        seen: list[tuple[int, str]] = []

        def job(i: int) -> int:
            seen.append((i, threading.current_thread().name))
            return i * 2

        results = [await w.run(job, i) for i in range(5)]
        assert results == [0, 2, 4, 6, 8]
        assert [i for i, _ in seen] == list(range(5))
        assert {name for _, name in seen} == {w.thread.name}
        assert w.thread is not threading.current_thread()
    finally:
        w.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SCHED_BATCH is Linux's")
async def test_worker_threads_run_under_sched_batch_so_a_wakeup_never_preempts_the_loop() -> None:
    w = Worker()
    try:
        assert await w.run(os.sched_getscheduler, 0) == os.SCHED_BATCH
        assert os.sched_getscheduler(0) != os.SCHED_BATCH  # the loop's thread is untouched
    finally:
        w.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SCHED_BATCH is Linux's")
async def test_worker_sched_normal_in_the_environment_keeps_the_default_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SCHED_ENV, "normal")
    w = Worker()
    try:
        assert await w.run(os.sched_getscheduler, 0) == os.SCHED_OTHER
    finally:
        w.stop()


@pytest.mark.skipif(cpu_reader() is None, reason="cannot read or pin CPUs here")
async def test_worker_moves_to_the_cpu_its_loop_queues_jobs_from() -> None:
    everywhere = os.sched_getaffinity(0)
    w = Worker()  # made while the loop may run anywhere: the worker may too
    cpu = min(everywhere)
    os.sched_setaffinity(0, {cpu})  # the test holds the loop still, so the result is certain
    try:
        pinned = [await w.run(os.sched_getaffinity, 0) for _ in range(5)]
        assert pinned[0] == everywhere  # the first job: the loop was seen once, not twice
        assert pinned[2:] == [{cpu}] * 3
        assert w.loop_cpu == cpu
        assert os.sched_getaffinity(0) == {cpu}  # the loop's thread: only what the test set
    finally:
        os.sched_setaffinity(0, everywhere)
        w.stop()


def _in_a_thread(fn: Callable[[], T]) -> T:
    out: list[T] = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


two_cpus = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs two CPUs to pin to",
)


@two_cpus
def test_a_follower_pins_once_the_loop_queued_twice_from_one_cpu() -> None:
    a, b = sorted(os.sched_getaffinity(0))[:2]

    def run() -> list[set[int]]:
        f = CpuFollower()
        out = []
        for cpu in (a, a, b, b):
            f.follow(cpu)
            out.append(os.sched_getaffinity(0))
        return out

    everywhere = os.sched_getaffinity(0)
    assert _in_a_thread(run) == [everywhere, {a}, {a}, {b}]


@two_cpus
def test_a_follower_stops_chasing_a_loop_that_moves_between_most_jobs() -> None:
    a, b = sorted(os.sched_getaffinity(0))[:2]

    def run() -> tuple[set[int], set[int]]:
        f = CpuFollower()
        f.follow(a)
        f.follow(a)
        pinned = os.sched_getaffinity(0)
        for cpu in (b, a, b, a, b, a):  # a loop that wakes up on whichever CPU is free
            f.follow(cpu)
        return pinned, os.sched_getaffinity(0)

    assert _in_a_thread(run) == ({a}, os.sched_getaffinity(0))


@two_cpus
def test_a_follower_keeps_following_a_busy_loop_however_often_it_moves() -> None:
    # Ten pooled workers see the loop move now and then; resting unpinned there cost half the
    # throughput. Only the moves of a loop with nothing else in flight make a worker rest.
    a, b = sorted(os.sched_getaffinity(0))[:2]

    def run() -> tuple[set[int], set[int]]:
        f = CpuFollower()
        f.follow(a, False)
        f.follow(a, False)
        for cpu in (b, a, b, a, b, a):
            f.follow(cpu, False)
        kept = os.sched_getaffinity(0)
        f.follow(b, False)
        f.follow(b, False)
        return kept, os.sched_getaffinity(0)

    assert _in_a_thread(run) == ({a}, {b})


@two_cpus
def test_a_resting_follower_follows_again_once_the_loop_is_busy() -> None:
    a, b = sorted(os.sched_getaffinity(0))[:2]

    def run() -> tuple[set[int], set[int]]:
        f = CpuFollower()
        f.follow(a)
        f.follow(a)
        for _ in range(20):  # alone, and moving at every job: unpins and rests
            f.follow(b)
            f.follow(a)
        resting = os.sched_getaffinity(0)
        f.follow(b, False)
        f.follow(b, False)
        return resting, os.sched_getaffinity(0)

    assert _in_a_thread(run) == (os.sched_getaffinity(0), {b})


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_on_trio_every_job_counts_as_queued_alone() -> None:
    # Nothing is counted there, so a worker keeps the rule made for one sequential connection.
    w, other = Worker(), Worker()
    gate = threading.Event()
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(other.run, gate.wait)
            await anyio.sleep(0.01)
            await w.run(lambda: None)  # queued while other's job is in flight
            assert w.loop_alone
            gate.set()
    finally:
        gate.set()
        w.stop()
        other.stop()


@pytest.mark.parametrize(
    "anyio_backend",
    [("asyncio", {}), ("asyncio", {"use_uvloop": True})],
    ids=["asyncio", "uvloop"],
)
async def test_the_loop_counts_its_jobs_in_flight_and_tells_the_worker_when_one_is_alone() -> None:
    w, other = Worker(), Worker()
    counts = _completions[asyncio.get_running_loop()]

    def in_flight() -> int:  # read through calls: mypy would narrow the attributes
        return counts.in_flight

    def alone(worker: Worker) -> bool:
        return worker.loop_alone

    gate = threading.Event()
    try:
        assert in_flight() == 0
        await w.run(lambda: None)
        assert alone(w) and in_flight() == 0
        async with anyio.create_task_group() as tg:
            tg.start_soon(other.run, gate.wait)
            await anyio.sleep(0.01)
            assert in_flight() == 1
            await w.run(lambda: None)
            assert not alone(w)  # queued while other's job was in flight
            with anyio.move_on_after(0.01):  # queued behind the gate, then abandoned
                await other.run(lambda: None)
            gate.set()
        await other.run(lambda: None)  # the skipped job was uncounted too
        assert in_flight() == 0
        await other.run(lambda: None)  # (queued now, surely after that uncounting)
        assert alone(other)
        w.submit(lambda: None)  # nobody waits for it: not counted
        await w.run(lambda: None)
        assert in_flight() == 0
    finally:
        gate.set()
        w.stop()
        other.stop()


@pytest.mark.skipif(cpu_reader() is None, reason="cannot read or pin CPUs here")
async def test_worker_affinity_any_in_the_environment_leaves_the_worker_on_every_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(AFFINITY_ENV, "any")
    w = Worker()
    try:
        assert await w.run(os.sched_getaffinity, 0) == os.sched_getaffinity(0)
        assert w.loop_cpu == -1
    finally:
        w.stop()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_a_cpu_that_cannot_be_pinned_stops_the_following_and_restores_the_thread() -> None:
    def run() -> tuple[bool, set[int]]:
        follower = CpuFollower()
        follower.follow(100_000)
        follower.follow(100_000)  # no such CPU: sched_setaffinity fails
        return follower.enabled, os.sched_getaffinity(0)

    assert _in_a_thread(run) == (False, os.sched_getaffinity(0))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread policies are Linux's")
def test_a_worker_thread_under_another_policy_keeps_it() -> None:
    # A real-time (or idle) application keeps its workers' policy: only the default is lowered.
    def run() -> tuple[bool, int]:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # allowed without privilege
        return batch_policy(), os.sched_getscheduler(0)

    assert _in_a_thread(run) == (False, os.SCHED_IDLE)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_a_follower_that_fails_unexpectedly_stops_following_without_raising(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(self: CpuFollower, cpu: int) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(CpuFollower, "_pin", fail)
    f = CpuFollower()
    f.follow(0)
    f.follow(0)  # pins: raises inside, is swallowed
    assert not f.enabled


@pytest.mark.parametrize("broken", ["batch_policy", "pinning"])
async def test_a_failing_placement_never_kills_the_worker(
    broken: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object) -> None:
        raise RuntimeError("placement failed")

    if broken == "pinning":  # an error CpuFollower.follow does not expect
        monkeypatch.setattr(CpuFollower, "_pin", fail)
    else:
        monkeypatch.setattr("informix_aio.aio._worker.batch_policy", fail)
    w = Worker()
    try:
        assert [await w.run(lambda i=i: i) for i in range(3)] == [0, 1, 2]
    finally:
        w.stop()


async def test_exceptions_cross_the_boundary_unchanged() -> None:
    w = Worker()
    try:
        empty: dict[str, int] = {}
        with pytest.raises(KeyError, match="boom"):
            await w.run(lambda: empty["boom"])
        assert await w.run(lambda: "still works") == "still works"
    finally:
        w.stop()


async def test_a_job_whose_caller_left_before_it_started_is_skipped() -> None:
    w = Worker()
    ran: list[str] = []
    gate = threading.Event()
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(w.run, gate.wait)  # occupies the worker
            await anyio.sleep(0.01)
            with anyio.move_on_after(0.01):
                await w.run(ran.append, "late")  # queued, then abandoned
            gate.set()
        await w.run(lambda: None)
        assert ran == []
    finally:
        gate.set()
        w.stop()


async def test_timeout_raises_at_once_and_calls_the_cancel_hook() -> None:
    w = Worker()
    cancelled: list[int] = []
    try:
        start = time.monotonic()
        with pytest.raises(CommandTimeout):
            await w.run(time.sleep, 0.5, timeout=0.05, on_cancel=_record(cancelled))
        assert time.monotonic() - start < 0.4
        assert len(cancelled) == 1
    finally:
        w.stop()


async def test_shielded_job_finishes_before_the_cancellation_propagates() -> None:
    w = Worker()
    done: list[bool] = []
    try:

        def slow() -> None:
            time.sleep(0.2)
            done.append(True)

        with anyio.move_on_after(0.02) as scope:
            await w.run_shielded(slow)
        assert scope.cancelled_caught
        assert done == [True]
    finally:
        w.stop()


async def test_stopped_worker_refuses_jobs_and_its_thread_exits() -> None:
    w = Worker()
    await w.run(lambda: None)
    w.stop()
    w.stop()
    with pytest.raises(InterfaceError):
        await w.run(lambda: None)
    w.thread.join(timeout=2)
    assert not w.thread.is_alive()


async def test_background_job_errors_do_not_kill_the_worker() -> None:
    w = Worker()
    try:
        w.submit(lambda: 1 / 0)
        assert await w.run(lambda: 7) == 7
        assert w.idle
    finally:
        w.stop()


def test_finished_event_loops_are_not_kept_alive() -> None:
    refs: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def use_a_worker() -> None:
        w = Worker()
        await w.run(lambda: None)
        w.stop()
        w.thread.join()
        refs.append(weakref.ref(asyncio.get_running_loop()))

    for _ in range(3):
        asyncio.run(use_a_worker())
    gc.collect()
    assert all(r() is None for r in refs)
    assert all(r() is None or r() not in _completions for r in refs)


def _record(into: list[int]) -> Callable[[int, bool], bool]:
    """An ``on_cancel`` hook that records the job's sequence number (outside a transaction)."""

    def hook(seq: int, started: bool) -> bool:
        into.append(seq)
        return False

    return hook


def test_a_connection_from_an_earlier_trio_run_is_refused_before_anything_runs() -> None:
    trio = pytest.importorskip("trio")
    ran: list[int] = []

    async def open_worker() -> Worker:
        return Worker()

    w = trio.run(open_worker)
    try:

        async def use() -> None:
            await w.run(ran.append, 1)

        with pytest.raises(InterfaceError, match=r"another trio\.run"):
            trio.run(use)
        time.sleep(0.05)
        assert ran == []
    finally:
        w.stop()


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux and two CPUs",
)
def test_unpinning_restores_the_processs_current_cpus_not_those_seen_at_start() -> None:
    from informix_aio.aio._sched import CpuFollower

    everywhere = os.sched_getaffinity(0)
    a, b = sorted(everywhere)[:2]
    seen: list[set[int]] = []

    def worker() -> None:
        follower = CpuFollower()
        follower._pin(a)
        os.sched_setaffinity(os.getpid(), {b})  # an operator's `taskset -p` meanwhile
        follower._unpin()
        seen.append(os.sched_getaffinity(0))

    try:
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    finally:
        os.sched_setaffinity(os.getpid(), everywhere)
    assert seen == [{b}]

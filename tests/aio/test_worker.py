"""The thread boundary itself: ordering, delivery, skipping, shielding, shutdown."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
import time
import weakref

import anyio
import pytest

from informix_aio.aio._worker import SCHED_ENV, Worker, _completions
from informix_aio.errors import CommandTimeout, InterfaceError

pytestmark = pytest.mark.anyio


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
            await w.run(time.sleep, 0.5, timeout=0.05, on_cancel=cancelled.append)
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

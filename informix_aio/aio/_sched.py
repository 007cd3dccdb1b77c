"""Where and how the worker threads run (Linux; a no-op elsewhere).

A process's Python work is serialized by the GIL, and every call crosses it twice: the event
loop wakes a worker, the worker wakes the loop. Two measures keep those hand-offs cheap; each
touches only the library's own worker threads, never the application's:

- ``SCHED_BATCH`` (:func:`batch_policy`): a woken worker does not preempt the running thread.
  Its first act is to take the GIL, which the loop that woke it still holds, so preempting the
  loop only cost a context switch there and another back. Same nice level and CPU share; no
  privilege needed. ``INFORMIX_AIO_WORKER_SCHED=normal`` turns it off.
- The loop's CPU (:class:`CpuFollower`): a worker moves to the CPU its event loop queues jobs
  from. A GIL hand-off between threads on one CPU is a plain context switch; between CPUs it is
  a wake-up of another CPU (an interrupt, on a VM an exit to the hypervisor), and with ten busy
  workers each query hands the GIL around several times. The loop itself is left free to move;
  the workers follow it when it stays, and stop chasing it when it moves between most of the
  jobs it queued with nothing else in flight (one connection used sequentially: the loop sleeps
  while the job runs and wakes up on whichever CPU is free). A busy loop is always followed.
  The cost: work a driver does with the GIL released runs on the loop's CPU too, so CPU-heavy
  in-process drivers (SQLite with big queries, many at once) lose parallelism;
  ``INFORMIX_AIO_WORKER_AFFINITY=any`` turns it off.

Measured in scenario 2 of ``make bench`` (pool, 50 tasks, 10 connections) on the project's
2-vCPU VM: see benchmarks/results/NOTES.md.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Final

__all__ = ["AFFINITY_ENV", "SCHED_ENV", "CpuFollower", "batch_policy", "cpu_reader", "process_cpus"]

logger = logging.getLogger(__name__)

#: ``batch`` (the default) or ``normal``: the scheduling policy of the worker threads.
SCHED_ENV: Final = "INFORMIX_AIO_WORKER_SCHED"
#: ``loop`` (the default) or ``any``: whether the workers follow their event loop's CPU.
AFFINITY_ENV: Final = "INFORMIX_AIO_WORKER_AFFINITY"


_LINUX: Final = sys.platform.startswith("linux")  # per-thread policy and affinity are Linux's


def batch_policy() -> bool:
    """Put the calling (worker) thread under ``SCHED_BATCH``, unless ``$INFORMIX_AIO_WORKER_SCHED``
    is ``normal`` or the thread runs under another policy than the default one (a real-time
    application keeps its priority); return whether the policy was applied."""
    if not _LINUX or os.environ.get(SCHED_ENV, "batch").strip().lower() == "normal":
        return False
    try:
        if os.sched_getscheduler(0) != os.SCHED_OTHER:
            return False
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))  # 0: the calling thread
    except (AttributeError, OSError):  # no such policy, or a sandbox that forbids it
        return False
    return True


def _load_getcpu() -> Callable[[], int] | None:
    if not _LINUX:
        return None
    try:
        import ctypes

        # PyDLL: called with the GIL held, so reading the CPU (a vDSO call, tens of
        # nanoseconds) is not itself a GIL hand-off.
        fn = ctypes.PyDLL(None).sched_getcpu
        if len(os.sched_getaffinity(0)) < 2:
            return None  # one CPU: nothing to follow
    except (ImportError, AttributeError, OSError):
        return None
    fn.restype = ctypes.c_int
    fn.argtypes = []
    getcpu: Callable[[], int] = fn
    try:
        return getcpu if getcpu() >= 0 else None
    except OSError:
        return None


_GETCPU: Final = _load_getcpu()

# A worker follows its loop to a CPU once the loop queued two jobs in a row from it. When the
# loop moves between most of the jobs it queued alone (a decaying count of those moves reaches
# _RESTLESS: a move every second job or more often), the worker unpins and rests for _REST_JOBS
# jobs before it tries again. Only jobs queued alone count: a loop with nothing else in flight
# goes to sleep while the job runs, and the kernel wakes it up on whichever CPU is idle, so it
# moves whatever the worker does; a loop with other jobs in flight stays busy, and its rare moves
# are worth following (counting them too made ten pooled workers rest, unpinned, for half of
# their jobs: 5-7k instead of 11-12k queries/s on the project's VM).
_DECAY: Final = 0.75
_RESTLESS: Final = 2.0
_REST_JOBS: Final = 256


def cpu_reader() -> Callable[[], int] | None:
    """The function that tells which CPU the calling thread is on, or None when workers
    should not follow their loop (``$INFORMIX_AIO_WORKER_AFFINITY`` is ``any``, or the
    platform cannot tell or pin)."""
    if os.environ.get(AFFINITY_ENV, "loop").strip().lower() == "any":
        return None
    return _GETCPU


class CpuFollower:
    """Worker side: keep the calling thread on the CPU its event loop queues jobs from.

    Create it on the worker thread and call :meth:`follow` before each job. It pins (one
    ``sched_setaffinity`` call) once the loop queued two jobs in a row from a CPU other than the
    pinned one, unpins and rests when the loop moves between most jobs, and if pinning fails (a
    cpuset changed, a CPU went offline) gives the thread its original CPUs back and stops.
    """

    __slots__ = ("_cpu", "_last", "_moves", "_rest", "enabled")

    def __init__(self) -> None:
        self._cpu = -1  # the CPU this thread is pinned to; -1: not pinned
        self._last = -1  # the loop's CPU at the previous job
        self._moves = 0.0  # how often the loop moved between jobs lately (decaying)
        self._rest = 0  # jobs left before following again, after the loop kept moving
        self.enabled = True

    def follow(self, cpu: int, alone: bool = True) -> None:
        """Called before each job with the loop's CPU (negative: unknown) and whether the job
        was the only one the loop had in flight when it queued it (unknown: True). Never
        raises: a failure here would kill the worker and leave every caller of its connection
        waiting, so any error just stops the following."""
        if cpu < 0 or not self.enabled:
            return
        try:
            moved = cpu != self._last
            self._last = cpu
            self._moves = self._moves * _DECAY + (moved and alone)
            if self._rest:
                if alone:
                    self._rest -= 1
                else:  # a busy loop stays where it is: worth following again at once
                    self._rest, self._moves = 0, 0.0
            elif alone and self._moves >= _RESTLESS:
                # The loop keeps moving (it wakes up wherever a CPU is free, as with one
                # connection used sequentially): chasing it would migrate this thread every job.
                if self._cpu >= 0:
                    self._unpin()
                self._rest = _REST_JOBS
            elif not moved and cpu != self._cpu:
                self._pin(cpu)
        except Exception as exc:
            logger.debug("worker stops following its loop: %r", exc)
            self.enabled = False

    def _unpin(self) -> None:
        self._cpu = -1
        try:
            os.sched_setaffinity(0, process_cpus())
        except OSError:
            self.enabled = False

    def _pin(self, cpu: int) -> None:
        try:
            os.sched_setaffinity(0, {cpu})
        except OSError:
            self.enabled = False
            try:
                os.sched_setaffinity(0, process_cpus())
            except OSError:
                pass
            return
        self._cpu = cpu


def process_cpus() -> set[int]:
    """The CPUs the process may run on now: the main thread's current set (what ``taskset -p``
    changes), read at each unpin, so an operator's later change is kept, never undone by a
    mask a worker remembered from its start."""
    return os.sched_getaffinity(os.getpid())

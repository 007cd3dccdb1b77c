"""Shared machinery: alternating rounds, statistics, targets and the run's context.

Every scenario measures its alternatives in the same process run, interleaved round by round
(A B C, B C A, C A B, ...), so that a slow minute of the machine hits every alternative
alike. A scenario returns a :class:`ScenarioResult`: one :class:`Series` of per-round values
per alternative, and the :class:`Target` checks computed from their medians.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

__all__ = [
    "CONTEXT_ENV",
    "LOOPS",
    "REPO_ROOT",
    "Context",
    "ProcessCost",
    "ScenarioResult",
    "Series",
    "Stats",
    "Target",
    "alternate",
    "alternate_async",
    "loop_available",
    "machine_busy",
    "paired_ratios",
    "run_child",
    "run_on_loop",
    "summarize",
]

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Environment variable that hands the :class:`Context` to child processes (JSON).
CONTEXT_ENV = "INFORMIX_AIO_BENCH_CONTEXT"
#: Event loops the latency scenarios run on.
LOOPS: tuple[str, ...] = ("asyncio", "uvloop")


# -- statistics -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stats:
    """Summary of one alternative's per-round values."""

    median: float
    low: float
    high: float
    n: int

    @property
    def spread(self) -> float:
        """(max - min) / median: how much the rounds disagree (0.05 = 5 %)."""
        return (self.high - self.low) / self.median if self.median else 0.0


def summarize(values: Sequence[float]) -> Stats:
    """Median, min and max of ``values`` (NaN when there are none)."""
    if not values:
        nan = float("nan")
        return Stats(nan, nan, nan, 0)
    return Stats(statistics.median(values), min(values), max(values), len(values))


def paired_ratios(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """``a[i] / b[i]`` for the rounds both alternatives completed (rounds are paired)."""
    return [x / y for x, y in zip(a, b, strict=False) if y]


class ProcessCost:
    """CPU time and context switches of this process, and CPU time of the whole machine.

    ``with ProcessCost() as cost: ...`` then ``cost.per(n)``: per operation, microseconds of
    this process's CPU (user + system, every thread), its context switches (voluntary +
    involuntary), and microseconds of CPU the whole machine was busy (every process: the
    database server, the load generator ...; from ``/proc/stat`` through psutil).
    """

    def __enter__(self) -> ProcessCost:
        import psutil

        self._machine = psutil.cpu_times()
        self._start = resource.getrusage(resource.RUSAGE_SELF)
        return self

    def __exit__(self, *exc_info: object) -> None:
        import psutil

        end = resource.getrusage(resource.RUSAGE_SELF)
        machine = psutil.cpu_times()
        start = self._start
        self.cpu = (end.ru_utime - start.ru_utime) + (end.ru_stime - start.ru_stime)
        self.switches = (end.ru_nvcsw - start.ru_nvcsw) + (end.ru_nivcsw - start.ru_nivcsw)
        self.machine_cpu = machine_busy(machine) - machine_busy(self._machine)

    def per(self, n: int) -> dict[str, float]:
        """``cpu_us_per_op``, ``switches_per_op``, ``machine_cpu_us_per_op`` for ``n`` ops."""
        return {
            "cpu_us_per_op": self.cpu / n * 1e6,
            "switches_per_op": self.switches / n,
            "machine_cpu_us_per_op": self.machine_cpu / n * 1e6,
        }


def machine_busy(times: Any) -> float:
    """Seconds the machine's CPUs were busy, from ``psutil.cpu_times()`` (not idle/iowait)."""
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


# -- results -----------------------------------------------------------------------------------
@dataclass
class Series:
    """One alternative's measurements, one value per round.

    :param key: stable identifier (``ours_fetchval``), used by targets and the JSON.
    :param group: the sub-case it belongs to (``asyncio``, ``uvloop``, ``sqlite`` ...).
    :param extra: further per-round numbers (``p99_ms`` ...), summarized by median.
    """

    key: str
    label: str
    unit: str
    values: list[float]
    higher_is_better: bool
    group: str = ""
    extra: dict[str, list[float]] = field(default_factory=dict)

    @property
    def stats(self) -> Stats:
        """Median, min, max of :attr:`values`."""
        return summarize(self.values)

    def extra_median(self, name: str) -> float:
        """Median of one of the :attr:`extra` series (NaN when absent)."""
        return summarize(self.extra.get(name, [])).median

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``latest.json``."""
        st = self.stats
        return {
            "key": self.key,
            "label": self.label,
            "group": self.group,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "values": self.values,
            "median": st.median,
            "min": st.low,
            "max": st.high,
            "spread": st.spread,
            "extra": {
                k: {"values": v, "median": summarize(v).median} for k, v in self.extra.items()
            },
        }


@dataclass
class Target:
    """A goal of the issue, checked against this run's medians."""

    scenario: int
    name: str
    formula: str
    value: float
    op: Literal["<=", ">="]
    threshold: float
    unit: str = "x"
    spread: tuple[float, float] | None = None  #: min..max of the paired per-round ratios

    @property
    def passed(self) -> bool:
        """True when the value meets the threshold (a NaN value never does)."""
        if self.value != self.value:  # NaN
            return False
        return self.value <= self.threshold if self.op == "<=" else self.value >= self.threshold

    @property
    def status(self) -> str:
        """``ok`` or ``MISSED``."""
        return "ok" if self.passed else "MISSED"

    def describe(self) -> str:
        """One line for the console."""
        rng = ""
        if self.spread is not None:
            rng = f" (rounds {self.spread[0]:.2f}..{self.spread[1]:.2f})"
        return (
            f"[{self.status:>6}] S{self.scenario} {self.name}: {self.formula} = "
            f"{self.value:.3g} {self.unit}{rng}, target {self.op} {self.threshold:g} {self.unit}"
        )

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``latest.json``."""
        data = asdict(self)
        data["status"] = self.status
        data["passed"] = self.passed
        return data


@dataclass
class ScenarioResult:
    """What a scenario hands back to the runner."""

    number: int
    key: str
    title: str
    setup: str
    series: list[Series] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    #: cores' worth of CPU other processes of the machine used meanwhile (set by the runner)
    others_cores: float = 0.0

    def find(self, key: str, group: str = "") -> Series:
        """The series with this key (and group)."""
        for s in self.series:
            if s.key == key and s.group == group:
                return s
        raise KeyError(f"no series {key!r} in group {group!r}")

    def ratio_target(
        self,
        name: str,
        num: str,
        den: str | Sequence[str],
        op: Literal["<=", ">="],
        threshold: float,
        *,
        group: str = "",
        num_label: str | None = None,
        den_label: str | None = None,
    ) -> Target:
        """Add the target ``median(num) / median(sum of den) op threshold`` and return it.

        The spread is the min..max of the same ratio computed round by round.
        """
        dens = [den] if isinstance(den, str) else list(den)
        a = self.find(num, group).values
        b_series = [self.find(d, group).values for d in dens]
        rounds = min([len(a), *(len(v) for v in b_series)])
        b = [sum(v[i] for v in b_series) for i in range(rounds)]
        value = summarize(a).median / sum(summarize(v).median for v in b_series)
        pr = paired_ratios(a[:rounds], b)
        formula = f"{num_label or num} / {den_label or ' + '.join(dens)}"
        target = Target(
            self.number,
            name,
            formula,
            value,
            op,
            threshold,
            "x",
            (min(pr), max(pr)) if pr else None,
        )
        self.targets.append(target)
        return target

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``latest.json``."""
        return {
            "number": self.number,
            "key": self.key,
            "title": self.title,
            "setup": self.setup,
            "seconds": self.seconds,
            "other_processes_cores": self.others_cores,
            "error": self.error,
            "notes": self.notes,
            "series": [s.to_json() for s in self.series],
            "targets": [t.to_json() for t in self.targets],
        }


# -- the context -------------------------------------------------------------------------------
@dataclass
class Context:
    """What every scenario needs to reach the databases; JSON-serializable for children.

    :param pg: ``informix_aio.connect`` options of the private PostgreSQL.
    :param pg_dsn: the same, as the ODBC connection string raw pyodbc and aioodbc use, so that
        every alternative talks to the driver with identical settings.
    """

    pg: dict[str, Any]
    pg_dsn: str
    sqlite: dict[str, Any]
    sqlite_dsn: str
    workdir: str
    quick: bool = False
    rounds: int | None = None

    def scale(self, full: T, quick: T) -> T:
        """``full`` normally, ``quick`` under ``--quick``."""
        return quick if self.quick else full

    def n_rounds(self, full: int, quick: int) -> int:
        """Rounds for a scenario (``--rounds`` overrides both)."""
        if self.rounds is not None:
            return self.rounds
        return self.scale(full, quick)

    def to_env(self) -> dict[str, str]:
        """An environment for a child process that carries this context."""
        env = dict(os.environ)
        env[CONTEXT_ENV] = json.dumps(asdict(self))
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        return env

    @classmethod
    def from_env(cls) -> Context:
        """The context a parent handed down with :meth:`to_env`."""
        raw = os.environ.get(CONTEXT_ENV)
        if not raw:
            raise SystemExit(f"{CONTEXT_ENV} is not set: run this through benchmarks.run")
        return cls(**json.loads(raw))


# -- alternation -------------------------------------------------------------------------------
def _order(keys: list[str], round_no: int) -> list[str]:
    k = round_no % len(keys)
    return keys[k:] + keys[:k]


def alternate(
    steps: Mapping[str, Callable[[], float]], rounds: int, *, progress: bool = True
) -> dict[str, list[float]]:
    """Run each step once per round, rotating the order; collect their return values."""
    keys = list(steps)
    out: dict[str, list[float]] = {k: [] for k in keys}
    for r in range(rounds):
        for key in _order(keys, r):
            out[key].append(steps[key]())
        if progress:
            _progress(r, rounds)
    return out


async def alternate_async(
    steps: Mapping[str, Callable[[], Awaitable[float]]], rounds: int, *, progress: bool = True
) -> dict[str, list[float]]:
    """:func:`alternate` for coroutine steps."""
    keys = list(steps)
    out: dict[str, list[float]] = {k: [] for k in keys}
    for r in range(rounds):
        for key in _order(keys, r):
            out[key].append(await steps[key]())
        if progress:
            _progress(r, rounds)
    return out


def _progress(r: int, rounds: int) -> None:
    print(f"    round {r + 1}/{rounds} done", flush=True)


# -- event loops and children ------------------------------------------------------------------
def loop_available(name: str) -> bool:
    """True when the event loop ``name`` can be used here."""
    if name == "asyncio":
        return True
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def run_on_loop(name: str, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``main()`` on a fresh event loop of kind ``name`` (``asyncio`` or ``uvloop``)."""
    if name == "uvloop":
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())


def run_child(ctx: Context, module: str, *args: str, timeout: float = 300.0) -> dict[str, Any]:
    """Run ``python -m module args`` with the context; return the JSON of its last line."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=ctx.to_env(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"{module} {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"
        )
    data: dict[str, Any] = json.loads(lines[-1])
    return data

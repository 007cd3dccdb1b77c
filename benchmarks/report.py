"""Write the results: ``latest.md`` (for people), ``latest.json`` (for tools), ``latest.png``.

The chart has one panel per scenario: a bar per alternative at its median, a line over the
spread of the rounds (min..max), a dot at p99 where one was measured, and the alternatives of
this library in a colour of their own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from informix_aio._doctor._version import server_version

from .harness import ScenarioResult, Series, Target

__all__ = ["fmt", "write", "write_chart", "write_json", "write_markdown"]

OURS_COLOUR = "#1f77b4"
SEED_COLOUR = "#0b3d91"  #: the seed guide's form, the code users bring
OURS_OFF_COLOUR = "#9ecae1"  #: informix-aio with its worker scheduling measures switched off
OTHER_COLOUR = "#b0b0b0"
BASELINE_COLOUR = "#6b6b6b"


def fmt(value: float, unit: str = "") -> str:
    """A number rounded for reading: 3 significant digits, k/M for large ones."""
    if value != value:  # NaN
        return "n/a"
    if math.isinf(value):
        return "inf"
    a = abs(value)
    if a == 0:
        text = "0"
    elif a >= 1e6:
        text = f"{value / 1e6:.2f} M"
    elif a >= 1e4:
        text = f"{value / 1e3:.1f} k"
    elif a >= 100:
        text = f"{value:.0f}"
    elif a >= 10:
        text = f"{value:.1f}"
    elif a >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.2g}"
    return f"{text} {unit}".strip() if unit else text


def _is_ours(series: Series) -> bool:
    return series.key.startswith("ours")


def _is_baseline(series: Series) -> bool:
    return series.key.startswith(("raw", "hop", "threads", "ceiling", "constant"))


# -- markdown -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Forms:
    """One side-by-side table: the forms of a scenario (series keys and column titles), and
    the ratios (numerator, denominator) computed from their medians."""

    scenario: str
    title: str
    columns: tuple[tuple[str, str], ...]
    ratios: tuple[tuple[str, str, str], ...]  #: numerator, denominator, column title


#: The seed guide's form next to the shortcuts and the other libraries.
FORMS: tuple[_Forms, ...] = (
    _Forms(
        "pool",
        "Scenario 2, pool (queries/s, median)",
        (
            ("ours_seed", "seed form"),
            ("ours_lease", "connection() + fetchval"),
            ("ours_shortcut", "pool.fetchval"),
            ("aioodbc", "aioodbc pool"),
        ),
        (
            ("ours_seed", "ours_lease", "seed / fetchval"),
            ("ours_seed", "aioodbc", "seed / aioodbc"),
        ),
    ),
    _Forms(
        "pool",
        "Scenario 2, worker scheduling measures: defaults and switched off (queries/s, median)",
        (
            ("ours_seed", "seed form"),
            ("ours_seed_off", "seed form, off"),
            ("ours_lease", "connection() + fetchval"),
            ("ours_lease_off", "connection() + fetchval, off"),
        ),
        (
            ("ours_seed", "ours_seed_off", "seed: defaults / off"),
            ("ours_lease", "ours_lease_off", "fetchval: defaults / off"),
        ),
    ),
    _Forms(
        "fastapi",
        "Scenario 3, FastAPI (requests/s, median)",
        (
            ("ours_seed", "seed form: Depends(get_conn)"),
            ("ours", "Connection dependency"),
            ("ours_pool", "pool.fetchrow"),
            ("aioodbc", "aioodbc"),
            ("sync", "sync def route"),
        ),
        (("ours_seed", "aioodbc", "seed / aioodbc"), ("ours_seed", "sync", "seed / sync")),
    ),
)


def _median(res: ScenarioResult, key: str, group: str) -> float:
    try:
        return res.find(key, group).stats.median
    except KeyError:
        return float("nan")


def _forms_tables(results: Sequence[ScenarioResult]) -> list[str]:
    """The tables of :data:`FORMS` for the scenarios of this run (groups as rows)."""
    out: list[str] = []
    by_key = {r.key: r for r in results if not r.error}
    for forms in FORMS:
        res = by_key.get(forms.scenario)
        if res is None:
            continue
        groups = list(dict.fromkeys(s.group for s in res.series))
        groups = [
            g
            for g in groups
            if all(any(s.key == k and s.group == g for s in res.series) for k, _ in forms.columns)
        ]
        if not groups:
            continue
        titles = dict(forms.columns)
        head = ["case", *titles.values(), *(r[2] for r in forms.ratios)]
        out += ["", f"**{forms.title}**", "", "| " + " | ".join(head) + " |"]
        out.append("| --- |" + " ---: |" * (len(head) - 1))
        for g in groups:
            cells = [g or "-"] + [fmt(_median(res, k, g)) for k, _ in forms.columns]
            cells += [
                f"{_median(res, a, g) / _median(res, b, g):.2f} x" for a, b, _ in forms.ratios
            ]
            out.append("| " + " | ".join(cells) + " |")
    if out:
        out = [
            "",
            "## The seed guide's form next to the shortcuts",
            "",
            "The seed form is the code users bring: `async with pool.connection() as conn` (or "
            "the guide's `Depends(get_conn)` generator), `cur = await conn.cursor()`, `execute`, "
            "`fetchone`, the cursor never closed.",
            *out,
        ]
    return out


def _targets_table(targets: Sequence[Target]) -> list[str]:
    lines = [
        "| scenario | target | measured | goal | rounds | status |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for t in targets:
        rng = "" if t.spread is None else f"{t.spread[0]:.2f}..{t.spread[1]:.2f}"
        status = "ok" if t.passed else "**MISSED**"
        lines.append(
            f"| {t.scenario} | {t.name} (`{t.formula}`) | {t.value:.3g} {t.unit} | "
            f"{t.op} {t.threshold:g} {t.unit} | {rng} | {status} |"
        )
    return lines


def _series_table(res: ScenarioResult) -> list[str]:
    extras: list[str] = []
    for s in res.series:
        for name in s.extra:
            if name not in extras:
                extras.append(name)
    head = "| case | alternative | median | min | max | spread |" + "".join(
        f" {e} |" for e in extras
    )
    rule = "| --- | --- | ---: | ---: | ---: | ---: |" + " ---: |" * len(extras)
    lines = [head, rule]
    for s in res.series:
        st = s.stats
        name = f"**{s.label}**" if _is_ours(s) else s.label
        cells = [
            s.group or "-",
            name,
            fmt(st.median, s.unit),
            fmt(st.low),
            fmt(st.high),
            f"{st.spread * 100:.0f} %",
        ]
        cells += [fmt(s.extra_median(e)) if e in s.extra else "" for e in extras]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_markdown(path: Path, meta: dict[str, Any], results: Sequence[ScenarioResult]) -> None:
    """``latest.md``: run details, the targets, then one section per scenario."""
    targets = [t for r in results for t in r.targets]
    missed = sum(not t.passed for t in targets)
    out = [
        "# informix-aio benchmarks",
        "",
        f"Run `{meta['command']}` started {meta['started']}, took "
        f"{meta.get('duration_s', float('nan')):.0f} s"
        + (" (**--quick**: small sizes, not for comparison)" if meta.get("quick") else "")
        + ". PostgreSQL through psqlODBC is the reference backend (a private server started "
        "for the run); SQLite where it makes sense. Every alternative is measured in the same "
        "run, alternately, round after round; *median* is the median of the rounds, *spread* "
        "is (max - min) / median. Benchmarks are not tests: a missed target is reported, "
        "not failed.",
        "",
        "![benchmark results](latest.png)",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
    ]
    out += [f"| {k} | {v} |" for k, v in _machine(meta).items()]
    out += ["", f"## Targets ({len(targets) - missed}/{len(targets)} met, {missed} MISSED)", ""]
    out += _targets_table(targets)
    out += _forms_tables(results)
    for res in results:
        out += ["", f"## {res.number}. {res.title}", ""]
        if res.setup:
            out += [res.setup, ""]
        if res.error:
            out += ["The scenario could not run:", "", "```", res.error.strip(), "```"]
            continue
        out += _series_table(res)
        if res.targets:
            out += [""] + [
                f"- {t.name}: `{t.formula}` = {t.value:.3g} {t.unit} "
                f"(goal {t.op} {t.threshold:g}) **{t.status}**"
                for t in res.targets
            ]
        if res.notes:
            out += [""] + [f"- {n}" for n in res.notes]
        out += [
            "",
            f"_{res.seconds:.0f} s; other processes on the machine used "
            f"{res.others_cores:.2f} cores meanwhile_",
        ]
    middleware = meta.get("middleware")
    if middleware is not None:
        out += ["", "## CancelOnDisconnectMiddleware (benchmarks/middleware.py)", ""]
        if middleware.get("error"):
            out += ["It could not run:", "", "```", str(middleware["error"]).strip(), "```"]
        else:
            out += [
                "```",
                str(middleware.get("output", "")).rstrip(),
                "```",
                "",
                f"_{middleware.get('seconds', float('nan')):.0f} s_",
            ]
    path.write_text("\n".join(out) + "\n")


# -- json ---------------------------------------------------------------------------------------
def write_json(path: Path, meta: dict[str, Any], results: Sequence[ScenarioResult]) -> None:
    """``latest.json``: everything, including every round's value."""
    targets = [t for r in results for t in r.targets]
    data = {
        "meta": meta,
        "summary": {
            "targets": len(targets),
            "met": sum(t.passed for t in targets),
            "missed": [f"S{t.scenario} {t.name}" for t in targets if not t.passed],
        },
        "scenarios": [r.to_json() for r in results],
    }
    path.write_text(json.dumps(data, indent=2, default=str, allow_nan=True) + "\n")


# -- chart --------------------------------------------------------------------------------------
@dataclass
class _Bar:
    label: str
    value: float
    low: float
    high: float
    colour: str
    marker: float = float("nan")  #: p99, drawn as a tick


@dataclass
class _Panel:
    title: str
    subtitle: str
    bars: list[_Bar]
    log: bool = False


def _colour(series: Series) -> str:
    if series.key.endswith("_off"):
        return OURS_OFF_COLOUR
    if series.key == "ours_seed":
        return SEED_COLOUR
    if _is_ours(series):
        return OURS_COLOUR
    return BASELINE_COLOUR if _is_baseline(series) else OTHER_COLOUR


def _panels(res: ScenarioResult) -> list[_Panel]:
    """The main panel of a scenario, plus a latency panel when p50/p99 were recorded."""
    series = list(res.series)
    if res.key == "latency":  # the SQLite group is in the tables; the chart shows PostgreSQL
        series = [s for s in series if s.group != "sqlite"]
    if not series:
        return []
    met = sum(t.passed for t in res.targets)
    verdict = ""
    if res.targets:
        missed = len(res.targets) - met
        verdict = f"; {met}/{len(res.targets)} targets met" + (
            f" ({missed} MISSED)" if missed else ""
        )
    first = series[0]
    better = "higher" if first.higher_is_better else "lower"
    bars = []
    for s in series:
        st = s.stats
        label = f"{s.group}: {s.label}" if s.group else s.label
        marker = s.extra_median("p99_ms") if s.unit == "ms" else float("nan")
        bars.append(_Bar(label, st.median, st.low, st.high, _colour(s), marker))
    values = [b.value for b in bars if b.value > 0]
    wide = bool(values) and max(values) / min(values) > 50
    panels = [
        _Panel(
            f"{res.number}. {res.title}",
            f"{first.unit}, median, min..max; {better} is better{verdict}",
            bars,
            log=wide,
        )
    ]
    with_latency = [s for s in series if s.unit != "ms" and "p99_ms" in s.extra]
    if with_latency:
        panels.append(
            _Panel(
                f"{res.number}. {res.title}: latency",
                "ms: bar = p50, tick = p99 (medians over rounds); lower is better",
                [
                    _Bar(
                        f"{s.group}: {s.label}" if s.group else s.label,
                        s.extra_median("p50_ms"),
                        s.extra_median("p50_ms"),
                        s.extra_median("p50_ms"),
                        _colour(s),
                        s.extra_median("p99_ms"),
                    )
                    for s in with_latency
                ],
            )
        )
    return panels


def write_chart(path: Path, meta: dict[str, Any], results: Sequence[ScenarioResult]) -> None:
    """``latest.png``: horizontal bar panels, two per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    panels = [p for r in results if not r.error for p in _panels(r)]
    if not panels:
        return
    cols = 2 if len(panels) > 1 else 1
    rows = math.ceil(len(panels) / cols)
    heights = [
        0.3 * max(len(p.bars) for p in panels[i * cols : (i + 1) * cols]) + 1.4 for i in range(rows)
    ]
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(16, sum(heights)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        bars = panel.bars
        ys = list(range(len(bars)))[::-1]
        ax.barh(
            ys,
            [b.value for b in bars],
            xerr=[
                [max(0.0, b.value - b.low) for b in bars],
                [max(0.0, b.high - b.value) for b in bars],
            ],
            color=[b.colour for b in bars],
            capsize=2,
            height=0.7,
            error_kw={"elinewidth": 0.8},
        )
        for y, b in zip(ys, bars, strict=True):
            if b.marker == b.marker:  # not NaN
                ax.plot([b.marker], [y], marker="|", color="black", markersize=11, mew=1.5)
            end = max(v for v in (b.value, b.high, b.marker) if v == v)
            text = fmt(b.value) + (f" (p99 {fmt(b.marker)})" if b.marker == b.marker else "")
            ax.text(end, y, "  " + text, va="center", fontsize=6.5)
        if panel.log:
            ax.set_xscale("log")
        ax.set_xlim(right=ax.get_xlim()[1] * (3 if panel.log else 1.12))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt(v)))
        ax.set_yticks(ys)
        ax.set_yticklabels([b.label for b in bars], fontsize=7)
        ax.set_title(f"{panel.title}\n{panel.subtitle}", fontsize=8.5)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    machine = _machine(meta)
    fig.suptitle(
        f"informix-aio benchmarks: {machine.get('cores', '?')} cores {machine.get('cpu', '')}, "
        f"{machine.get('python', '')}, psqlODBC {machine.get('psqlODBC', '?')}, "
        f"PostgreSQL {machine.get('PostgreSQL', '?')}; {meta.get('started', '')}.\n"
        "Blue: informix-aio (dark: the seed guide's form; pale: scheduling measures off); "
        "dark grey: baselines; light grey: alternatives.",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.975))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _machine(meta: dict[str, Any]) -> dict[str, str]:
    """The machine table, with the PostgreSQL version as the server reports it (15.20, where
    psqlODBC's SQL_DBMS_VER, which benchmarks.run records, says 15.0.20)."""
    machine = dict(meta.get("machine", {}))
    if "PostgreSQL" in machine:
        machine["PostgreSQL"] = server_version("PostgreSQL", str(machine["PostgreSQL"]))
    return machine


def write(out_dir: Path, meta: dict[str, Any], results: Sequence[ScenarioResult]) -> list[Path]:
    """Write all three files into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js, png = out_dir / "latest.md", out_dir / "latest.json", out_dir / "latest.png"
    write_json(js, meta, results)
    write_markdown(md, meta, results)
    written = [md, js]
    try:
        write_chart(png, meta, results)
        written.append(png)
    except Exception as exc:  # the chart is a nicety; never lose the numbers over it
        print(f"could not draw the chart: {exc!r}")
    return written

"""KPI latency: random (region, period) questions to `dashboard.queries.kpis`, and the same in plain pandas.

Regions are sampled from every level of the regions table (city, districts, townships, communities,
grids) in turn, periods are 1 to 24 whole months inside the months that have events, all from a fixed
seed. The pandas pass answers the same questions from the input folder held in memory, is timed the
same way, and every answer is compared with kpis() key by key.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import reference
from bench.common import Section, percentiles

LEVELS = ("city", "district", "township", "community", "grid")
SEED = 20241
WARM_UP = 10
P95_TARGET_MS = 50.0
RATIO_TARGET = 100.0
MIN_PANDAS_QUERIES = 30
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Question:
    level: str
    region: str
    start: dt.date
    end: dt.date

    def as_json(self) -> dict:
        return {
            "level": self.level,
            "region": self.region,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
        }


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def questions(db: Path, count: int, seed: int = SEED) -> list[Question]:
    """`count` questions, levels in turn, regions and periods drawn from a seeded generator."""
    from dashboard.queries import cursor

    cur = cursor(db)
    try:
        regions = cur.execute("select level, code from regions order by code").fetchall()
        first, last = cur.execute("select min(reported_date), max(reported_date) from events").fetchall()[0]
    finally:
        cur.close()
    by_level: dict[str, list[str]] = {level: [] for level in LEVELS}
    for level, code in regions:
        by_level.setdefault(level, []).append(code)
    levels = [level for level in LEVELS if by_level[level]]
    if first is None:
        first = last = dt.date.today()
    first_month = dt.date(first.year, first.month, 1)
    months_with_data = (last.year - first.year) * 12 + last.month - first.month + 1
    rng = random.Random(seed)
    found = []
    for i in range(count):
        level = levels[i % len(levels)]
        months = min(rng.randint(1, 24), months_with_data)
        start = _add_months(first_month, rng.randint(0, months_with_data - months))
        end = min(_add_months(start, months) - dt.timedelta(days=1), last)
        found.append(Question(level, rng.choice(by_level[level]), start, end))
    return found


def _time_kpis(db: Path, asked: list[Question]) -> tuple[list[float], list[dict]]:
    from dashboard.queries import kpis

    timings, answers = [], []
    for q in asked:
        started = time.perf_counter()
        answer = kpis(db, q.region, q.start, q.end)
        timings.append((time.perf_counter() - started) * 1000)
        answers.append(answer)
    return timings, answers


def _summary(asked: list[Question], timings: list[float]) -> dict:
    stats = {"all": percentiles(timings)}
    for level in LEVELS:
        picked = [t for q, t in zip(asked, timings, strict=True) if q.level == level]
        if picked:
            stats[level] = percentiles(picked)
    return stats


def _level_name(level: str) -> str:
    return "all levels" if level == "all" else level


def _ms(value: float | None) -> str:
    return "—" if value is None else (f"{value:.1f}" if value < 100 else f"{value:,.0f}")


def _latency_row(section: Section, what: str, level: str, stats: dict) -> None:
    """One line per level: p50, p95 and max, the target on p95."""
    shown = f"p50 {_ms(stats['p50'])} · p95 {_ms(stats['p95'])} · max {_ms(stats['max'])} ms"
    name = f"{what} p95, {_level_name(level)} (n={stats['n']})"
    section.add(name, stats["p95"], "ms", P95_TARGET_MS, "<=", shown=shown)


def run(db: Path, input_dir: Path, count: int, pandas_budget_s: float) -> Section:
    section = Section("kpi")
    asked = questions(db, count)
    # Warm-up: open the connection and touch every table with questions outside the measured set.
    warm = questions(db, WARM_UP, seed=SEED + 1)
    _time_kpis(db, warm)
    timings, answers = _time_kpis(db, asked)
    stats = _summary(asked, timings)
    print(
        f"bench: {len(asked)} kpis() calls, p50 {_ms(stats['all']['p50'])} ms, "
        f"p95 {_ms(stats['all']['p95'])} ms",
        file=sys.stderr,
    )
    for level in (*LEVELS, "all"):
        if level in stats:
            _latency_row(section, "kpis()", level, stats[level])

    # ------------------------------------------------------------------ the same questions in pandas
    print("bench: loading the input folder into pandas ...", file=sys.stderr)
    started = time.perf_counter()
    tables = reference.load(input_dir)
    load_s = time.perf_counter() - started
    print(f"bench: loaded in {load_s:.1f} s; answering the questions in pandas ...", file=sys.stderr)
    pandas_timings: list[float] = []
    mismatches: list[dict] = []
    began = time.perf_counter()
    for q, answer in zip(asked, answers, strict=True):
        if len(pandas_timings) >= MIN_PANDAS_QUERIES and time.perf_counter() - began > pandas_budget_s:
            break
        started = time.perf_counter()
        theirs = reference.kpis(tables, q.region, q.start, q.end)
        pandas_timings.append((time.perf_counter() - started) * 1000)
        for key, ours, plain in reference.differences(answer, theirs, TOLERANCE):
            mismatches.append({"question": q.as_json(), "key": key, "kpis": ours, "pandas": plain})
    pandas_s = time.perf_counter() - began
    del tables
    gc.collect()
    checked = asked[: len(pandas_timings)]
    pandas_stats = _summary(checked, pandas_timings)
    kpis_on_checked = percentiles(timings[: len(pandas_timings)])
    ratio = pandas_stats["all"]["p50"] / kpis_on_checked["p50"] if pandas_timings else None
    subset = len(pandas_timings) < len(asked)
    note = f"first {len(checked)} of {len(asked)} questions" if subset else ""
    for level in (*LEVELS, "all"):
        if level in pandas_stats:
            p50 = pandas_stats[level]["p50"]
            n = pandas_stats[level]["n"]
            section.add(f"pandas, {_level_name(level)} (n={n})", p50, "ms", shown=f"p50 {_ms(p50)} ms")
    section.add("speed-up: pandas p50 / kpis() p50", ratio, "x", RATIO_TARGET, ">=", note=note)
    section.add(
        f"pandas answers ≠ kpis() answers ({len(checked)} questions)", len(mismatches), "count", 0, "<="
    )
    section.add("pandas: loading the input folder", load_s, "s")
    section.add(f"pandas: answering {len(checked)} questions", pandas_s, "s")
    if subset:
        section.notes.append(
            f"The pandas pass stopped after {len(checked)} of {len(asked)} questions because it took "
            f"more than {pandas_budget_s:.0f} s (--pandas-budget); the ratio compares medians over "
            "those questions (levels in turn, so every level is in it), and the cross-check covers them."
        )
    section.notes.append(
        f"{len(asked)} questions (seed {SEED}): levels in turn, regions drawn from the regions table, "
        f"periods of 1–24 whole months inside the months with events; {WARM_UP} other questions first "
        f"as a warm-up. Floats are equal within {TOLERANCE:g} (absolute, or relative for large sums)."
    )
    if mismatches:
        keys = sorted({m["key"] for m in mismatches})
        section.notes.append(
            f"{len(mismatches)} mismatching values, keys: {', '.join(keys)} (details in kpi.json)"
        )
    section.details = {
        "questions": len(asked),
        "seed": SEED,
        "kpis_ms": stats,
        "pandas_ms": pandas_stats,
        "pandas_questions": len(checked),
        "pandas_subset": subset,
        "pandas_seconds": pandas_s,
        "pandas_load_seconds": load_s,
        "kpis_ms_on_pandas_questions": kpis_on_checked,
        "speedup_p50": ratio,
        "mismatches": len(mismatches),
        "mismatch_examples": mismatches[:50],
        "slowest_kpis": [
            {**q.as_json(), "ms": t}
            for t, q in sorted(zip(timings, asked, strict=True), key=lambda p: -p[0])[:5]
        ],
    }
    return section

"""`python -m bench [--only data,kpi,browser,report,live,spark] [--scale 1.0] [--queries 200] [--rebuild]
[--spark-fractions 0.1,0.3,1]`.

Prints the figures with their targets and writes `<section>.json` and `summary.md` to the results
folder. Exit status 0 when every section ran, whether or not its targets were met; 1 when a section
crashed; 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from bench.common import REPO_ROOT, SECTIONS, Section, read_sections, text_table, write_section, write_summary


def _sections(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"sections are {', '.join(SECTIONS)}; not {', '.join(unknown) or text!r}"
        )
    return [n for n in SECTIONS if n in names]


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"should be above 0: {text}")
        return value

    return parse


def _fractions(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or any(not 0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(
            f"fractions of --scale, above 0 and at most 1, comma-separated: {text!r}"
        )
    return values


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description="Yiping 一屏: benchmarks with targets")
    p.add_argument(
        "--only",
        type=_sections,
        default=list(SECTIONS),
        help="comma-separated sections to run: data,kpi,browser,report,live,spark (default: all)",
    )
    p.add_argument(
        "--scale",
        type=_positive(float),
        default=1.0,
        help="demo scale of the benchmark database (1 = about 32 million residents)",
    )
    p.add_argument("--queries", type=_positive(int), default=200, help="random KPI questions (default 200)")
    p.add_argument(
        "--rebuild", action="store_true", help="build the database again even when it is up to date"
    )
    p.add_argument(
        "--work",
        type=Path,
        default=REPO_ROOT / "bench" / "work",
        help="where the database is built and kept (default bench/work)",
    )
    p.add_argument(
        "--results",
        type=Path,
        default=REPO_ROOT / "bench" / "results",
        help="where the JSON files and summary.md go (default bench/results)",
    )
    p.add_argument(
        "--pandas-budget",
        type=_positive(float),
        default=600.0,
        metavar="SECONDS",
        help="stop the pandas pass after this long, once it has answered 30 questions (default 600)",
    )
    p.add_argument(
        "--spark-fractions",
        type=_fractions,
        default=None,
        metavar="F,F,...",
        help="scales the spark section builds, as fractions of --scale (default 0.1,0.3,1; "
        "the smallest demo scale is always built too, for Spark's fixed cost)",
    )
    p.add_argument(
        "--changes",
        type=_positive(int),
        default=10,
        help="district changes on the overview (default 10; 6 on each analyst page)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    work, results_dir = args.work.resolve(), args.results.resolve()
    started = time.perf_counter()
    done: list[dict] = []
    crashed = False

    def record(section: Section) -> None:
        result = section.as_json()
        result["scale"] = args.scale
        write_section(results_dir, result)
        done.append(result)

    from bench import data

    # the Spark section writes and builds its own inputs: alone, it needs no benchmark database
    if set(args.only) - {"spark"}:
        try:
            data_section, build = data.run(work, args.scale, args.rebuild)
        except Exception:  # noqa: BLE001 - reported, then the exit status says so
            crashed = True
            failed = Section("data", status="error", notes=[_short_trace()])
            print(traceback.format_exc(), file=sys.stderr)
            record(failed)
            return _finish(results_dir, done, crashed, started)
        if "data" in args.only:
            record(data_section)
    db, input_dir = data.paths(work)["db"], data.paths(work)["input"]

    for name in args.only:
        if name == "data":
            continue
        print(f"bench: section {name} ...", file=sys.stderr)
        try:
            if name == "kpi":
                from bench import kpi

                section = kpi.run(db, input_dir, args.queries, args.pandas_budget)
            elif name == "browser":
                from bench import browser

                section = browser.run(db, work, changes=args.changes)
            elif name == "live":
                from bench import live

                section = live.run(db, input_dir, work)
            elif name == "spark":
                from bench import spark

                section = spark.run(work, args.scale, args.spark_fractions or spark.FRACTIONS)
            else:
                from bench import reports

                section = reports.run(db, work)
        except Exception:  # noqa: BLE001 - one section failing does not stop the others
            crashed = True
            print(traceback.format_exc(), file=sys.stderr)
            section = Section(name, status="error", notes=[_short_trace()])
        record(section)
    return _finish(results_dir, done, crashed, started)


def _short_trace() -> str:
    lines = traceback.format_exc().strip().splitlines()
    return "crashed: " + " | ".join(line.strip() for line in lines[-3:])


def _finish(results_dir: Path, done: list[dict], crashed: bool, started: float) -> int:
    print(text_table(done))
    for result in done:
        load = result.get("load_average_1m", {})
        print(
            f"  {result['section']}: load average (1 min) {load.get('start')} at start, {load.get('end')} at end"
        )
        for note in result["notes"]:
            print(f"  {result['section']}: {note}")
    write_summary(results_dir, read_sections(results_dir))
    print(f"bench: {time.perf_counter() - started:.0f} s in all; results in {results_dir}", file=sys.stderr)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())

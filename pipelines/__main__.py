"""Command line: `python -m pipelines demo|build|kpi|report ...` (exit 0 ok, 1 failed, 2 usage)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path


class UsageError(Exception):
    """Arguments that name nothing usable: exit 2."""


def _date(text: str) -> dt.date:
    try:
        if len(text) != 10 or text[4] != "-" or text[7] != "-":
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"不是 YYYY-MM-DD 格式的日期：{text}") from None


def _terminal_progress(message: str, fraction: float) -> None:
    if not sys.stderr.isatty():
        print(f"{fraction:4.0%} {message}", file=sys.stderr)
        return
    width = 30
    filled = int(round(fraction * width))
    print(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%} {message:<40}", end="", file=sys.stderr
    )
    if fraction >= 1:
        print(file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description="Yiping 一屏: data pipelines")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="write a synthetic input folder that follows the contract")
    demo.add_argument("--out", type=Path, required=True)
    demo.add_argument("--scale", type=float, default=0.01)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--end", type=_date, default=dt.date(2024, 12, 31))

    build = commands.add_parser("build", help="validate and load an input folder, publish the database")
    build.add_argument("--input", type=Path, required=True)
    build.add_argument("--db", type=Path, required=True)

    kpi = commands.add_parser("kpi", help="print the KPI object of a region and period as JSON")
    kpi.add_argument("--db", type=Path, required=True)
    kpi.add_argument("--region", required=True)
    kpi.add_argument("--from", dest="start", type=_date, required=True)
    kpi.add_argument("--to", dest="end", type=_date, required=True)
    kpi.add_argument("--year", type=int)

    report = commands.add_parser("report", help="write the report of a region and period: PDF, HTML or Excel")
    report.add_argument("--db", type=Path, required=True)
    report.add_argument("--region", required=True)
    report.add_argument("--from", dest="start", type=_date, required=True)
    report.add_argument("--to", dest="end", type=_date, required=True)
    report.add_argument("--year", type=int)
    report.add_argument("--out", type=Path, required=True, help="FILE.pdf, FILE.html or FILE.xlsx")
    report.add_argument("--lang", choices=("zh", "en"), default="zh")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "build":
            return _build(args)
        if args.command == "kpi":
            return _kpi(args)
        if args.command == "report":
            return _report(args)
    except UsageError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    return 2


def _demo(args: argparse.Namespace) -> int:
    from pipelines.demo import generate

    if args.scale <= 0:
        raise UsageError("--scale 应大于 0")
    counts = generate(args.out, scale=args.scale, seed=args.seed, end=args.end, progress=_terminal_progress)
    print(json.dumps(counts, ensure_ascii=False))
    return 0


def _build(args: argparse.Namespace) -> int:
    from pipelines.build import BuildError, build, describe_audit

    try:
        result = build(args.input, args.db, progress=_terminal_progress)
    except BuildError as exc:
        print(f"\n构建失败，已发布的数据库保持不变。\n{exc}", file=sys.stderr)
        return 1
    print(describe_audit(result.audit))
    rejected = sum(a.rows_rejected for a in result.audit)
    print(
        f"已发布 {result.db_path}（{result.seconds:.1f} 秒）；被拒绝 {rejected} 行，详见 {result.rejects_path}",
        file=sys.stderr,
    )
    return 0


def _kpi(args: argparse.Namespace) -> int:
    from dashboard.queries import QueryError, kpis

    if not args.db.exists():
        print(f"错误：数据库不存在：{args.db}", file=sys.stderr)
        return 1
    if args.start > args.end:
        raise UsageError("--from 晚于 --to")
    try:
        result = kpis(args.db, args.region, args.start, args.end, year=args.year)
    except QueryError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _report(args: argparse.Namespace) -> int:
    import time

    from dashboard.export import ExportError
    from dashboard.queries import QueryError
    from dashboard.report import ReportError, format_of, write_report

    try:
        format_of(args.out)
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    if args.start > args.end:
        raise UsageError("--from 晚于 --to")
    if not args.db.exists():
        print(f"错误：数据库不存在：{args.db}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    try:
        path = write_report(
            args.db, args.region, args.start, args.end, args.out, year=args.year, lang=args.lang
        )
    except (ReportError, QueryError, ExportError) as exc:
        if getattr(exc, "usage", False):
            raise UsageError(str(exc)) from None
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    print(path)
    print(f"已写出报告 {path}（{time.perf_counter() - started:.1f} 秒）", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

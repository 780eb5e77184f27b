"""Command line: `python -m pipelines demo|build|ingest|watch|kpi|report|users|display|audit ...`.

Exit 0 ok, 1 failed (or a value the command cannot use), 2 usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import unicodedata
from pathlib import Path

DEFAULT_DB = Path("data/yiping.duckdb")
# Changes made from the command line appear in the audit log under this account, from this address.
CLI_ACCOUNT = "cli"
CLI_ADDRESS = "local"


class UsageError(Exception):
    """Arguments that name nothing usable: exit 2."""


class CommandError(Exception):
    """A value the command cannot use (unknown user, region not in the database ...): exit 1."""


def _date(text: str) -> dt.date:
    try:
        if len(text) != 10 or text[4] != "-" or text[7] != "-":
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"不是 YYYY-MM-DD 格式的日期：{text}") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.05 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"应为 0.05 到 3600 之间的秒数：{text}")
    return value


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
    build.add_argument(
        "--allow-shrink", action="store_true", help="publish even when a table keeps fewer than half its rows"
    )
    build.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="run validation, staging and the marts on DuckDB (default) or on Apache Spark",
    )
    build.add_argument("--master", help="the Spark master URL with --engine spark (default local[*])")
    build.add_argument(
        "--warehouse",
        type=Path,
        help="where --engine spark writes the marts as Parquet (default beside --db)",
    )

    ingest = commands.add_parser(
        "ingest", help="merge increments of events and alarms into the published database"
    )
    ingest.add_argument(
        "--input", type=Path, required=True, help="a file, or a folder of files, named events_* or alarms_*"
    )
    ingest.add_argument("--db", type=Path, required=True)
    ingest.add_argument(
        "--allow-shrink", action="store_true", help="publish even when a table keeps fewer than half its rows"
    )

    watch = commands.add_parser("watch", help="ingest every complete file landing in DIR/incoming")
    watch.add_argument("--input", type=Path, required=True, help="DIR, holding incoming/, done/ and failed/")
    watch.add_argument("--db", type=Path, required=True)
    watch.add_argument("--interval", type=_seconds, default=2.0, help="seconds between looks (default 2)")

    kpi = commands.add_parser("kpi", help="print the KPI object of a region and period as JSON")
    kpi.add_argument("--db", type=Path, required=True)
    kpi.add_argument("--region", required=True)
    kpi.add_argument("--from", dest="start", type=_date, required=True)
    kpi.add_argument("--to", dest="end", type=_date, required=True)
    kpi.add_argument("--year", type=int)

    shapes = commands.add_parser(
        "outlines", help="print the outlines of a region's children as a GeoJSON FeatureCollection"
    )
    shapes.add_argument("--db", type=Path, required=True)
    shapes.add_argument("--region", required=True)

    report = commands.add_parser("report", help="write the report of a region and period: PDF, HTML or Excel")
    report.add_argument("--db", type=Path, required=True)
    report.add_argument("--region", required=True)
    report.add_argument("--from", dest="start", type=_date, required=True)
    report.add_argument("--to", dest="end", type=_date, required=True)
    report.add_argument("--year", type=int)
    report.add_argument("--out", type=Path, required=True, help="FILE.pdf, FILE.html or FILE.xlsx")
    report.add_argument("--lang", choices=("zh", "en"), default="zh")
    report.add_argument(
        "--compare",
        choices=("yoy", "prev"),
        default="yoy",
        help="changes against the same dates a year earlier (yoy, 同比) or the period just before (prev, 环比)",
    )

    _account_commands(commands)
    return parser


def _account_commands(commands: argparse._SubParsersAction) -> None:
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument(
        "--accounts",
        type=Path,
        help="the accounts store (default: YIPING_ACCOUNTS, else data/accounts.sqlite)",
    )
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument(
        "--db",
        type=Path,
        help="the database the scope is checked in (default: YIPING_DB, else data/yiping.duckdb)",
    )

    users = commands.add_parser("users", help="user accounts: add, list, disable, enable, passwd, remove")
    user_commands = users.add_subparsers(dest="action", required=True)
    add = user_commands.add_parser(
        "add", parents=[store, database], help="create an account; the password comes on standard input"
    )
    add.add_argument("name")
    add.add_argument("--role", required=True, help="viewer, analyst, steward or admin")
    add.add_argument("--scope", required=True, help="the region code it may see, 50 for the whole city")
    user_commands.add_parser("list", parents=[store], help="every account, without password hashes")
    for action, text in (
        ("disable", "stop an account signing in, ending its sessions"),
        ("enable", "let a disabled account sign in again"),
        ("passwd", "set a new password from standard input, ending its sessions"),
        ("remove", "delete an account, ending its sessions; its audit rows stay"),
    ):
        user_commands.add_parser(action, parents=[store], help=text).add_argument("name")

    display = commands.add_parser("display", help="wall-screen displays: add, revoke, list")
    display_commands = display.add_subparsers(dest="action", required=True)
    display_add = display_commands.add_parser(
        "add", parents=[store, database], help="create a display token, printed once"
    )
    display_add.add_argument("name")
    display_add.add_argument("--scope", required=True, help="the region code it shows, 50 for the whole city")
    display_commands.add_parser("revoke", parents=[store], help="delete a display token").add_argument("name")
    display_commands.add_parser("list", parents=[store], help="every display, without tokens")

    audit = commands.add_parser("audit", parents=[store], help="print the audit log as CSV")
    audit.add_argument("--since", type=_date, help="rows from this day on (YYYY-MM-DD)")
    audit.add_argument("--account", help="only this account's rows")
    audit.add_argument("--action", help="only rows of this action (sign_in, download ...)")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "build":
            return _build(args)
        if args.command == "ingest":
            return _ingest(args)
        if args.command == "watch":
            return _watch(args)
        if args.command == "kpi":
            return _kpi(args)
        if args.command == "outlines":
            return _outlines(args)
        if args.command == "report":
            return _report(args)
        if args.command == "users":
            return _users(args)
        if args.command == "display":
            return _display(args)
        if args.command == "audit":
            return _audit(args)
    except UsageError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
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

    if args.engine != "spark" and (args.master or args.warehouse):
        raise UsageError("--master 和 --warehouse 只用于 --engine spark")
    try:
        if args.engine == "spark":
            from pipelines.spark import DEFAULT_MASTER, build_spark

            result = build_spark(
                args.input,
                args.db,
                progress=_terminal_progress,
                master=args.master or DEFAULT_MASTER,
                warehouse=args.warehouse,
                allow_shrink=args.allow_shrink,
            )
        else:
            result = build(args.input, args.db, progress=_terminal_progress, allow_shrink=args.allow_shrink)
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


def _ingest(args: argparse.Namespace) -> int:
    from pipelines.build import BuildError, describe_audit
    from pipelines.ingest import ingest

    try:
        result = ingest(args.input, args.db, allow_shrink=args.allow_shrink)
    except BuildError as exc:
        print(f"导入失败，已发布的数据库保持不变。\n{exc}", file=sys.stderr)
        return 1
    print(describe_audit(result.audit))
    rejected = sum(a.rows_rejected for a in result.audit)
    print(
        f"已发布 {result.db_path}：新增 {result.added} 条，更新 {result.replaced} 条；"
        f"被拒绝 {rejected} 行，详见 {result.rejects_path}",
        file=sys.stderr,
    )
    print(
        f"ingest: {result.rows} rows ({result.added} new, {result.replaced} replaced) in {result.seconds:.2f} s",
        file=sys.stderr,
    )
    return 0


def _watch(args: argparse.Namespace) -> int:
    from pipelines.watch import WatchError, watch_until_signalled

    try:
        watch_until_signalled(args.input, args.db, interval=args.interval)
    except WatchError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
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


def _outlines(args: argparse.Namespace) -> int:
    from dashboard.queries import QueryError, child_outlines, region
    from pipelines.outlines import feature_collection

    if not args.db.exists():
        print(f"错误：数据库不存在：{args.db}", file=sys.stderr)
        return 1
    try:
        region(args.db, args.region)
        rows = child_outlines(args.db, args.region, simplified=False)
    except QueryError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    print(json.dumps(feature_collection(rows), ensure_ascii=False))
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
            args.db,
            args.region,
            args.start,
            args.end,
            args.out,
            year=args.year,
            lang=args.lang,
            compare=args.compare,
        )
    except (ReportError, QueryError, ExportError) as exc:
        if getattr(exc, "usage", False):
            raise UsageError(str(exc)) from None
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    print(path)
    print(f"已写出报告 {path}（{time.perf_counter() - started:.1f} 秒）", file=sys.stderr)
    return 0


# ------------------------------------------------------------------------------ accounts


def _accounts_file(args: argparse.Namespace) -> Path:
    from dashboard.accounts import accounts_path

    return args.accounts or accounts_path()


def _open_store(args: argparse.Namespace, *, create: bool = False):
    """The accounts store; None when it does not exist yet and the command only reads or changes."""
    import sqlite3

    from dashboard.accounts import AccountError, Accounts

    path = _accounts_file(args)
    if not create and not path.exists():
        return None
    try:
        return Accounts(path)
    except (AccountError, OSError) as exc:
        raise CommandError(f"无法打开账户库 {path}：{exc}") from None
    except sqlite3.DatabaseError as exc:
        raise CommandError(f"无法打开账户库 {path}：{str(exc).splitlines()[0]}") from None


def _check_region(args: argparse.Namespace, code: str) -> None:
    """The scope must be a region of the database (the city, 50, whenever the database opens)."""
    from dashboard.queries import QueryError, cursor, region
    from pipelines.contract import CITY_CODE

    db = args.db or Path(os.environ.get("YIPING_DB") or DEFAULT_DB)
    try:
        if code == CITY_CODE:
            cursor(db).close()
        else:
            region(db, code)
    except QueryError as exc:
        raise CommandError(str(exc)) from None


def _read_password() -> str:
    """At a terminal, asked twice without echo; from a pipe, the first line."""
    import getpass

    if sys.stdin is None:
        return ""
    if sys.stdin.isatty():
        first = getpass.getpass("密码：")
        if getpass.getpass("再输入一次：") != first:
            raise CommandError("两次输入的密码不一致")
        return first
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


def _checked(check, value):
    from dashboard.accounts import AccountError

    try:
        return check(value)
    except AccountError as exc:
        raise CommandError(str(exc)) from None


def _users(args: argparse.Namespace) -> int:
    from dashboard.accounts import AccountError, check_password, check_role, check_scope, clean_name

    if args.action == "list":
        store = _open_store(args)
        rows = store.list_users() if store else []
        columns = ("name", "role", "scope", "enabled", "created_at", "last_sign_in", "locked_until")
        print(_table(columns, [{**row, "enabled": "yes" if row["enabled"] else "no"} for row in rows]))
        if not rows:
            print("还没有账户", file=sys.stderr)
        return 0

    name = _checked(clean_name, args.name)
    try:
        if args.action == "add":
            role = _checked(check_role, args.role)
            scope = _checked(check_scope, args.scope)
            _check_region(args, scope)
            password = _checked(check_password, _read_password())
            _open_store(args, create=True).add_user(
                name, password, role, scope, by=CLI_ACCOUNT, address=CLI_ADDRESS
            )
            print(f"已创建账户 {name}（{role}，范围 {scope}）", file=sys.stderr)
            return 0

        store = _open_store(args)
        known = {row["name"].casefold(): row["name"] for row in store.list_users()} if store else {}
        if name.casefold() not in known:
            raise CommandError(f"用户不存在：{name}")
        name = known[name.casefold()]
        if args.action in ("disable", "enable"):
            store.set_enabled(name, args.action == "enable", by=CLI_ACCOUNT, address=CLI_ADDRESS)
            done = "已停用" if args.action == "disable" else "已启用"
            print(f"{done}账户 {name}", file=sys.stderr)
        elif args.action == "passwd":
            password = _checked(check_password, _read_password())
            store.set_password(name, password, by=CLI_ACCOUNT, address=CLI_ADDRESS)
            print(f"已更改账户 {name} 的密码；它的会话已结束", file=sys.stderr)
        elif args.action == "remove":
            store.remove_user(name, by=CLI_ACCOUNT, address=CLI_ADDRESS)
            print(f"已删除账户 {name}；审计记录保留", file=sys.stderr)
        return 0
    except AccountError as exc:
        raise CommandError(str(exc)) from None


def _display(args: argparse.Namespace) -> int:
    from dashboard.accounts import AccountError, check_scope, clean_name

    if args.action == "list":
        store = _open_store(args)
        rows = store.list_displays() if store else []
        print(_table(("name", "scope", "created_at", "last_sign_in"), rows))
        if not rows:
            print("还没有大屏", file=sys.stderr)
        return 0

    name = _checked(clean_name, args.name)
    try:
        if args.action == "add":
            scope = _checked(check_scope, args.scope)
            _check_region(args, scope)
            token = _open_store(args, create=True).add_display(
                name, scope, by=CLI_ACCOUNT, address=CLI_ADDRESS
            )
            print(token)
            print(
                f"已创建大屏 {name}（范围 {scope}）。上面一行是它的令牌，只显示这一次；"
                "在大屏的浏览器打开 /?kiosk=1&display=TOKEN（TOKEN 换成令牌）",
                file=sys.stderr,
            )
            return 0
        store = _open_store(args)
        if store is None:
            raise CommandError(f"大屏不存在：{name}")
        store.revoke_display(name, by=CLI_ACCOUNT, address=CLI_ADDRESS)
        print(f"已吊销大屏 {name}；它的会话已结束", file=sys.stderr)
        return 0
    except AccountError as exc:
        raise CommandError(str(exc)) from None


def _audit(args: argparse.Namespace) -> int:
    import csv

    from dashboard.accounts import AUDIT_COLUMNS
    from pipelines.safety import neutralize_formula

    store = _open_store(args)
    rows = store.audit_rows(since=args.since, account=args.account, action=args.action) if store else []
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(AUDIT_COLUMNS)
    for row in rows:
        writer.writerow([neutralize_formula(row[column]) for column in AUDIT_COLUMNS])
    return 0


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(columns: tuple[str, ...], rows: list[dict]) -> str:
    """Rows as columns aligned for a terminal, Chinese characters counted two wide."""
    cells = [list(columns)] + [
        ["-" if row[c] in (None, "") else str(row[c]) for c in columns] for row in rows
    ]
    widths = [max(_width(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(line)).rstrip()
        for line in cells
    )


if __name__ == "__main__":
    sys.exit(main())

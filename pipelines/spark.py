"""Build on Apache Spark: the same staging checks and marts as `build`, run by PySpark.

One set of models serves both engines. The staging SQL is generated from the contract by
`pipelines.staging` and the marts are the files in `sql/marts`; both are written in DuckDB's
dialect and turned into Spark SQL by sqlglot (`to_spark`), with the few rewrites listed there
for functions sqlglot does not carry over. Only the four text-parsing primitives of staging
(`yp_num`, `yp_int`, `yp_ts`, `yp_year`) are spelled out for Spark, as functions beside DuckDB's
macros, and a test holds them to the same results.

Spark reads the large tables itself (CSV and Parquet, one file or a folder of files per table:
`events/*.parquet`); the small ones (regions, collective economy, devices) and every Excel file
go through `pipelines.readers`. The marts are written as Parquet to the warehouse folder, then
loaded into a new DuckDB file with the column types the DuckDB build gives them, and published
atomically as `build` publishes.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from pipelines import readers, staging
from pipelines.build import (
    BOUNDARIES_FILE,
    INDEXED_BY_REGION,
    MARTS,
    SQL_DIR,
    BuildError,
    BuildResult,
    FileAudit,
    Load,
    Progress,
    Warn,
    _load_boundaries,
    _load_empty,
    _mart_sql,
    _quiet,
    _write_metadata,
    building_path,
    check_shrink,
    configure,
    connect_building,
    database_problem,
    finish,
    input_files,
    load_lock,
    mart_select,
    os_problem,
    published_rows,
    rejects_building_path,
    remove_building,
    remove_stale_builds,
    swap_in,
    warn_on_stderr,
)
from pipelines.contract import FILE_SUFFIXES, PARENT_LEVEL, SLA_HOURS, TABLES, Table
from pipelines.safety import installation_salt

# Tables small enough for the driver: read by the project's readers and handed to Spark.
READ_BY_DRIVER = ("regions", "collective_economy", "devices")
DEFAULT_MASTER = "local[*]"

# ------------------------------------------------------------------------------ DuckDB -> Spark SQL

# The text-parsing primitives of staging (DuckDB's macros in staging.MACROS), as Spark SQL functions.
# DuckDB's strptime reads %m, %d, %H, %M and %S with one or two digits; so do M, d, H, m and s here.
SPARK_FUNCTIONS = (
    "create or replace temporary function yp_num(s string) returns double "
    "return try_cast(replace(s, ',', '') as double)",
    "create or replace temporary function yp_int(s string) returns bigint "
    "return case when yp_num(s) = floor(yp_num(s)) and abs(yp_num(s)) < 9e15 then cast(yp_num(s) as bigint) end",
    "create or replace temporary function yp_ts_text(s string) returns string "
    "return trim(regexp_replace(replace(replace(replace(replace(replace(replace("
    "s, '年', '-'), '月', '-'), '日', ' '), '/', '-'), 'T', ' '), '时', ':'), '\\\\s+', ' '))",
    "create or replace temporary function yp_ts(s string) returns timestamp_ntz "
    "return coalesce("
    + ", ".join(
        f"try_to_timestamp(regexp_replace(yp_ts_text(s), '[:分]$', ''), '{pattern}')"
        for pattern in ("yyyy-M-d H:m:s", "yyyy-M-d H:m", "yyyy-M-d", "yyyy-M-d H:m:s.SSSSSS", "yyyyMMdd")
    )
    + ", case when yp_num(s) between 20000 and 80000 then timestamp_ntz'1899-12-30 00:00:00' "
    "+ make_dt_interval(0, 0, 0, cast(round(yp_num(s) * 86400e6) as decimal(20, 0)) / 1000000) end)",
    "create or replace temporary function yp_year(s string) returns bigint "
    "return coalesce(case when trim(s) rlike '^\\\\d{4}(\\\\.0+)?年?$' then yp_int(replace(s, '年', '')) end, "
    "year(yp_ts(s)))",
)


def _ordered_list(node: exp.Expression) -> exp.Expression:
    """`list(x order by k)` -> the values of `array_sort(collect_list(struct(k, x)))`: Spark's
    collect_list takes no order."""
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        order = node.this
    elif (
        isinstance(node, exp.List)
        and len(node.expressions) == 1
        and isinstance(node.expressions[0], exp.Order)
    ):
        order = node.expressions[0]
    else:
        return node
    value = order.this
    keys = [o.this for o in order.expressions]
    pairs = ", ".join(f"'k{i}', __k{i}" for i in range(len(keys)))
    return _template(
        f"transform(array_sort(collect_list(named_struct({pairs}, 'v', __v))), s -> s.v)",
        __v=value,
        **{f"__k{i}": k for i, k in enumerate(keys)},
    )


def _template(text: str, **nodes: exp.Expression) -> exp.Expression:
    """Spark SQL text whose columns `__name` are replaced by the given expressions."""
    tree = sqlglot.parse_one(text, read="spark")
    return tree.transform(
        lambda n: nodes[n.name].copy() if isinstance(n, exp.Column) and n.name in nodes else n
    )


def _function(node: exp.Expression) -> exp.Expression:
    """DuckDB functions that sqlglot passes through by name, rewritten as Spark's."""
    if isinstance(node, exp.Not) and isinstance(node.this, exp.In) and node.this.args.get("query"):
        # `x not in (select c ...)` is a null-aware anti join, which Spark runs as a nested loop:
        # the rules test a non-null x against non-null codes, where `not exists` is the same. The
        # subquery's table is named `_k`, so x (a column of the staging query's `typed`) stays outside.
        inner = node.this.args["query"]
        inner = inner.this if isinstance(inner, exp.Subquery) else inner
        probe = node.this.this
        if len(inner.expressions) == 1 and isinstance(probe, exp.Column) and not probe.table:
            inner = inner.copy()
            source = inner.args["from_"].this if "from_" in inner.args else inner.args["from"].this
            source.set("alias", exp.TableAlias(this=exp.to_identifier("_k")))
            for column in inner.find_all(exp.Column):
                if not column.table:
                    column.set("table", exp.to_identifier("_k"))
            key = inner.expressions[0]
            inner.set("expressions", [exp.Literal.number(1)])
            outer = exp.column(probe.name, table="typed")
            inner = inner.where(exp.EQ(this=key, expression=outer), copy=False)
            return exp.Not(this=exp.Exists(this=inner))
    if isinstance(node, exp.RegexpFullMatch):
        pattern = node.expression
        if not isinstance(pattern, exp.Literal):
            raise ValueError("regexp_full_match needs a literal pattern")
        return exp.RegexpLike(this=node.this, expression=exp.Literal.string(f"^(?:{pattern.this})$"))
    if not isinstance(node, exp.Anonymous):
        return node
    name = node.name.lower()
    args = node.expressions
    if name == "list_distinct":  # DuckDB's drops NULLs
        return _template("array_distinct(filter(__x, v -> v is not null))", __x=args[0])
    if name == "regexp_split_to_array":
        return exp.Anonymous(this="split", expressions=[args[0], args[1], exp.Literal.number(-1)])
    return node


def to_spark(sql: str) -> str:
    """DuckDB SQL (a mart, a staging query) as Spark SQL, transpiled by sqlglot."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    # bottom-up, so that a rewritten function's arguments are rewritten first
    for rewrite in (_ordered_list, _function):
        for node in list(tree.walk(bfs=False))[::-1]:
            replaced = rewrite(node)
            if replaced is not node:
                if node is tree:
                    tree = replaced
                else:
                    node.replace(replaced)
    return tree.sql(dialect="spark")


def outer_order(sql: str) -> str:
    """The ORDER BY of a query's outermost select, as DuckDB SQL ('' when it has none)."""
    order = sqlglot.parse_one(sql, read="duckdb").args.get("order")
    return order.sql(dialect="duckdb") if order else ""


# ---------------------------------------------------------------------------------- the session


def default_memory(master: str) -> str:
    """Memory for the driver and each executor when YIPING_SPARK_MEMORY does not say. On a cluster, Spark's
    own 1g (the cluster's executors are sized by whoever runs it). In local mode the one driver JVM does all
    the work, and with Spark's 1g a build of a third of Chongqing failed: half the machine's memory, as DuckDB takes
    most of it by default."""
    if not master.startswith("local"):
        return "1g"
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1024, physical // 2 // 2**20)}m"


def failure(exc: BaseException) -> str:
    """What went wrong in Spark, in one line: the innermost Java exception rather than Py4J's "An error
    occurred while calling o1305.parquet", with what to do when it is memory."""
    text = str(exc).strip()
    text = text.splitlines()[0] if text else type(exc).__name__
    cause = getattr(exc, "java_exception", None)
    try:
        while cause is not None and cause.getCause() is not None:
            cause = cause.getCause()
        if cause is not None:
            text = str(cause.toString())
    except Exception:  # noqa: BLE001 -- a JVM already gone answers nothing; Py4J's own line stands
        pass
    if "OutOfMemoryError" in text or "Java heap space" in text:
        text += "（内存不足：用环境变量 YIPING_SPARK_MEMORY 调大，例如 8g）"
    return text[:400]


def session(master: str = DEFAULT_MASTER, app: str = "yiping-build", memory: str | None = None):
    """A Spark session for a build: zone-free times, legacy charsets (GB18030), no UI."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    memory = memory or os.environ.get("YIPING_SPARK_MEMORY") or default_memory(master)
    builder = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", memory)
        .config("spark.executor.memory", memory)
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.timestampType", "TIMESTAMP_NTZ")
        .config("spark.sql.session.timeZone", readers.LOCAL_TIME_ZONE)
        .config("spark.sql.legacy.javaCharsets", "true")
        .config("spark.sql.shuffle.partitions", os.environ.get("YIPING_SPARK_PARTITIONS", "8"))
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.pyspark.python", sys.executable)
        .config("spark.executorEnv.PYTHONPATH", os.pathsep.join(sys.path))
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("OFF")
    # PySpark logs every failed query with its Java stack; the build reports the error itself.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    return spark


def _h3_cell(lat, lon, resolution):
    import h3

    if lat is None or lon is None or resolution is None:
        return None
    return h3.latlng_to_cell(lat, lon, resolution)


def prepare(spark) -> None:
    """Functions and tables every Spark build reads besides its input."""
    from pyspark.sql.types import StringType

    for statement in SPARK_FUNCTIONS:
        spark.sql(statement)
    spark.udf.register("yp_h3", _h3_cell, StringType())
    spark.createDataFrame(list(SLA_HOURS.items()), "category string, hours int").createOrReplaceTempView(
        "sla_hours"
    )


# ---------------------------------------------------------------------------------------- input


@dataclass
class SparkInput:
    """One table's input: a file, or a folder of files named after the table."""

    table: Table
    path: Path

    @property
    def files(self) -> list[Path]:
        if self.path.is_dir():
            return sorted(
                p
                for p in self.path.iterdir()
                if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in FILE_SUFFIXES
            )
        return [self.path]

    def name_of(self, file: Path) -> str:
        return f"{self.path.name}/{file.name}" if self.path.is_dir() else file.name


def spark_inputs(input_dir: Path, warn: Warn) -> dict[str, SparkInput]:
    """The input of every table: a file as `build` takes it, or a folder `events/` of files."""
    files = input_files(input_dir, warn)
    found = {
        name: SparkInput(next(t for t in TABLES if t.name == name), path) for name, path in files.items()
    }
    for table in TABLES:
        folder = input_dir / table.name
        if folder.is_dir():
            if table.name in found:
                raise readers.InputFileError(
                    folder.name,
                    f"表 {table.name} 既有文件 {found[table.name].path.name} 又有文件夹，只能保留一个",
                )
            entry = SparkInput(table, folder)
            suffixes = {p.suffix.lower() for p in entry.files}
            if len(suffixes) != 1:
                raise readers.InputFileError(
                    folder.name, "文件夹中应是同一种格式的文件（都是 .csv 或都是 .parquet）"
                )
            found[table.name] = entry
    return found


def blank_records(path: Path) -> tuple[list[int], int]:
    """The spreadsheet rows of a CSV's empty lines (outside quoted values), and how many rows follow
    the header, blank ones included: a record's row counts every line before it, as a spreadsheet
    shows them."""
    rows, row, quoted = [], 1, False
    with path.open("rb") as fh:
        for raw in fh:
            if not quoted and raw.strip(b"\r\n") == b"" and row > 1:
                rows.append(row)
            if raw.count(b'"') % 2:
                quoted = not quoted
            if not quoted:
                row += 1
    return rows, row - 2


def _csv_fields(text: str | None) -> int:
    if text is None:
        return 0
    return len(next(csv.reader([text]), []))


class SparkReader:
    """Reads each table's input into a Spark view of text columns, `_file` and `_line`."""

    def __init__(self, spark, scratch: duckdb.DuckDBPyConnection, warehouse: Path):
        self.spark = spark
        self.scratch = scratch
        self.warehouse = warehouse
        self.handed = 0
        self.corrupt = []  # Spark frames of the CSV records that do not split into the header's columns
        self.unreadable: list[tuple[str, int, str]] = []  # (file, line, reason) from the driver's readers

    def read(self, entry: SparkInput):
        from pyspark.sql import functions as F

        frames = []
        files = entry.files
        spark_reads = entry.table.name not in READ_BY_DRIVER and all(
            f.suffix.lower() in (".csv", ".parquet") for f in files
        )
        if spark_reads and files[0].suffix.lower() == ".parquet":
            frames = [self._parquet(entry, files)]
        else:
            for file in files:
                if spark_reads:
                    frames.append(self._csv(entry, file))
                else:
                    frames.append(self._driver(entry, file))
        if not frames:
            return self.empty(entry.table)
        frame = frames[0]
        for other in frames[1:]:
            frame = frame.unionByName(other)
        names = ["_file", "_line"] + [c.name for c in entry.table.columns_read]
        return frame.select(*[F.col(n) for n in names])

    def empty(self, table: Table):
        schema = "_file string, _line bigint, " + ", ".join(f"{c.name} string" for c in table.columns_read)
        return self.spark.createDataFrame([], schema)

    def _driver(self, entry: SparkInput, file: Path):
        from pyspark.sql import functions as F

        raw = readers.register(self.scratch, file, entry.table)
        try:
            data = self.scratch.sql(f"select * from {raw.view}").arrow()
        except duckdb.Error as exc:
            raise readers.reading_problem(raw, exc) or exc from None
        data = data.read_all() if hasattr(data, "read_all") else data
        name = entry.name_of(file)
        self.unreadable += [(name, line, why) for line, why in raw.unreadable_rows]
        self.scratch.execute(f"drop view {raw.view}")
        if f"arrow_{entry.table.name}" in {n for (n,) in self.scratch.execute("show tables").fetchall()}:
            self.scratch.unregister(f"arrow_{entry.table.name}")
        # handed over as a Parquet file in the warehouse: Spark plans a local relation of many rows slowly
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = ["_line"] + [c.name for c in entry.table.columns_read]
        data = data.select(columns).cast(
            pa.schema([("_line", pa.int64())] + [(c, pa.string()) for c in columns[1:]])
        )
        self.handed += 1
        path = self.warehouse / "_read" / f"{entry.table.name}-{self.handed}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(data, path)
        return self.spark.read.parquet(str(path)).withColumn("_file", F.lit(name))

    def _parquet(self, entry: SparkInput, files: list[Path]):
        import pyarrow.parquet as pq
        from pyspark.sql import functions as F

        try:
            header = pq.read_schema(files[0]).names
        except Exception as exc:  # noqa: BLE001 -- pyarrow raises several types for a file that is not Parquet
            raise readers.InputFileError(
                entry.name_of(files[0]), f"无法作为 Parquet 读取：{readers._short(exc)}"
            ) from None
        mapping, _ = readers.map_header(entry.table, entry.name_of(files[0]), header)
        by_column = {column: source for source, column in mapping.items()}
        frame = self.spark.read.parquet(*[str(f) for f in files])
        columns = []
        for c in entry.table.columns_read:
            if c.name in by_column:
                columns.append(F.col(f"`{by_column[c.name]}`").cast("string").alias(c.name))
            else:
                columns.append(F.lit(None).cast("string").alias(c.name))
        file_name = F.col("_metadata.file_name")
        if entry.path.is_dir():
            file_name = F.concat(F.lit(entry.path.name + "/"), file_name)
        return frame.select(
            file_name.alias("_file"), (F.col("_metadata.row_index") + 2).alias("_line"), *columns
        )

    def _csv(self, entry: SparkInput, file: Path):
        from pyspark.sql import functions as F
        from pyspark.sql.types import IntegerType, StringType, StructField, StructType

        name = entry.name_of(file)
        encoding = readers.detect_encoding(file)
        readers.check_text(file, encoding)
        try:
            with file.open(encoding=encoding, newline="") as fh:
                header = next(csv.reader(fh), [])
        except (UnicodeDecodeError, csv.Error) as exc:
            raise readers.InputFileError(name, f"无法读取表头：{readers._short(exc)}") from None
        mapping, _ = readers.map_header(entry.table, name, header)
        position = {column: header.index(source) for source, column in mapping.items()}
        schema = StructType(
            [StructField(f"c{i}", StringType()) for i in range(len(header))]
            + [StructField("_corrupt", StringType())]
        )
        charset = "UTF-8" if encoding.startswith("utf-8") else "GB18030"
        frame = (
            self.spark.read.schema(schema)
            .option("header", "true")
            .option("encoding", charset)
            .option("multiLine", "true")  # quoted line breaks; one task reads a file in order
            .option("escape", '"')  # a quote inside a quoted value is doubled, as Excel writes it
            .option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", "_corrupt")
            .option("enforceSchema", "true")
            .csv(str(file))
            .withColumn("_id", F.monotonically_increasing_id())
        )
        # A record's number in the file: its id counted from the file's first (ids run on within the
        # task that reads a whole file), then moved past the blank lines before it.
        first = frame.agg(F.min("_id").alias("_first"))
        frame = frame.crossJoin(F.broadcast(first)).withColumn("_record", F.col("_id") - F.col("_first"))
        blanks, rows = blank_records(file)
        # Spark keeps an empty line as a record or skips it, as its parser judges the file's line
        # ends; when it skips them, a record moves past the blank lines before it.
        skipped = bool(blanks) and frame.count() == rows - len(blanks)
        shifts = [row - 2 - i for i, row in enumerate(blanks)] if skipped else []
        if shifts:
            from bisect import bisect_right

            from pyspark.sql.types import LongType

            moved = F.udf(lambda record: record + 2 + bisect_right(shifts, record), LongType())
            frame = frame.withColumn("_line", moved(F.col("_record")))
        else:
            frame = frame.withColumn("_line", F.col("_record") + 2)
        # a record whose every cell of the contract's columns is empty is a blank line, not data
        cells = [F.col(f"c{position[c.name]}") for c in entry.table.columns_read if c.name in position]
        blank_row = F.lit(True)
        for cell in cells:
            blank_row = blank_row & (F.coalesce(F.regexp_replace(cell, r"\s", ""), F.lit("")) == "")
        corrupt_text = F.regexp_replace(F.col("_corrupt"), r"[\s,]", "")
        frame = frame.filter(
            ~(
                (F.col("_corrupt").isNull() & blank_row)
                | (F.col("_corrupt").isNotNull() & (corrupt_text == ""))
            )
        ).withColumn("_file", F.lit(name))
        fields = F.udf(_csv_fields, IntegerType())
        bad = frame.filter(F.col("_corrupt").isNotNull()).select(
            "_file",
            "_line",
            F.concat(
                F.lit(f"列数不符：应有 {len(header)} 列，实际 "),
                fields(F.col("_corrupt")).cast("string"),
                F.lit(" 列"),
            ).alias("reason"),
        )
        self.corrupt.append(bad)
        columns = [
            (F.col(f"c{position[c.name]}") if c.name in position else F.lit(None).cast("string")).alias(
                c.name
            )
            for c in entry.table.columns_read
        ]
        return frame.filter(F.col("_corrupt").isNull()).select("_file", "_line", *columns)


# ---------------------------------------------------------------------------------------- build


def build_spark(
    input_dir: Path,
    db_path: Path,
    progress: Progress = _quiet,
    today: dt.date | None = None,
    *,
    master: str = DEFAULT_MASTER,
    warehouse: Path | None = None,
    allow_shrink: bool = True,
    warn: Warn = warn_on_stderr,
    spark=None,
) -> BuildResult:
    """Load `input_dir` on Spark, write the marts as Parquet to `warehouse`, publish `db_path`.

    `warehouse` defaults to `<db stem>.warehouse` beside the database. A session may be passed in
    (tests and benchmarks reuse one); otherwise one is started on `master` and stopped at the end.
    """
    started = time.perf_counter()
    input_dir, db_path = Path(input_dir), Path(db_path)
    today = today or dt.date.today()
    warehouse = Path(warehouse) if warehouse else db_path.with_name(db_path.stem + ".warehouse")
    try:
        inputs = spark_inputs(input_dir, warn)
    except readers.InputFileError as exc:
        raise BuildError(str(exc)) from None
    if "regions" not in inputs:
        raise BuildError(
            f"{input_dir}: 缺少 regions 文件（regions.csv、regions.xlsx 或 regions.parquet），其他表都要引用它"
        )
    db_path.parent.mkdir(parents=True, exist_ok=True)
    own_session = spark is None
    with load_lock(db_path, warn):
        remove_stale_builds(db_path)
        building = building_path(db_path)
        rejects_building = rejects_building_path(building)
        steps = len(TABLES) + len(MARTS) + 1
        scratch = duckdb.connect(":memory:")
        try:
            if own_session:
                progress("启动 Spark", 0.0)
                spark = session(master)
            prepare(spark)
            clear_warehouse(warehouse)
            salt = installation_salt(db_path.parent)
            reader = SparkReader(spark, scratch, warehouse)
            audit: list[FileAudit] = []
            rejects_frames = []
            step = 0
            for table in TABLES:
                entry = inputs.get(table.name)
                progress(f"校验 {entry.path.name if entry else table.name}", step / steps)
                raw = reader.read(entry) if entry else reader.empty(table)
                audit += _stage(spark, table, raw, entry, salt, today, warehouse, reader, rejects_frames)
                step += 1
            if not allow_shrink:
                staged = {t.name: spark.table(f"stg_{t.name}").count() for t in TABLES}
                check_shrink(published_rows(db_path), staged)
            for mart in MARTS:
                progress(f"汇总 {mart}", step / steps)
                _write(spark.sql(to_spark(mart_select(mart))), warehouse / mart)
                spark.read.parquet(str(warehouse / mart)).createOrReplaceTempView(mart)
                step += 1
            progress("发布", step / steps)
            _write(_union(spark, rejects_frames), warehouse / "_rejects")
            _publish(scratch, building, rejects_building, db_path, warehouse, input_dir, audit, today)
            for step_folder in WORK_FOLDERS:
                shutil.rmtree(warehouse / step_folder, ignore_errors=True)
        except readers.InputFileError as exc:
            raise BuildError(str(exc)) from None
        except duckdb.Error as exc:
            raise BuildError(f"构建失败：{database_problem(exc)}") from exc
        except OSError as exc:
            raise BuildError(os_problem(exc, input_dir)) from None
        except Exception as exc:
            if type(exc).__module__.startswith(("pyspark", "py4j")):
                raise BuildError(f"Spark 构建失败：{failure(exc)}") from exc
            raise
        finally:
            scratch.close()
            remove_building(building)
            if own_session and spark is not None:
                spark.stop()
    progress("完成", 1.0)
    return BuildResult(
        db_path, db_path.with_name(db_path.stem + ".rejects.csv"), audit, time.perf_counter() - started
    )


# What a build writes to the warehouse besides the marts: the steps' own folders, removed at the end.
WORK_FOLDERS = ("_read", "_checked", "_staged")


def clear_warehouse(warehouse: Path) -> None:
    """Remove what an earlier build wrote to the warehouse, and nothing else that may be there."""
    for name in (*MARTS, *WORK_FOLDERS, "_rejects"):
        shutil.rmtree(warehouse / name, ignore_errors=True)
    warehouse.mkdir(parents=True, exist_ok=True)


def _write(frame, path: Path) -> None:
    frame.write.mode("overwrite").parquet(str(path))


def _union(spark, frames):
    schema = "_file string, _line bigint, column_name string, value string, reason string"
    result = spark.createDataFrame([], schema)
    for frame in frames:
        result = result.unionByName(frame)
    return result


def _stage(spark, table, raw, entry, salt, today, warehouse, reader, rejects_frames) -> list[FileAudit]:
    """checked_<table> and stg_<table> on Spark, their rejects, and the audit of each file."""
    from pyspark.sql import functions as F

    raw.createOrReplaceTempView(f"raw_{table.name}")
    sql = staging.checked_sql(table, f"raw_{table.name}", today.year, salt_param="$salt", carry=("_file",))
    checked = spark.sql(to_spark(sql), args={"salt": salt} if table.name == "residents" else None)
    _write(checked, warehouse / "_checked" / table.name)
    checked = spark.read.parquet(str(warehouse / "_checked" / table.name))
    if table.name == "regions":
        checked = _check_region_parents(spark, checked)
    checked.createOrReplaceTempView(f"checked_{table.name}")
    key = ", ".join(table.key)
    winners = spark.sql(
        f"""
        select * from checked_{table.name}
        where size(problems) = 0
        qualify row_number() over (partition by {key} order by _file desc, _line desc) = 1
        """
    )
    _write(winners, warehouse / "_staged" / table.name)
    winners = spark.read.parquet(str(warehouse / "_staged" / table.name))
    winners.drop("problems", "_line", "_file").createOrReplaceTempView(f"stg_{table.name}")
    rejects_frames.append(
        spark.sql(
            f"""
            select _file, _line, p.column_name, p.value, p.reason
            from checked_{table.name} lateral view explode(problems) as p
            where size(problems) > 0
            """
        )
    )
    if entry is None:
        return []
    counts = {
        row["_file"]: row
        for row in checked.groupBy("_file")
        .agg(
            F.count(F.lit(1)).alias("read"),
            F.sum(F.when(F.size("problems") == 0, 1).otherwise(0)).alias("valid"),
        )
        .collect()
    }
    loaded = {
        row["_file"]: row["n"] for row in winners.groupBy("_file").agg(F.count(F.lit(1)).alias("n")).collect()
    }
    unreadable: dict[str, int] = {}
    names = {entry.name_of(f) for f in entry.files}
    for file, line, why in [r for r in reader.unreadable if r[0] in names]:
        unreadable[file] = unreadable.get(file, 0) + 1
        rejects_frames.append(
            spark.createDataFrame(
                [(file, line, "", None, why)],
                "_file string, _line bigint, column_name string, value string, reason string",
            )
        )
    for bad in reader.corrupt:
        rows = bad.collect()
        for row in rows:
            unreadable[row["_file"]] = unreadable.get(row["_file"], 0) + 1
        if rows:
            rejects_frames.append(
                spark.createDataFrame(
                    [(r["_file"], r["_line"], "", None, r["reason"]) for r in rows],
                    "_file string, _line bigint, column_name string, value string, reason string",
                )
            )
    reader.corrupt = []
    audit = []
    for file in sorted(names):
        row = counts.get(file)
        read, valid = (row["read"], row["valid"] or 0) if row else (0, 0)
        bad = unreadable.get(file, 0)
        kept = loaded.get(file, 0)
        audit.append(FileAudit(file, read + bad, kept, read - valid + bad, valid - kept))
    return audit


def _check_region_parents(spark, checked):
    """A region's parent must be a valid region one level up: level by level, so rejections cascade."""
    from pyspark.sql import functions as F

    names = {"district": "区县", "township": "街镇", "community": "村社区"}
    checked = checked.cache()
    for level, parent in PARENT_LEVEL.items():
        if parent is None:
            continue
        valid = checked.filter((F.col("level") == parent) & (F.size("problems") == 0)).select(
            F.col("code").alias("_parent"), F.lit(True).alias("_known")
        )
        joined = checked.join(valid, checked["parent_code"] == valid["_parent"], "left")
        broken = (F.size("problems") == 0) & (F.col("level") == level) & F.col("_known").isNull()
        problem = F.array(
            F.struct(
                F.lit("parent_code").alias("column_name"),
                F.col("parent_code").alias("value"),
                F.concat(
                    F.lit("上级代码 "),
                    F.col("parent_code"),
                    F.lit(f" 不是已导入的{names[parent]}（或该行已被拒绝）"),
                ).alias("reason"),
            )
        )
        checked = joined.withColumn("problems", F.when(broken, problem).otherwise(F.col("problems"))).drop(
            "_parent", "_known"
        )
        checked = checked.localCheckpoint()
    return checked


# -------------------------------------------------------------------------------------- publish


def serving_schema(scratch: duckdb.DuckDBPyConnection, today: dt.date) -> dict[str, list[tuple[str, str]]]:
    """The columns and types of every mart as the DuckDB build makes them, from empty staging tables."""
    con = duckdb.connect(":memory:")
    try:
        configure(con, Path(scratch_dir()) / "schema")
        for table in TABLES:
            _load_empty(con, table, today)
        schema = {}
        for mart in MARTS:
            con.execute(_mart_sql(mart))
            schema[mart] = [(name, kind) for name, kind, *_ in con.execute(f"describe {mart}").fetchall()]
        return schema
    finally:
        con.close()


def scratch_dir() -> str:
    import tempfile

    return tempfile.gettempdir()


def _literal(path: Path) -> str:
    return readers.glob_literal(str(path)).replace("'", "''")


def _publish(scratch, building, rejects_building, db_path, warehouse, input_dir, audit, today) -> None:
    """The DuckDB serving file from the marts' Parquet, published as `build` publishes."""
    schema = serving_schema(scratch, today)
    con = connect_building(building)
    try:
        configure(con, building)
        for mart in MARTS:
            columns = ", ".join(f'cast("{name}" as {kind}) as "{name}"' for name, kind in schema[mart])
            order = outer_order(mart_select(mart))
            con.execute(
                f"create table {mart} as select {columns} "
                f"from read_parquet('{_literal(warehouse / mart)}/*.parquet') {order}"
            )
        for mart in INDEXED_BY_REGION:
            con.execute(f"create index {mart}_region on {mart} (region_code)")
        con.execute(
            "insert into rejects select _file, _line, column_name, value, reason "
            f"from read_parquet('{_literal(warehouse / '_rejects')}/*.parquet')"
        )
        _load_boundaries(con, input_dir / BOUNDARIES_FILE)
        load = Load.next(1, "build")
        _write_metadata(con, audit, input_dir, today, load)
        finish(con, rejects_building)
    finally:
        con.close()
    swap_in(building, rejects_building, db_path)


__all__ = ["build_spark", "to_spark", "session", "SQL_DIR"]

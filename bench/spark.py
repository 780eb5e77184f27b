"""Spark local and DuckDB side by side: the same demo input built by each, at a few scales.

At every scale (fractions of the benchmark's `--scale`) the demo input is written once, then built
by `python -m pipelines build` with the DuckDB engine and with `--engine spark` (local[*]), each
in a fresh process whose whole process tree (the JVM included) is sampled for its resident memory.
The figures: wall time and peak memory of each engine, the serving file's size, and Spark's fixed
cost, read off the smallest scale, as a share of its time at each scale.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.common import GB, REPO_ROOT, Section

# Scales built, as fractions of the benchmark scale: at --scale 1, 10%, 30% and all of Chongqing.
FRACTIONS = (0.1, 0.3, 1.0)
# The smallest scale the demo writes (every district still gets residents and events).
SMALLEST_SCALE = 0.0005
SAMPLE_S = 0.2
PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree(root: int) -> list[int]:
    """The pid and every descendant of `root`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def measured(command: list[str], log: Path, env: dict | None = None) -> dict:
    """Run `command`, sampling the summed resident memory of its process tree; wall time and peak."""
    with log.open("ab") as sink:
        sink.write(("$ " + " ".join(command[1:]) + "\n").encode())
        sink.flush()
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=env)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _rss(_tree(process.pid)))
            time.sleep(SAMPLE_S)
        seconds = time.perf_counter() - started
    if process.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(
            f"`{' '.join(command[1:4])}` failed with exit status {process.returncode}:\n{tail}"
        )
    return {"wall_s": seconds, "peak_rss_bytes": peak}


def _marts(db: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = {
            name: con.execute(f'select count(*) from "{name}"').fetchall()[0][0]
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_type = 'BASE TABLE'"
            ).fetchall()
        }
        days = con.execute("select count(distinct reported_date) from events").fetchall()[0][0]
        regions = con.execute("select count(*) from regions").fetchall()[0][0]
    finally:
        con.close()
    return {"rows": rows, "event_days": days, "regions": regions}


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run(work: Path, scale: float, fractions: tuple[float, ...] = FRACTIONS) -> Section:
    section = Section("spark")
    python = sys.executable
    root = work / "spark"
    root.mkdir(parents=True, exist_ok=True)
    log = root / "spark.log"
    log.write_text("", encoding="utf-8")
    env = {**os.environ, "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1")}
    runs = []
    # the smallest scale too: Spark's fixed cost is read off it
    for at in sorted({SMALLEST_SCALE} | {max(scale * fraction, SMALLEST_SCALE) for fraction in fractions}):
        folder = root / f"scale-{at:g}"
        input_dir, duck_db, spark_db = folder / "input", folder / "duckdb.duckdb", folder / "spark.duckdb"
        print(f"bench: spark section, scale {at:g}: demo input ...", file=sys.stderr)
        subprocess.run(
            [python, "-m", "pipelines", "demo", "--out", str(input_dir), "--scale", repr(at)],
            cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        print(f"bench: spark section, scale {at:g}: DuckDB build ...", file=sys.stderr)
        duck = measured(
            [python, "-m", "pipelines", "build", "--input", str(input_dir), "--db", str(duck_db)], log, env
        )
        print(f"bench: spark section, scale {at:g}: Spark local build ...", file=sys.stderr)
        spark = measured(
            [python, "-m", "pipelines", "build", "--input", str(input_dir), "--db", str(spark_db),
             "--engine", "spark", "--warehouse", str(folder / "warehouse")],
            log, env,
        )  # fmt: skip
        shape = _marts(duck_db)
        runs.append(
            {
                "scale": at,
                "input_bytes": _folder_bytes(input_dir),
                "duckdb": duck,
                "spark": spark,
                "serving_bytes_duckdb": duck_db.stat().st_size,
                "serving_bytes_spark": spark_db.stat().st_size,
                "warehouse_bytes": _folder_bytes(folder / "warehouse"),
                "events": shape["rows"].get("events"),
                "event_days": shape["event_days"],
                "regions": shape["regions"],
                "mart_rows": shape["rows"],
            }
        )
        # each scale as it is done: a long run stopped at the largest still leaves the smaller ones
        (root / "runs.json").write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    fixed = runs[0]["spark"]["wall_s"] - runs[0]["duckdb"]["wall_s"]
    for r in runs:
        at = f"scale {r['scale']:g}"
        section.add(f"{at}: DuckDB build wall time", r["duckdb"]["wall_s"], "s")
        section.add(f"{at}: Spark local build wall time", r["spark"]["wall_s"], "s")
        section.add(f"{at}: DuckDB build peak memory", r["duckdb"]["peak_rss_bytes"], "bytes")
        section.add(f"{at}: Spark local build peak memory", r["spark"]["peak_rss_bytes"], "bytes")
        section.add(f"{at}: Spark / DuckDB time", r["spark"]["wall_s"] / r["duckdb"]["wall_s"], "x")
        section.add(f"{at}: Spark's fixed cost, share of its time", fixed / r["spark"]["wall_s"], "x")
        section.add(f"{at}: serving file", r["serving_bytes_duckdb"], "bytes")
        section.add(f"{at}: events", r["events"], "count")
    under_half = [r["scale"] for r in runs if fixed / r["spark"]["wall_s"] < 0.5]
    section.add(
        "smallest scale built where Spark's fixed cost is under half its time",
        under_half[0] if under_half else None,
        "scale",
    )
    scales = ", ".join(f"{r['scale']:g}" for r in runs)
    section.notes.append(
        f"Scales {scales} of the demo (1 = all of Chongqing, 32 million "
        "residents); every region at every scale, rows of residents, housing and events in proportion. "
        "Peak memory is the summed resident memory of the build's process tree (the JVM included), "
        f"sampled every {SAMPLE_S:g} s. Spark's fixed cost is its excess over DuckDB at the smallest scale "
        "(session start, planning and a job per step); its share falls as the data grows."
    )
    section.details = {"runs": runs, "fixed_cost_s": fixed, "peak_target_bytes": 8 * GB}
    (root / "runs.json").write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    return section

"""The benchmark database: demo input and database at a scale, built once and reused until the code changes.

The key is a hash of the pipeline code, its SQL, the reference data and the scale. When the key
of the database in the work folder matches, it is reused and the figures recorded at its build are
reported; otherwise (or with --rebuild) `python -m pipelines demo` and `python -m pipelines build`
run again, each measured in a process of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import tempfile
from pathlib import Path

from bench.common import GB, REPO_ROOT, Section

BUILD_RECORD = "build.json"
KEY_SOURCES = ("pipelines/**/*.py", "pipelines/sql/**/*", "data/reference/*")
BUILD_TARGET_S = 5 * 60
PEAK_TARGET_BYTES = 8 * GB


def build_key(scale: float, root: Path = REPO_ROOT) -> str:
    """What the database depends on: the pipeline code and SQL, the reference data, the scale."""
    digest = hashlib.sha256(f"scale={float(scale)!r}\n".encode())
    files = sorted(
        {
            p
            for pattern in KEY_SOURCES
            for p in root.glob(pattern)
            if p.is_file() and "__pycache__" not in p.parts
        }
    )
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def paths(work: Path) -> dict[str, Path]:
    return {
        "input": work / "input",
        "db": work / "yiping.duckdb",
        "record": work / BUILD_RECORD,
        "log": work / "build.log",
    }


def read_record(work: Path) -> dict | None:
    try:
        return json.loads(paths(work)["record"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def ensure_database(work: Path, scale: float, rebuild: bool = False) -> tuple[dict, bool]:
    """The build record of an up-to-date database in `work`, and whether it was built just now."""
    where = paths(work)
    key = build_key(scale)
    record = read_record(work)
    if not rebuild and record and record.get("key") == key and where["db"].exists():
        return record, False
    if record and record.get("key") != key and not rebuild:
        print(
            "bench: the pipeline code or the scale changed since the last build; building again",
            file=sys.stderr,
        )
    work.mkdir(parents=True, exist_ok=True)
    where["record"].unlink(missing_ok=True)
    where["log"].write_text("", encoding="utf-8")
    steps = {}
    python = sys.executable
    print(f"bench: writing the demo input at scale {scale:g} ...", file=sys.stderr)
    steps["demo"] = _measured(
        [python, "-m", "pipelines", "demo", "--out", str(where["input"]), "--scale", repr(float(scale))],
        where["log"],
    )
    print(
        f"bench: demo input written in {steps['demo']['wall_s']:.1f} s; building the database ...",
        file=sys.stderr,
    )
    steps["build"] = _measured(
        [python, "-m", "pipelines", "build", "--input", str(where["input"]), "--db", str(where["db"])],
        where["log"],
    )
    print(f"bench: database built in {steps['build']['wall_s']:.1f} s", file=sys.stderr)
    record = {
        "key": key,
        "scale": float(scale),
        "built_at": dt.datetime.now().replace(microsecond=0).isoformat(),
        "steps": steps,
        "db_bytes": where["db"].stat().st_size,
        "input_bytes": sum(p.stat().st_size for p in where["input"].iterdir() if p.is_file()),
        "load_audit": _load_audit(where["db"]),
    }
    where["record"].write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record, True


def _measured(command: list[str], log: Path) -> dict:
    """Run a command under bench.measure, in a fresh process, and return its wall time and peak RSS."""
    import subprocess

    with tempfile.TemporaryDirectory(prefix="bench-measure-") as folder:
        out = Path(folder) / "measure.json"
        with log.open("ab") as sink:
            sink.write(("$ " + " ".join(command[1:]) + "\n").encode())
        subprocess.run(
            [sys.executable, "-m", "bench.measure", str(out), str(log), "--", *command],
            cwd=REPO_ROOT,
            check=True,
        )
        measured = json.loads(out.read_text(encoding="utf-8"))
    if measured["returncode"] != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(
            f"`{' '.join(command[1:4])}` failed with exit status {measured['returncode']}:\n{tail}"
        )
    return measured


def _load_audit(db: Path) -> list[dict]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "select file, rows_read, rows_loaded, rows_rejected, rows_superseded "
            "from load_audit order by file"
        ).fetchall()
    finally:
        con.close()
    names = ("file", "rows_read", "rows_loaded", "rows_rejected", "rows_superseded")
    return [dict(zip(names, row, strict=True)) for row in rows]


def run(work: Path, scale: float, rebuild: bool) -> tuple[Section, dict]:
    """The data section: build (or reuse) the database and report its build figures."""
    section = Section("data")
    record, built = ensure_database(work, scale, rebuild)
    state = "built now" if built else f"reused, built {record['built_at']}"
    steps = record["steps"]
    demo, build = steps["demo"], steps["build"]
    section.add("demo input: wall time", demo["wall_s"], "s", note=state)
    section.add("demo input: peak RSS", demo["peak_rss_bytes"], "bytes", PEAK_TARGET_BYTES, "<=")
    section.add("build: wall time", build["wall_s"], "s", BUILD_TARGET_S, "<=", note=state)
    section.add("build: peak RSS", build["peak_rss_bytes"], "bytes", PEAK_TARGET_BYTES, "<=")
    section.add("demo + build: wall time", demo["wall_s"] + build["wall_s"], "s")
    section.add("database size on disk", record["db_bytes"], "bytes")
    section.add("input folder size on disk", record["input_bytes"], "bytes")
    rejected = sum(a["rows_rejected"] for a in record.get("load_audit", []))
    residents = next(
        (a["rows_loaded"] for a in record.get("load_audit", []) if a["file"].startswith("residents")), None
    )
    section.add("residents loaded", residents, "count")
    section.add("rows rejected at load", rejected, "count")
    section.notes.append(
        f"Scale {record['scale']:g}; database {state}. Each step ran as a subprocess of a fresh "
        "measuring process; peak RSS is getrusage(RUSAGE_CHILDREN).ru_maxrss of that process."
    )
    section.details = {
        "reused": not built,
        "built_at": record["built_at"],
        "scale": record["scale"],
        "key": record["key"],
        "steps": steps,
        "db_bytes": record["db_bytes"],
        "input_bytes": record["input_bytes"],
        "load_audit": record.get("load_audit", []),
    }
    return section, record

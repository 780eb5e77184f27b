"""The benchmark command's machinery at a tiny scale: build, reuse, KPI timings and the pandas cross-check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.data import build_key
from bench.reference import differences

REPO_ROOT = Path(__file__).resolve().parent.parent
FIGURE_KEYS = {"name", "value", "unit", "target", "op", "note", "shown", "passed"}


def run_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("bench")
    work, results = root / "work", root / "results"
    common = ["--scale", "0.001", "--work", str(work), "--results", str(results)]
    first = run_bench(*common, "--queries", "20", "--only", "data,kpi")
    assert first.returncode == 0, first.stderr[-3000:]
    data_first = json.loads((results / "data.json").read_text(encoding="utf-8"))
    again = run_bench(*common, "--only", "data")
    assert again.returncode == 0, again.stderr[-3000:]
    subset_results = root / "subset"
    subset = run_bench(
        "--scale", "0.001", "--work", str(work), "--results", str(subset_results),
        "--only", "kpi", "--queries", "40", "--pandas-budget", "0.001",
    )  # fmt: skip
    assert subset.returncode == 0, subset.stderr[-3000:]
    return {
        "subset": json.loads((subset_results / "kpi.json").read_text(encoding="utf-8")),
        "work": work,
        "results": results,
        "stdout": first.stdout,
        "data_first": data_first,
        "data_again": json.loads((results / "data.json").read_text(encoding="utf-8")),
        "kpi": json.loads((results / "kpi.json").read_text(encoding="utf-8")),
    }


def test_the_database_is_built_once_then_reused(bench_run):
    first, again = bench_run["data_first"], bench_run["data_again"]
    assert first["reused"] is False
    assert again["reused"] is True, "rebuilt: did the pipeline code change during the test?"
    assert again["built_at"] == first["built_at"] and again["steps"] == first["steps"]
    for key in ("section", "status", "ran_at", "machine", "figures", "notes", "scale", "key", "db_bytes"):
        assert key in first, key
    for step in ("demo", "build"):
        assert first["steps"][step]["wall_s"] > 0
        assert first["steps"][step]["peak_rss_bytes"] > 10 * 1024**2
    assert (bench_run["work"] / "yiping.duckdb").exists()
    assert sum(a["rows_rejected"] for a in first["load_audit"]) == 0
    assert all(set(f) == FIGURE_KEYS for f in first["figures"])
    assert any("reused" in f["note"] for f in again["figures"])


def test_kpi_timings_and_the_pandas_cross_check(bench_run):
    kpi = bench_run["kpi"]
    assert kpi["status"] == "ok"
    assert kpi["questions"] == 20 and kpi["pandas_questions"] == 20
    assert kpi["mismatches"] == 0, kpi["mismatch_examples"]
    for level in ("all", "city", "district", "township", "community", "grid"):
        stats = kpi["kpis_ms"][level]
        assert set(stats) == {"n", "p50", "p95", "max"} and stats["p50"] > 0
        assert kpi["pandas_ms"][level]["n"] == stats["n"]
    assert kpi["kpis_ms"]["all"]["n"] == 20
    assert kpi["speedup_p50"] > 0
    targets = [f for f in kpi["figures"] if f["target"] is not None]
    assert targets and all(f["passed"] in (True, False) for f in targets)


def test_a_slow_pandas_pass_stops_after_30_questions(bench_run):
    kpi = bench_run["subset"]
    assert kpi["questions"] == 40 and kpi["pandas_questions"] == 30 and kpi["pandas_subset"] is True
    assert kpi["mismatches"] == 0
    assert any("30 of 40" in note for note in kpi["notes"])


def test_results_are_printed_and_summarised(bench_run):
    assert "kpis() p95, all levels (n=20)" in bench_run["stdout"]
    summary = (bench_run["results"] / "summary.md").read_text(encoding="utf-8")
    assert "## data" in summary and "## kpi" in summary and "| pandas answers ≠ kpis() answers" in summary
    assert {p.name for p in bench_run["results"].iterdir()} == {"data.json", "kpi.json", "summary.md"}


def test_unknown_section_is_a_usage_error(tmp_path):
    done = run_bench("--only", "kpi,speed", "--work", str(tmp_path), "--results", str(tmp_path))
    assert done.returncode == 2 and "speed" in done.stderr


def test_build_key_follows_the_scale():
    assert build_key(1.0) == build_key(1.0)
    assert build_key(1.0) != build_key(0.5)


def test_differences_compare_within_tolerance():
    ours = {"a": 1, "b": {"c": 0.1 + 0.2, "d": None, "e": 1e12}}
    assert differences(ours, {"a": 1, "b": {"c": 0.3, "d": None, "e": 1e12 + 1e-4}}) == []
    assert differences(ours, {"a": 2, "b": {"c": 0.3, "d": 0.0, "e": 1e12}}) == [
        ("a", 1, 2),
        ("b.d", None, 0.0),
    ]

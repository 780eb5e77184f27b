"""What every section shares: figures with targets, result files, the printed table."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("data", "kpi", "browser", "report", "live", "spark")
GB = 1024**3


@dataclass
class Figure:
    """One measured figure and, when it has one, its target: `value <op> target` passes."""

    name: str
    value: float | None
    unit: str  # s, ms, bytes, x, count
    target: float | None = None
    op: str | None = None  # "<=" or ">="
    note: str = ""
    shown: str = ""  # how the table shows the value, when more than the value itself

    @property
    def passed(self) -> bool | None:
        if self.target is None or self.op is None or self.value is None:
            return None
        return self.value <= self.target if self.op == "<=" else self.value >= self.target

    def as_json(self) -> dict:
        return {**asdict(self), "passed": self.passed}


@dataclass
class Section:
    """The result of one section: its figures, notes and the details behind them."""

    name: str
    status: str = "ok"  # ok, skipped, error
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    load_at_start: float = field(default_factory=lambda: round(os.getloadavg()[0], 2))

    def add(self, *args, **kwargs) -> Figure:
        figure = Figure(*args, **kwargs)
        self.figures.append(figure)
        return figure

    def as_json(self) -> dict:
        return {
            "section": self.name,
            "status": self.status,
            "ran_at": dt.datetime.now().replace(microsecond=0).isoformat(),
            "machine": machine(),
            "load_average_1m": {"start": self.load_at_start, "end": round(os.getloadavg()[0], 2)},
            "figures": [f.as_json() for f in self.figures],
            "notes": self.notes,
            **self.details,
        }


def percentiles(values: list[float]) -> dict[str, float | None]:
    """n, p50, p95 and max of a list of timings (linear interpolation between ranks)."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    array = np.asarray(values, dtype=float)
    return {
        "n": len(values),
        "p50": float(np.percentile(array, 50)),
        "p95": float(np.percentile(array, 95)),
        "max": float(array.max()),
    }


def machine() -> dict:
    """Enough about the machine and the code to compare runs."""
    info = {
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GB, 1),
        "python": platform.python_version(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }
    for package in ("duckdb", "pandas", "streamlit"):
        module = sys.modules.get(package)
        if module is not None:
            info[package] = getattr(module, "__version__", None)
    return info


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


# ------------------------------------------------------------------------------ formatting


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        if value >= 120:
            minutes, seconds = divmod(round(value), 60)
            return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
        return f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "bytes":
        if value >= GB:
            return f"{value / GB:.2f}".rstrip("0").rstrip(".") + " GB"
        return f"{value / 1024**2:.1f} MB"
    if unit == "x":
        return f"{value:,.0f}×" if value >= 10 else f"{value:.1f}×"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3f}"


def format_target(figure: dict) -> str:
    if figure.get("target") is None:
        return ""
    op = {"<=": "≤", ">=": "≥"}[figure["op"]]
    if figure["unit"] == "count" and figure["target"] == 0 and figure["op"] == "<=":
        return "= 0"
    if figure["unit"] in ("s", "ms") and float(figure["target"]).is_integer() and figure["target"] < 120:
        return f"{op} {figure['target']:.0f} {figure['unit']}"
    return f"{op} {format_value(figure['target'], figure['unit'])}"


def shown_value(figure: dict) -> str:
    return figure.get("shown") or format_value(figure["value"], figure["unit"])


def verdict(figure: dict) -> str:
    passed = figure.get("passed")
    if passed is None:
        return "" if figure.get("target") is None else "n/a"
    return "pass" if passed else "FAIL"


def table_rows(results: list[dict]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for result in results:
        if not result["figures"]:
            rows.append((result["section"], f"({result['status']})", "", "", ""))
        for figure in result["figures"]:
            name = figure["name"] + (f" [{figure['note']}]" if figure.get("note") else "")
            rows.append(
                (result["section"], name, shown_value(figure), format_target(figure), verdict(figure))
            )
    return rows


def text_table(results: list[dict]) -> str:
    """The figures as a fixed-width table for the terminal."""
    head = ("section", "figure", "value", "target", "result")
    rows = [head, *table_rows(results)]
    widths = [max(_width(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if ord(ch) >= 0x1100 and not 0x2000 <= ord(ch) <= 0x22FF else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


# ------------------------------------------------------------------------------ result files


def write_section(results_dir: Path, result: dict) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{result['section']}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def read_sections(results_dir: Path) -> list[dict]:
    """Every section's latest result in the folder, in section order."""
    found = []
    for name in SECTIONS:
        path = results_dir / f"{name}.json"
        if path.exists():
            try:
                found.append(json.loads(path.read_text(encoding="utf-8")))
            except ValueError:
                continue
    return found


def write_summary(results_dir: Path, results: list[dict]) -> Path:
    """summary.md: each section's latest figures as a table, when and how it ran, and its notes."""
    lines = ["# Benchmark results", "", "Written by `python -m bench`; each section as it last ran."]
    for result in results:
        info = result.get("machine", {})
        load = result.get("load_average_1m") or {}
        changes = " with uncommitted changes" if info.get("uncommitted_changes") else ""
        lines += [
            "",
            f"## {result['section']}",
            "",
            f"Ran {result.get('ran_at')} at scale {result.get('scale', float('nan')):g}, "
            f"status {result['status']}; "
            f"{info.get('cpus')} cores, {info.get('memory_gb')} GB RAM, Python {info.get('python')}, "
            f"code at {info.get('commit')}{changes}; load average (1 min) {load.get('start')} at start, "
            f"{load.get('end')} at end.",
            "",
        ]
        if result["figures"]:
            lines += ["| figure | value | target | result |", "| --- | --- | --- | --- |"]
        for figure in result["figures"]:
            name = figure["name"] + (f" ({figure['note']})" if figure.get("note") else "")
            lines.append(f"| {name} | {shown_value(figure)} | {format_target(figure)} | {verdict(figure)} |")
        if result.get("notes"):
            lines += [""] + [f"- {note}" for note in result["notes"]]
    path = results_dir / "summary.md"
    results_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path

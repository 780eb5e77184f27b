"""Reports: the PDF report of a district, and single chart images once the export browser is warm."""

from __future__ import annotations

import re
import time
from pathlib import Path

from bench.common import REPO_ROOT, Section, percentiles

REGION = "500153"
PDF_TARGET_S = 15.0
IMAGE_TARGET_S = 0.5
IMAGES = 12


def run(db: Path, work: Path) -> Section:
    section = Section("report")
    missing = [name for name in ("report.py", "export.py") if not (REPO_ROOT / "dashboard" / name).exists()]
    if missing:
        section.status = "skipped"
        section.notes.append(f"dashboard/{' and dashboard/'.join(missing)} not there yet: skipped")
        return section

    from dashboard import export, queries, report

    work.mkdir(parents=True, exist_ok=True)
    period = queries.default_period(db)
    out = work / f"report-{REGION}.pdf"
    pdf_s = []
    for _ in range(2):  # the first starts the export browser, the second finds it running
        started = time.perf_counter()
        report.write_report(db, REGION, period.start, period.end, out)
        pdf_s.append(time.perf_counter() - started)
    data = out.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
    section.add(f"PDF report of {REGION}, first (export browser starting)", pdf_s[0], "s", PDF_TARGET_S, "<=")
    section.add(f"PDF report of {REGION}, again (export browser warm)", pdf_s[1], "s", PDF_TARGET_S, "<=")

    model = report.build_report(db, REGION, period.start, period.end)
    figures = [chart.figure for chart in report.charts_of(model)]
    export.warm_up()
    export.figure_image(figures[0], "png", "wall")  # untimed: the first image after the start
    image_s = []
    for k in range(IMAGES):
        figure = figures[k % len(figures)]
        started = time.perf_counter()
        export.figure_image(figure, "png", "wall")
        image_s.append(time.perf_counter() - started)
    stats = percentiles(image_s)
    section.add(
        f"chart image PNG 1920×1080, warm, median of {IMAGES}", stats["p50"], "s", IMAGE_TARGET_S, "<="
    )
    section.add("chart image PNG, warm, max", stats["max"], "s")
    section.notes.append(
        f"Region {REGION}, period {period.start}–{period.end} (the dashboard's default), written with "
        "dashboard.report.write_report in the benchmark process (its database connection already open). "
        f"The PDF has {pages} pages, {len(data) / 1024:.0f} KB. Images: the report's {len(figures)} "
        "charts in turn through dashboard.export.figure_image (preset wall)."
    )
    section.details = {
        "region": REGION,
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "pdf_seconds": pdf_s,
        "pdf_pages": pages,
        "pdf_bytes": len(data),
        "charts": len(figures),
        "image_seconds": image_s,
    }
    return section

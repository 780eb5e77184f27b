"""Exports: chart images from one long-lived browser, Chinese that is really drawn, safe CSV and Excel."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import openpyxl
import pandas as pd
import plotly.graph_objects as go
import pytest
import streamlit  # noqa: F401 - as in the app's process, where Streamlit's plotly template is the default
from inputs import G1, G2, KPI_TABLES, build_folder, event, write_folder
from PIL import Image, ImageChops

from dashboard import charts, export, queries, report
from dashboard import format as fmt
from dashboard.downloads import file_stem
from dashboard.labels import t

FORMULAS = [
    '=HYPERLINK("http://example.com","点击")',
    "+86 138 0000 0000 投诉",
    "-1+2 噪音",
    "@SUM(A1:A9)",
    "\t=1+1",
]
NEUTRALISED = ["'" + text for text in FORMULAS]
HARMLESS = ["楼道堆放杂物", "-5", "+3.5", "1e3"]


@pytest.fixture(scope="module")
def events_db(tmp_path_factory) -> Path:
    """KPI_TABLES plus open events whose descriptions look like spreadsheet formulas."""
    root = tmp_path_factory.mktemp("export")
    descriptions = FORMULAS + HARMLESS
    extra = [
        event(
            event_id=f"F{number}",
            grid_code=G1 if number % 2 else G2,
            reported_at=f"2023-08-{number + 1:02d} 09:00",
            status="pending",
            description=text,
        )
        for number, text in enumerate(descriptions)
    ]
    tables = {**KPI_TABLES, "events": KPI_TABLES["events"] + extra}
    write_folder(root / "input", tables)
    return build_folder(root / "input", root / "yiping.duckdb").db_path


# ------------------------------------------------------------------------------------- tables


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM, so Excel reads the Chinese"
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))


def test_csv_has_a_bom_and_neutralises_formula_text():
    frame = pd.DataFrame({"=header": FORMULAS + HARMLESS, "count": range(len(FORMULAS) + len(HARMLESS))})
    rows = _csv_rows(export.csv_bytes(frame))
    assert rows[0] == ["'=header", "count"]
    assert [row[0] for row in rows[1:]] == NEUTRALISED + HARMLESS
    assert [row[1] for row in rows[1:]] == [str(n) for n in range(len(FORMULAS) + len(HARMLESS))]


def test_excel_neutralises_formula_text_and_keeps_numbers():
    frame = pd.DataFrame(
        {
            "description": FORMULAS + HARMLESS,
            "resolution_rate": [0.5] * (len(FORMULAS) + len(HARMLESS)),
            "total": range(len(FORMULAS) + len(HARMLESS)),
        }
    )
    book = openpyxl.load_workbook(io.BytesIO(export.xlsx_bytes({"=事件": frame})))
    sheet = book.worksheets[0]
    assert sheet.title == "=事件"  # a sheet name is never evaluated
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == NEUTRALISED + HARMLESS
    rates = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.value == 0.5 and cell.number_format == "0.0%" for cell in rates)
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == list(range(len(rates)))


def test_event_descriptions_from_the_database_come_out_neutralised(events_db):
    sheet = queries.event_sheet(events_db, "50", "2023-01-01", "2023-12-31", limit=100)
    table = export.readable(sheet, "zh")
    column = "描述"
    assert column in table.columns

    rows = _csv_rows(export.csv_bytes(table))
    position = rows[0].index(column)
    shown = {row[position] for row in rows[1:]}
    assert set(NEUTRALISED) <= shown
    assert not set(FORMULAS) & shown
    assert set(HARMLESS) <= shown

    book = openpyxl.load_workbook(io.BytesIO(export.xlsx_bytes({"事件单": table})))
    values = [row for row in book.worksheets[0].iter_rows(values_only=True)]
    position = list(values[0]).index(column)
    shown = {row[position] for row in values[1:]}
    assert set(NEUTRALISED) <= shown
    assert not set(FORMULAS) & shown
    assert all(cell.data_type != "f" for row in book.worksheets[0].iter_rows() for cell in row)


def test_readable_names_columns_and_enumerations():
    frame = pd.DataFrame(
        {
            "code": ["500101"],
            "name": ["甲区"],
            "category": ["dispute"],
            "total": [3],
            "resolution_rate": [0.5],
        }
    )
    assert list(export.readable(frame, "zh").columns) == ["区划代码", "名称", "类别", "事件总数", "办结率"]
    assert export.readable(frame, "zh")["类别"].tolist() == ["矛盾纠纷"]
    assert export.readable(frame, "en")["Category"].tolist() == ["Dispute"]


def _sheet_rows(data: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(data)).worksheets[0].iter_rows())


def test_excel_of_a_chart_table_has_periods_labels_and_number_formats():
    monthly = pd.DataFrame(
        {
            "month": ["2024-01", "2024-02"],
            "category": ["dispute", "traffic"],
            "events": [3, 12_000],
            "resolution_rate": [0.853, None],
            "median_hours": [12.25, 3.0],
        }
    )
    table = charts.data_table(
        monthly,
        {
            "month": "month",
            "category": "enum",
            "events": ("count", "事件数"),
            "resolution_rate": "rate",
            "median_hours": "hours",
        },
        "zh",
    )
    caption = ["荣昌区 · 各月事件", "统计时段：2024-01-01 至 2024-12-31（同比 2023-01-01 至 2023-12-31）"]
    rows = _sheet_rows(export.xlsx_bytes({"各月事件": table}, captions={"各月事件": caption}))
    assert [rows[0][0].value, rows[1][0].value] == caption
    header, first, second = ([cell.value for cell in rows[2]], rows[3], rows[4])
    assert header == ["月份", "类别", "事件数", "办结率", "中位数(小时)"]
    month, category, events, rate, hours = first
    assert month.value.year == 2024 and month.value.month == 1 and month.number_format == "yyyy-mm"
    assert category.value == "矛盾纠纷"
    assert events.value == 3 and second[2].value == 12_000 and events.number_format == "#,##0"
    assert rate.value == pytest.approx(0.853) and rate.number_format == "0.0%"
    assert second[3].value is None
    assert hours.number_format == "#,##0.0"


def test_readable_labels_every_column_of_every_report_chart(demo_db):
    """The frames behind the report's charts (and the pages' overview charts), as a download names them."""
    model = report.build_report(demo_db, "500153", "2024-01-01", "2024-12-31")
    frames = [chart.data for chart in report.charts_of(model)] + [model["ranking"]["table"]]
    for frame in frames:
        table = export.readable(frame, "zh")
        assert not [c for c in table.columns if re.fullmatch(r"[a-z0-9_]+", str(c))], list(frame.columns)
        rows = _sheet_rows(export.xlsx_bytes({"表": table}))
        for column, cell in zip(frame.columns, rows[1] if len(rows) > 1 else (), strict=False):
            kind = export.column_kind(str(column))
            if kind and isinstance(cell.value, int | float):
                assert cell.number_format == export.KIND_FORMATS[kind], column
    growth = export.readable(pd.DataFrame({"previous_operating_income": [1.5], "age_start": [0]}), "en")
    assert list(growth.columns) == ["Previous year's operating income (¥)", "Age from"]


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("荣昌区 · 事件趋势与办结率", "荣昌区_事件趋势与办结率"),
        ("a/b\\c:d*e?f", "a_b_c_d_e_f"),
        ("../../etc", "etc"),
    ],
)
def test_file_stems_are_plain(name, stem):
    assert file_stem(name) == stem


# ------------------------------------------------------------------------------------- images


def _title_figure(text: str) -> go.Figure:
    """Nothing but a large Chinese title: the pixels that are drawn are the glyphs."""
    fig = go.Figure()
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title={"text": text, "font": {"size": 40}, "x": 0.05})
    return fig


def _ink(png: bytes) -> int:
    """Pixels that are not the white background."""
    image = Image.open(io.BytesIO(png)).convert("L")
    return sum(count for level, count in enumerate(image.histogram()) if level < 200)


def _same(first: bytes, second: bytes) -> bool:
    a, b = (Image.open(io.BytesIO(data)).convert("RGB") for data in (first, second))
    return a.size == b.size and ImageChops.difference(a, b).getbbox() is None


FONTLESS_SCRIPT = """
import sys
import kaleido
import plotly.io as pio
figure = pio.from_json(sys.stdin.read())
sys.stdout.buffer.write(kaleido.calc_fig_sync(
    figure, opts={"format": "png", "width": 720, "height": 200, "scale": 1}, kopts={"mathjax": False}))
"""


def _fonts_without_chinese(folder: Path) -> Path:
    """A folder with links to the system's fonts that have no Chinese glyphs."""

    def files(pattern: str) -> set[str]:
        listed = subprocess.run(
            ["fc-list", pattern, "file"], capture_output=True, text=True, check=True
        ).stdout
        return {line.strip().rstrip(":") for line in listed.splitlines() if line.strip()}

    folder.mkdir()
    for number, font in enumerate(sorted(files(":") - files(":lang=zh"))):
        (folder / f"{number}{Path(font).suffix}").symlink_to(font)
    assert any(folder.iterdir()), "a font without Chinese glyphs, to draw the boxes with"
    return folder


def _render_without_cjk_fonts(fig: go.Figure, tmp_path: Path) -> bytes:
    """The same figure drawn by a browser that has no Chinese font: every Chinese character is a box."""
    fonts = (
        _fonts_without_chinese(tmp_path / "fonts")
        if not (tmp_path / "fonts").exists()
        else tmp_path / "fonts"
    )
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd"><fontconfig>'
        f"<dir>{fonts}</dir><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>"
    )
    styled = export.styled_for_export(fig, light=True)
    result = subprocess.run(
        [sys.executable, "-c", FONTLESS_SCRIPT],
        input=styled.to_json().encode(),
        capture_output=True,
        env={**os.environ, "FONTCONFIG_FILE": str(config)},
        timeout=120,
        check=True,
    )
    return result.stdout


def test_chinese_in_a_png_is_drawn_not_blank_and_not_tofu(tmp_path):
    first, second = _title_figure("事件趋势与办结率"), _title_figure("矛盾纠纷基层化解")
    drawn = [export.figure_image(fig, "png", "document", width=720, height=200) for fig in (first, second)]
    blank = export.figure_image(_title_figure(""), "png", "document", width=720, height=200)

    assert _ink(blank) == 0
    assert all(_ink(png) > 1500 for png in drawn), "the title is drawn"
    # Missing glyphs are all the same box: two different texts would look alike.
    assert not _same(drawn[0], drawn[1])

    fontless = [_render_without_cjk_fonts(fig, tmp_path) for fig in (first, second)]
    assert _same(fontless[0], fontless[1]), "without CJK fonts both titles are the same row of boxes"
    assert not _same(drawn[0], fontless[0]), "with the fonts the title is not boxes"


def test_png_sizes_for_the_wall_and_for_print():
    trend = pd.DataFrame(
        {
            "month": pd.to_datetime(["2024-01-01", "2024-02-01"]),
            "total": [10, 12],
            "resolved": [9, 12],
            "resolution_rate": [0.9, 1.0],
        }
    )
    fig = charts.trend_chart(trend, "zh", height=250)
    wall = Image.open(io.BytesIO(export.figure_image(fig, "png", "wall")))
    paper = Image.open(io.BytesIO(export.figure_image(fig, "png", "print")))
    assert wall.size == (1920, 1080)
    assert paper.size[0] == round(720 * 300 / 96)
    # The wall picture is dark and opaque, the print one white.
    assert wall.convert("RGB").getpixel((2, 2)) == (10, 22, 40)
    assert paper.convert("RGB").getpixel((2, 2)) == (255, 255, 255)


def _printed_words(svg: bytes, folder: Path) -> set[str]:
    """The words of an SVG as a reader sees them: printed alone, so that what lies beyond the picture's
    edge is cut, and read back from the PDF (a label cut in half leaves its other half, or nothing)."""
    document = (
        "<html><head><style>body { margin: 0 } svg { display: block; width: 100%; height: auto }</style>"
        f"</head><body>{svg.decode('utf-8')}</body></html>"
    )
    pdf = folder / "svg.pdf"
    pdf.write_bytes(report.html_to_pdf(document))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    return set(text.stdout.split())


MONTHS = [f"2024-{month:02d}" for month in range(1, 13)]
AGE_GROUPS = [f"{start}-{start + 4}" for start in range(0, 85, 5)] + ["85+"]


def _axis_figures() -> list[tuple[go.Figure, list[str]]]:
    """Charts with labels at every edge, and the tick labels each must show: months along the bottom,
    counts on the left, percentages on the right; age groups on the left of the pyramid."""
    trend = pd.DataFrame(
        {
            "month": pd.date_range("2024-01-01", periods=12, freq="MS"),
            "total": [2, 1, 0, 1, 2, 1, 2, 1, 0, 1, 2, 1],
            "resolved": [1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1],
            "resolution_rate": [0.5, 1, None, 1, 0.5, 1, 0.5, 1, None, 1, 0.5, 1],
        }
    )
    pyramid = pd.DataFrame(
        [
            {"age_group": group, "age_start": number * 5, "gender": gender, "residents": 10 + number * 3}
            for number, group in enumerate(AGE_GROUPS)
            for gender in ("M", "F")
        ]
    )
    top = int(pyramid["residents"].max())
    ticks = [fmt.count(value, "zh") for value in (20, 40, 60) if value <= top]
    return [
        (charts.trend_chart(trend, "zh", height=250), MONTHS + ["0", "1", "2"] + ["0", "20", "60", "100"]),
        (charts.age_pyramid_chart(pyramid, "zh", height=480), AGE_GROUPS + ticks),
    ]


@pytest.mark.parametrize("preset", ["wall", "document"])
def test_exported_charts_show_every_axis_label_whole(preset, tmp_path):
    # The wall's SVG has the layout of its PNG (the PNG is the same page at twice the pixels).
    for fig, labels in _axis_figures():
        words = _printed_words(export.figure_image(fig, "svg", preset), tmp_path)
        assert not [label for label in labels if label not in words], sorted(words)


def test_svg_keeps_the_chinese_as_text():
    svg = export.figure_image(_title_figure("事件趋势与办结率"), "svg", "document").decode("utf-8")
    assert svg.startswith("<svg")
    assert "事件趋势与办结率" in svg
    assert "Noto Sans CJK SC" in svg


def test_a_title_heads_the_figure_own_title_and_the_period_follows():
    untitled = export.styled_for_export(_title_figure(""), light=True, title="荣昌区 · 排名")
    titled = export.styled_for_export(
        _title_figure("办结率"), light=True, title="荣昌区 · 排名", subtitle="时段"
    )
    assert untitled.layout.title.text == "荣昌区 · 排名"
    assert titled.layout.title.text == "荣昌区 · 排名 · 办结率"
    assert titled.layout.title.subtitle.text == "时段"
    assert export.styled_for_export(_title_figure("办结率"), light=True).layout.title.text == "办结率"


def test_one_browser_serves_every_image_and_a_warm_one_is_quick():
    fig = _title_figure("擂台比武")
    export.figure_image(fig, "png", "wall")
    pid = export.image_browser_pid()
    assert pid is not None
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        export.figure_image(fig, "png", "wall")
        timings.append(time.perf_counter() - started)
    assert export.image_browser_pid() == pid
    # Target 0.5 s; a fresh browser per image would take 2 s and more.
    assert statistics.median(timings) < 1.5, timings


def test_a_browser_that_died_is_replaced():
    fig = _title_figure("重新启动")
    export.figure_image(fig, "png", "wall")
    pid = export.image_browser_pid()
    os.kill(pid, signal.SIGKILL)  # the export's own browser, as if it had crashed
    assert _ink(export.figure_image(fig, "png", "document")) > 0
    assert export.image_browser_pid() not in (None, pid)


def test_threads_share_the_browser_and_each_gets_its_own_image():
    titles = [f"区域{number}" for number in range(6)]
    results: dict[str, str] = {}

    def render(title: str) -> None:
        results[title] = export.figure_image(_title_figure(title), "svg", "document").decode("utf-8")

    workers = [threading.Thread(target=render, args=(title,)) for title in titles]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert sorted(results) == titles
    for title, svg in results.items():
        assert title in svg
        assert not [other for other in titles if other != title and other in svg]


def test_static_map_draws_every_cell_and_labels_the_children(events_db):
    cells = queries.map_cells(events_db, "500101", "2023-01-01", "2023-12-31")
    labels = queries.child_positions(events_db, "500101")
    fig = export.static_map(cells, labels, "events", "zh")
    filled = [trace for trace in fig.data if trace.fill == "toself"]
    drawn = sum(list(trace.x).count(None) for trace in filled)
    assert drawn == len(cells)
    texts = [list(trace.text) for trace in fig.data if trace.mode == "text"]
    assert texts and set(texts[0]) == set(labels["name"])
    assert {trace.type for trace in fig.data} == {"scatter"}  # plain shapes: no tiles, no map server
    png = export.figure_image(fig, "png", "print")
    assert _ink(png) > 0


def test_static_map_of_a_region_without_cells_says_so():
    empty = pd.DataFrame(columns=["cell", "events"])
    fig = export.static_map(empty, pd.DataFrame(columns=["code", "name", "lon", "lat"]), "events", "zh")
    assert fig.layout.annotations[0].text


# ------------------------------------------------------------------------------------ browser


def test_overview_chart_downloads_in_a_browser(demo_db, streamlit_server, page, artifacts_dir):
    base = streamlit_server(demo_db)
    page.goto(f"{base}/?region=500153&from=2024-01-01&to=2024-12-31")
    page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
    popover = page.locator('[data-testid="stPopover"]').first
    popover.locator("button").click(timeout=60_000)
    page.screenshot(path=str(artifacts_dir / "overview_downloads.png"))

    with page.expect_download(timeout=120_000) as wall:
        page.get_by_role("button", name=t("download_png_wall")).click()
    assert wall.value.suggested_filename == "荣昌区_事件趋势与办结率_1920.png"
    assert Image.open(wall.value.path()).size == (1920, 1080)

    with page.expect_download(timeout=60_000) as table:
        page.get_by_role("button", name=t("download_csv")).click()
    rows = _csv_rows(Path(table.value.path()).read_bytes())
    assert rows[0][:2] == ["月份", "事件总数"]


# Spreadsheets skip blanks before a formula, and read the full-width signs as theirs.
HIDDEN_FORMULAS = [
    ' =HYPERLINK("http://example.com","点击")',
    "\n=1+1",
    "\u3000@SUM(A1:A9)",
    '＝HYPERLINK("http://example.com")',
    "＋cmd|' /C calc'!A0",
    "－2+3+cmd|' /C calc'!A0",
    "＠SUM(A1:A9)",
]


def test_exports_neutralise_formulas_behind_blanks_and_in_full_width_signs():
    frame = pd.DataFrame({"description": HIDDEN_FORMULAS})
    rows = _csv_rows(export.csv_bytes(frame))
    assert [row[0] for row in rows[1:]] == ["'" + text for text in HIDDEN_FORMULAS]
    book = openpyxl.load_workbook(io.BytesIO(export.xlsx_bytes({"事件": frame})))
    cells = [row[0] for row in book.worksheets[0].iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == ["'" + text for text in HIDDEN_FORMULAS]
    assert all(cell.data_type != "f" for cell in cells)

"""The report: PDF, HTML and Excel with the figures `kpis` returns, safe text, and the `report` command."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import openpyxl
import pytest
from inputs import G1, KPI_TABLES, REGIONS, build_folder, event, run_cli, write_folder
from streamlit.testing.v1 import AppTest

from dashboard import auth, charts, queries, report
from dashboard.access import Principal
from dashboard.labels import kpi_label, t
from dashboard.queries import OPERATOR, Gate, OutOfScope

APP = Path(__file__).resolve().parent.parent / "app.py"
PERIOD = ("2024-01-01", "2024-12-31")
DISTRICT = "500153"

# Region names a spreadsheet or a browser would take for code.
FORMULA_NAME = '=HYPERLINK("http://example.com","看")街道'
MARKUP_NAME = "<b>粗体</b>镇"
LONG = "500199"
LONG_TOWNSHIPS = 48


def _long_district() -> list[dict]:
    """A district with many townships, each with one community and one grid, two named like code."""
    rows = [
        {
            "code": LONG,
            "name": "长表区",
            "level": "district",
            "kind": "district",
            "lon": "106.0",
            "lat": "29.0",
        }
    ]
    for number in range(1, LONG_TOWNSHIPS + 1):
        township = f"{LONG}{number:03d}"
        name = {1: FORMULA_NAME, 2: MARKUP_NAME}.get(number, f"第{number}街道")
        lon, lat = f"{106 + number % 8 * 0.05:.2f}", f"{29 + number // 8 * 0.05:.2f}"
        rows += [
            {"code": township, "name": name, "level": "township", "parent_code": LONG, "kind": "street"},
            {
                "code": f"{township}001",
                "name": f"第{number}社区",
                "level": "community",
                "parent_code": township,
                "kind": "community",
            },
            {
                "code": f"{township}001001",
                "name": f"第{number}网格",
                "level": "grid",
                "parent_code": f"{township}001",
                "kind": "grid",
                "lon": lon,
                "lat": lat,
            },
        ]
    return rows


def _long_events() -> list[dict]:
    rows = []
    for number in range(1, LONG_TOWNSHIPS + 1):
        grid = f"{LONG}{number:03d}001001"
        for index in range(number % 4 + 1):
            resolved = index or number % 3
            rows.append(
                event(
                    event_id=f"L{number}-{index}",
                    grid_code=grid,
                    category="dispute",
                    reported_at=f"2023-{index + 3:02d}-10 09:00",
                    status="resolved" if resolved else "pending",
                    resolved_at=f"2023-{index + 3:02d}-11 09:00" if resolved else None,
                    resolution_level="grid" if resolved else None,
                    description="=1+1" if index == 0 else "楼道堆物",
                )
            )
    return rows


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    """KPI_TABLES and a district of many townships, two of them named like a formula and like markup."""
    root = tmp_path_factory.mktemp("report")
    tables = {
        **KPI_TABLES,
        "regions": REGIONS + _long_district(),
        "events": KPI_TABLES["events"]
        + _long_events()
        + [event(event_id="X1", grid_code=G1, description="@x")],
    }
    write_folder(root / "input", tables)
    return build_folder(root / "input", root / "yiping.duckdb").db_path


def _pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def _expected_numbers(current: dict) -> list[str]:
    """Every KPI as the report prints it."""
    shown = []
    for section, key, kind in report.KPI_ROWS:
        value = report._value(current, section, key)
        if value is not None:
            shown.append(report.figure_text(kind, value, "zh"))
    return shown


def assert_axis_labels_whole(pdf: Path, db: Path) -> None:
    """The trend's months and the pyramid's age groups are printed whole: a label cut at the edge of its
    chart leaves a part of itself in the PDF's text ("4" of "0-4", "+" of "85+") or nothing."""
    words = set(_pdf_text(pdf).split())
    groups = list(dict.fromkeys(queries.age_pyramid(db, DISTRICT, PERIOD[1])["age_group"]))
    expected = charts.months_between(*PERIOD) + groups
    assert not [label for label in expected if label not in words], words


@pytest.fixture(scope="module")
def district_pdf(demo_db, tmp_path_factory) -> Path:
    """The report of a district of the demo, written by the command."""
    out = tmp_path_factory.mktemp("pdf") / "district.pdf"
    result = run_cli(
        "report",
        "--db",
        str(demo_db),
        "--region",
        DISTRICT,
        "--from",
        PERIOD[0],
        "--to",
        PERIOD[1],
        "--out",
        str(out),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    return out


# ------------------------------------------------------------------------------------------- PDF


def test_pdf_opens_with_every_section(district_pdf):
    assert district_pdf.read_bytes().startswith(b"%PDF-")
    assert _pdf_pages(district_pdf) >= 4
    flat = "".join(_pdf_text(district_pdf).split())
    pages = _pdf_pages(district_pdf)
    for heading in (
        "荣昌区基层治理报告",
        "1概要",
        "2主要指标",
        "3人口",
        "4房屋",
        "5事件",
        "6集体经济",
        "7事件分布图",
        "8擂台比武（街镇）",
        "事件趋势与办结率",
        f"第1页/共{pages}页",
        f"第{pages}页/共{pages}页",
    ):
        assert heading in flat, heading
    for _, key, _ in report.KPI_ROWS:
        assert "".join(report._label(key, "zh").split()) in flat, key


def test_pdf_from_the_command_prints_every_axis_label_whole(district_pdf, demo_db):
    assert_axis_labels_whole(district_pdf, demo_db)


def test_pdf_numbers_are_those_of_kpis(district_pdf, demo_db):
    text = _pdf_text(district_pdf)
    current = queries.kpis(demo_db, DISTRICT, *PERIOD)
    missing = [number for number in _expected_numbers(current) if number not in text]
    assert not missing
    events = current["events"]
    assert f"共上报事件 {events['total']:,} 件" in text
    assert f"办结率 {events['resolution_rate'] * 100:.1f}%" in text


def test_pdf_summary_names_the_change_against_the_same_dates_a_year_earlier(district_pdf, demo_db):
    current, previous = queries.kpis_with_previous(demo_db, DISTRICT, *PERIOD)
    points = round((current["events"]["resolution_rate"] - previous["events"]["resolution_rate"]) * 100, 1)
    text = " ".join(_pdf_text(district_pdf).split())
    phrase = (
        "与去年同期持平"
        if points == 0
        else f"较去年同期{'提高' if points > 0 else '下降'} {abs(points):.1f} 个百分点"
    )
    assert phrase in text.replace("个 百分点", "个百分点")


def test_a_long_ranking_continues_over_pages_and_nothing_is_cut(small_db, tmp_path):
    out = report.write_report(small_db, LONG, "2023-01-01", "2023-12-31", tmp_path / "long.pdf")
    text = _pdf_text(out)
    flat = "".join(text.split())
    names = [f"第{number}街道" for number in range(3, LONG_TOWNSHIPS + 1)] + ["<b>粗体</b>镇"]
    assert not [name for name in names if name not in flat]
    assert "=HYPERLINK" in flat  # printed as text in the PDF
    # The table header is repeated on each page the ranking runs over.
    ranking_pages = [page for page in text.split("\f") if f"{LONG}0" in page]
    assert len(ranking_pages) >= 2
    assert all("排名" in page for page in ranking_pages)


def test_a_city_report_ranks_every_district(demo_db, tmp_path):
    out = report.write_report(demo_db, "50", *PERIOD, tmp_path / "city.pdf")
    flat = "".join(_pdf_text(out).split())
    districts = queries.children(demo_db, "50")
    assert not [name for name in districts["name"] if name not in flat]


# ------------------------------------------------------------------------------------------ HTML


def test_html_is_self_contained_and_escaped(small_db, tmp_path):
    out = report.write_report(small_db, LONG, "2023-01-01", "2023-12-31", tmp_path / "long.html")
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)
    assert "<script" not in page and "<link" not in page
    # charts as SVG within the page (their text stays text in a PDF), every clip path an id of its own
    assert page.count("<svg") >= 2 and "<img" not in page
    ids = re.findall(r'<clipPath[^>]* id="([^"]+)"', page)
    assert ids and len(ids) == len(set(ids))
    assert "<b>粗体</b>" not in page
    assert "&lt;b&gt;粗体&lt;/b&gt;镇" in page


def test_html_in_english(small_db, tmp_path):
    out = report.write_report(small_db, "500101", "2023-01-01", "2023-12-31", tmp_path / "en.html", lang="en")
    page = out.read_text(encoding="utf-8")
    total = queries.kpis(small_db, "500101", "2023-01-01", "2023-12-31")["events"]["total"]
    assert "Grassroots governance report" in page
    assert f"had {total} events reported" in page
    assert 'lang="en"' in page


@pytest.mark.parametrize(
    ("compare", "lang", "dates", "stated"),
    [
        (None, "zh", ("2022-07-01", "2022-12-31"), "2022-07-01 至 2022-12-31（同比）"),
        ("yoy", "en", ("2022-07-01", "2022-12-31"), "2022-07-01 to 2022-12-31 (Year on year)"),
        ("prev", "zh", ("2022-12-29", "2023-06-30"), "2022-12-29 至 2023-06-30（环比）"),
    ],
)
def test_the_report_states_the_dates_it_compares_with(small_db, tmp_path, compare, lang, dates, stated):
    more = {} if compare is None else {"compare": compare}
    period = ("2023-07-01", "2023-12-31")
    out = report.write_report(small_db, "500101", *period, tmp_path / "r.html", lang=lang, **more)
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", out.read_text(encoding="utf-8")))
    assert stated in page
    _, before = queries.kpis_with_previous(small_db, "500101", *period, **more)
    assert (before["from"], before["to"]) == dates


# ----------------------------------------------------------------------------------------- Excel


def test_excel_has_one_sheet_per_section_with_the_kpis(demo_db, tmp_path):
    out = report.write_report(demo_db, DISTRICT, *PERIOD, tmp_path / "district.xlsx")
    book = openpyxl.load_workbook(out)
    names = book.sheetnames
    assert names[:3] == ["封面", "概要", "主要指标"]
    assert {"事件趋势与办结率", "事件分布图", "擂台比武"} <= set(names)
    current = queries.kpis(demo_db, DISTRICT, *PERIOD)
    rows = list(book["主要指标"].iter_rows(min_row=4, values_only=True))
    assert len(rows) == len(report.KPI_ROWS)
    for (section, key, _), row in zip(report.KPI_ROWS, rows, strict=True):
        assert row[2] == pytest.approx(report._value(current, section, key)), key
    summary = [row[0] for row in book["概要"].iter_rows(min_row=4, values_only=True)]
    assert summary[0].startswith("荣昌区本期")


def test_excel_neutralises_names_that_look_like_formulas(small_db, tmp_path):
    out = report.write_report(small_db, LONG, "2023-01-01", "2023-12-31", tmp_path / "long.xlsx")
    book = openpyxl.load_workbook(out)
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    names = [row[2] for row in book["擂台比武"].iter_rows(min_row=4, values_only=True)]
    assert "'" + FORMULA_NAME in names
    assert MARKUP_NAME in names


def test_small_units_show_special_care_counts_below_5_as_less_than_5(small_db):
    community = "500101001001"
    model = report.build_report(small_db, community, "2023-01-01", "2023-12-31")
    care = {row["key"]: row for row in model["kpi_rows"] if row["kind"] == "care"}
    current = queries.kpis(small_db, community, "2023-01-01", "2023-12-31")["population"]["special_care"]
    for tag, count in current.items():
        row = care[f"special_care.{tag}"]
        assert row["current_text"] == ("<5" if count < 5 else f"{count:,}")
        assert row["current"] is None if count < 5 else row["current"] == count
    assert not [s for s in model["sections"] if any(c.key == "special_care" for c in s["charts"])]


# --------------------------------------------------------------------------------------- summary


def _kpis(
    total: int, resolution_rate: float, grassroots: float | None = 0.9, income: float = 0.0, villages: int = 0
) -> dict:
    return {
        "from": "2024-01-01",
        "to": "2024-12-31",
        "year": 2024,
        "population": {"residents": 1000, "households": 400, "elderly_share": 0.2, "floating_share": 0.1},
        "housing": {"units": 500, "rented": 50, "rental_share": 0.1, "vacancy_rate": 0.05},
        "events": {
            "total": total,
            "resolved": round(total * (resolution_rate or 0)),
            "resolution_rate": resolution_rate,
            "on_time_rate": 0.95,
            "median_hours_to_resolve": 12.25,
            "grassroots_rate": grassroots,
            "satisfaction_rate": 0.99,
            "overdue_open": 3,
        },
        "collective_economy": {"villages": villages, "operating_income": income, "share_ge_100k": 0.5},
    }


def test_summary_sentences_from_the_figures():
    import pandas as pd

    ranking = pd.DataFrame(
        {"name": ["甲镇", "乙镇", "丙镇"], "total": [5, 6, 7], "resolution_rate": [0.9, 0.99, float("nan")]}
    )
    sentences = report.summary(
        _kpis(12345, 0.962, income=1.2e8, villages=291),
        _kpis(11000, 0.949, income=1.0e8, villages=290),
        "荣昌区",
        ranking,
        "township",
    )
    assert sentences[0] == (
        "荣昌区本期（2024-01-01至2024-12-31）共上报事件 12,345 件，办结 11,876 件，"
        "办结率 96.2%，较去年同期提高 1.3 个百分点。"
    )
    assert "与去年同期持平" in sentences[1]
    assert "1.2亿元" in sentences[3] and "较上年增长 20.0%" in sentences[3]
    assert sentences[4] == "擂台比武：2 个街镇中，办结率最高的是乙镇（99.0%）；最低的是甲镇（90.0%）。"
    assert sentences[5] == "另有 1 个街镇本期没有事件，未参与排名。"
    before = _kpis(11000, 0.949, income=1.0e8, villages=290)
    against_previous = report.summary(
        _kpis(12345, 0.962), before, "荣昌区", ranking, "township", compare="prev"
    )
    assert against_previous[0].endswith("办结率 96.2%，较上期提高 1.3 个百分点。")


@pytest.mark.parametrize(
    "rates, lang, expected",
    [
        (
            [1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.8],
            "zh",
            "擂台比武：7 个街镇中，办结率最高的是甲镇、乙镇等 4 个街镇，并列 100.0%；"
            "最低的是己镇、庚镇，并列 80.0%。",
        ),
        (
            [1.0, 1.0, 0.9],
            "zh",
            "擂台比武：3 个街镇中，办结率最高的是甲镇、乙镇，并列 100.0%；最低的是丙镇（90.0%）。",
        ),
        ([0.5, 0.5, 0.5], "zh", "擂台比武：3 个街镇的办结率均为 50.0%。"),
        (
            [1.0, 1.0, 1.0, 1.0, 0.9],
            "en",
            "League table: of 5 township units, the highest resolution rate is shared by 4 township units, "
            "among them 甲镇, 乙镇 (100.0%); the lowest is 戊镇's (90.0%).",
        ),
    ],
)
def test_summary_says_every_tie(rates, lang, expected):
    import pandas as pd

    names = ["甲镇", "乙镇", "丙镇", "丁镇", "戊镇", "己镇", "庚镇"][: len(rates)]
    # more events first within a tie, as in the ranking table
    ranking = pd.DataFrame(
        {"name": names, "total": range(100, 100 - len(rates), -1), "resolution_rate": rates}
    )
    sentences = report.summary(_kpis(10, 0.9), _kpis(10, 0.9), "荣昌区", ranking, "township", lang)
    assert sentences[-1] == expected


def test_summary_agrees_with_the_funnel_and_the_ranking_beside_it(demo_db):
    """The summary counts what the funnel counts, with the funnel's words, and names a tie as one."""
    from dashboard.labels import t

    period = queries.default_period(demo_db)
    districts = queries.children(demo_db, "50")["code"]
    funnels = {c: queries.events_funnel(demo_db, c, period.start, period.end) for c in districts}
    # a district where some events were reported but not yet accepted: 上报 and 受理 differ
    code = next(c for c, f in funnels.items() if f["events"].iloc[0] != f["events"].iloc[1])
    for region in (code, "50"):
        model = report.build_report(demo_db, region, period.start, period.end)
        [funnel] = [c.data for s in model["sections"] for c in s["charts"] if c.key == "funnel"]
        counts = {
            t(f"stage_{stage}"): events
            for stage, events in zip(funnel["stage"], funnel["events"], strict=True)
        }
        said = re.findall(r"(上报|受理|办结)事件?\s*([\d,]+)\s*件", model["summary"][0])
        assert said and {word for word, _ in said} <= set(counts)
        assert all(int(number.replace(",", "")) == counts[word] for word, number in said), said

        table = model["ranking"]["table"]
        best = table[table["rank"] == 1]
        sentence = next(s for s in model["summary"] if s.startswith("擂台比武"))
        best_part = sentence.split("；")[0]
        if len(best) > 1:
            assert "并列" in best_part
            assert f"等 {len(best)} 个" in best_part or all(n in best_part for n in best["name"])
        for name in table.loc[table["rank"] != 1, "name"]:
            assert name not in best_part.split("最高的是")[-1], name


def test_summary_without_events_or_accounts():
    sentences = report.summary(_kpis(0, None, None), _kpis(0, None, None), "甲区", pd_empty(), None)
    assert sentences[0] == "甲区本期（2024-01-01至2024-12-31）没有上报事件。"
    assert sentences[-1] == "2024 年度没有村集体经济数据。"


def pd_empty():
    import pandas as pd

    return pd.DataFrame(columns=["name", "total", "resolution_rate"])


# ---------------------------------------------------------------------------------- the command


def test_command_writes_excel(small_db, tmp_path):
    out = tmp_path / "甲区.xlsx"
    result = run_cli(
        "report",
        "--db",
        str(small_db),
        "--region",
        "500101",
        "--from",
        "2023-01-01",
        "--to",
        "2023-12-31",
        "--year",
        "2023",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    book = openpyxl.load_workbook(io.BytesIO(out.read_bytes()))
    assert "主要指标" in book.sheetnames
    assert sorted(p.name for p in tmp_path.iterdir()) == ["甲区.xlsx"]


def test_command_compares_with_the_period_just_before_on_request(small_db, tmp_path):
    out = tmp_path / "r.html"
    args = ["--db", str(small_db), "--region", "500101", "--from", "2023-07-01", "--to", "2023-12-31"]
    result = run_cli("report", *args, "--compare", "prev", "--out", str(out))
    assert result.returncode == 0, result.stderr
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", out.read_text(encoding="utf-8")))
    assert "2022-12-29 至 2023-06-30（环比）" in page
    assert run_cli("report", *args, "--compare", "mom", "--out", str(out)).returncode == 2


@pytest.mark.parametrize(
    ("region", "start", "end", "out", "code", "message"),
    [
        ("999999", "2023-01-01", "2023-12-31", "r.pdf", 1, "不存在"),
        ("500101", "2023-12-31", "2023-01-01", "r.pdf", 2, "--from"),
        ("500101", "2023-02-30", "2023-12-31", "r.pdf", 2, "YYYY-MM-DD"),
        ("500101", "2023-01-01", "2023-12-31", "r.docx", 2, "格式"),
        ("500101", "2023-01-01", "2023-12-31", "missing/r.pdf", 1, "目录"),
        ("500101", "2023-01-01", "2023-12-31", "folder.pdf", 1, "目录"),
    ],
)
def test_command_refuses_bad_arguments_and_leaves_nothing(
    small_db, tmp_path, region, start, end, out, code, message
):
    (tmp_path / "folder.pdf").mkdir()
    result = run_cli(
        "report",
        "--db",
        str(small_db),
        "--region",
        region,
        "--from",
        start,
        "--to",
        end,
        "--out",
        str(tmp_path / out),
    )
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 4  # one message (argparse adds its usage lines)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.pdf"]


def test_command_without_a_database_fails(tmp_path):
    result = run_cli(
        "report",
        "--db",
        str(tmp_path / "none.duckdb"),
        "--region",
        "50",
        "--from",
        "2023-01-01",
        "--to",
        "2023-12-31",
        "--out",
        str(tmp_path / "r.pdf"),
    )
    assert result.returncode == 1
    assert "数据库不存在" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_failed_render_leaves_the_old_file_and_no_partial_one(small_db, tmp_path, monkeypatch):
    out = tmp_path / "r.html"
    out.write_text("earlier report", encoding="utf-8")

    def broken(model: dict, output_format: str, printer=None) -> bytes:
        raise report.ReportError("打印失败")

    monkeypatch.setattr(report, "render", broken)
    with pytest.raises(report.ReportError):
        report.write_report(small_db, "500101", "2023-01-01", "2023-12-31", out)
    assert out.read_text(encoding="utf-8") == "earlier report"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


# ------------------------------------------------------------------------------------------ page


def test_report_page_generates_a_download(small_db, monkeypatch):
    monkeypatch.setenv("YIPING_DB", str(small_db))
    monkeypatch.setattr(auth, "principal", lambda: Principal("analyst", "analyst", "50", "password"))
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in {"region": "500101", "from": "2023-01-01", "to": "2023-12-31"}.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("views/report.py")
    at.run()
    assert not at.exception, at.exception
    assert "甲区本期" in " ".join(str(e.proto) for e in at.get("html"))
    assert len(at.get("plotly_chart")) >= 2
    # the preview ranks as the overview and the PDF do: the league's columns, its rank first
    [league] = [frame.value for frame in at.dataframe if t("rank") in frame.value.columns]
    assert list(league.columns[:3]) == [t("rank"), t("region"), kpi_label("total")]
    [generate] = [button for button in at.button if button.label == "生成报告"]
    generate.click().run()
    assert not at.exception, at.exception
    assert not at.error
    labels = [button.proto.label for button in at.get("download_button")]
    # the report, and the five files of each chart the preview shows
    assert labels.count("下载报告") == 1 and len(labels) == 1 + 5 * len(at.get("plotly_chart"))
    reports = auth.store().audit_rows(action="report")
    assert [(row["account"], row["target"]) for row in reports] == [("analyst", "report:500101:pdf")]


def test_report_page_downloads_a_pdf_in_a_browser(demo_db, streamlit_server, page, artifacts_dir):
    base = streamlit_server(demo_db)
    page.goto(f"{base}/report?region={DISTRICT}&from={PERIOD[0]}&to={PERIOD[1]}")
    page.get_by_role("button", name="生成报告").click(timeout=120_000)
    download_button = page.get_by_role("button", name="下载报告")
    download_button.wait_for(timeout=120_000)
    page.screenshot(path=str(artifacts_dir / "report_page.png"))
    with page.expect_download(timeout=60_000) as download:
        download_button.click()
    assert download.value.suggested_filename == f"荣昌区_{PERIOD[0]}_{PERIOD[1]}.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    # the app's process draws the same figures as the command: no label cut at a chart's edge
    assert_axis_labels_whole(Path(download.value.path()), demo_db)


# --------------------------------------------------------------------------------- scope and roles


def test_a_scoped_analyst_gets_nothing_of_another_region(demo_db, tmp_path):
    analyst = Principal("rongchang", "analyst", DISTRICT, "password")
    for region in ("500103", "50"):
        with pytest.raises(OutOfScope, match="无权查看"):
            report.build_report(demo_db, region, *PERIOD, principal=analyst)
        with pytest.raises(OutOfScope):
            report.write_report(demo_db, region, *PERIOD, tmp_path / "r.xlsx", principal=analyst)
    assert not list(tmp_path.iterdir())
    own = report.build_report(demo_db, DISTRICT, *PERIOD, principal=analyst)
    assert own["region"]["path"] == own["region"]["name"]  # nothing above the scope
    township = str(queries.children(demo_db, DISTRICT)["code"].iloc[0])
    below = report.build_report(demo_db, township, *PERIOD, principal=analyst)
    assert below["region"]["path"].startswith(own["region"]["name"] + " › ")


def test_a_community_report_hides_what_its_page_hides(demo_db):
    community = str(
        queries._fetch_df(
            demo_db,
            "select region_code from population_by_region where level = 'community' "
            "order by residents desc, region_code limit 1",
        )["region_code"].iloc[0]
    )
    model = report.build_report(demo_db, community, *PERIOD)
    charts = {chart.key: chart.data for chart in report.charts_of(model)}
    page = Gate(OPERATOR)
    pyramid = page.ask("age_pyramid", demo_db, community, PERIOD[1])
    assert pyramid["residents"].isna().any()
    assert charts["age_pyramid"]["residents"].equals(pyramid["residents"])
    composition = page.ask("population_composition", demo_db, community)
    assert charts["composition"]["residents"].equals(composition["residents"])
    assert charts["population_by_child"]["residents"].equals(
        page.ask("population_by_child", demo_db, community, PERIOD[1])["residents"]
    )


def test_snapshot_figures_have_no_compared_value_and_no_change(demo_db):
    """Residents, households and housing are one snapshot: the compared period cannot differ from it."""
    current, previous = queries.kpis_with_previous(demo_db, DISTRICT, *PERIOD)
    rows = {row["key"]: row for row in report.kpi_rows(current, previous)}
    snapshots = [key for section, key, _ in report.KPI_ROWS if section in ("population", "housing")]
    assert {"residents", "households", "units", "rental_share", "special_care.elderly_alone"} <= set(
        snapshots
    )
    for key in snapshots:
        assert (rows[key]["previous_text"], rows[key]["change_text"]) == ("—", "—"), key
        assert rows[key]["current_text"] not in ("—", ""), key
    assert re.fullmatch(r"[+-][0-9.,]+%", rows["total"]["change_text"])

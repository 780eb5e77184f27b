"""Hardening: what a URL, an input file or an export can carry is data, never code, markup or a crash.

The browser side (rendered pages, requests, CPU) is in test_browser_hardening.py.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import string
import subprocess
import tomllib

import duckdb
import pandas as pd
import pytest
from inputs import REPO_ROOT, build_folder, query, write_folder
from streamlit.testing.v1 import AppTest

from dashboard import charts, maps
from dashboard.text import literal
from pipelines.build import BuildError
from pipelines.safety import NEUTRALIZE_SQL_MACRO, SALT_FILE_NAME, installation_salt, neutralize_formula

# --------------------------------------------------------------------------- server settings


def test_visitors_see_no_error_details_and_tables_offer_no_raw_export():
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["disableDataExport"] is True


def test_the_salt_the_build_writes_is_ignored_by_git(tmp_path, monkeypatch):
    monkeypatch.delenv("YIPING_SALT", raising=False)
    data = REPO_ROOT / "data"
    written = data / SALT_FILE_NAME
    existed = written.exists()
    try:
        installation_salt(data)
        assert written.exists()
        checked = subprocess.run(
            ["git", "check-ignore", "--no-index", "-q", str(written.relative_to(REPO_ROOT))],
            cwd=REPO_ROOT,
            check=False,
        )
        assert checked.returncode == 0, f"{written.name} is not ignored by git"
    finally:
        if not existed:
            written.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------- exports

FORMULAS = [
    (" =1+1", "' =1+1"),
    ("  @SUM(A1)", "'  @SUM(A1)"),
    ("\n=1+1", "'\n=1+1"),
    ("\t-2+3", "'\t-2+3"),
    ('＝HYPERLINK("http://x")', '\'＝HYPERLINK("http://x")'),
    ("＋cmd|' /C calc'!A0", "'＋cmd|' /C calc'!A0"),
    ("－2+3+cmd|' /C calc'!A0", "'－2+3+cmd|' /C calc'!A0"),
    ("＠SUM(A1:A9)", "'＠SUM(A1:A9)"),
    ("\u3000=1", "'\u3000=1"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("-5\n", "'-5\n"),
    ("-5", "-5"),
    ("+1.5e3", "+1.5e3"),
    ("a =1", "a =1"),
    ("张 =1", "张 =1"),
]


@pytest.mark.parametrize(("value", "shown"), FORMULAS)
def test_formulas_behind_blanks_and_full_width_signs_are_neutralised(value, shown):
    assert neutralize_formula(value) == shown


@pytest.mark.parametrize(("value", "shown"), FORMULAS)
def test_sql_neutralisation_agrees(value, shown):
    con = duckdb.connect()
    con.execute(NEUTRALIZE_SQL_MACRO)
    assert con.execute("select yp_safe_text(?)", [value]).fetchall()[0][0] == shown


# ------------------------------------------------------------------------ optional input files

SQUARE = [[106.0, 29.0], [106.1, 29.0], [106.1, 29.1], [106.0, 29.1], [106.0, 29.0]]


def outline(code: str, geometry: object) -> dict:
    return {"type": "Feature", "properties": {"code": code}, "geometry": geometry}


def collection(*features: object) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


MALFORMED_OPTIONAL_FILES = [
    ("DEMO.json", "[1, 2]", "DEMO.json: 应为 JSON 对象"),
    ("DEMO.json", '"demo"', "DEMO.json: 应为 JSON 对象"),
    ("DEMO.json", "{demo: true", "DEMO.json: 不是有效的 JSON"),
    ("boundaries.geojson", "[1, 2]", "boundaries.geojson: 不是有效的 GeoJSON"),
    ("boundaries.geojson", collection(1), "boundaries.geojson: 第 1 个要素不是 GeoJSON Feature 对象"),
    ("boundaries.geojson", collection("x"), "boundaries.geojson: 第 1 个要素不是 GeoJSON Feature 对象"),
    (
        "boundaries.geojson",
        collection({"type": "Feature", "properties": [], "geometry": None}),
        "boundaries.geojson: 第 1 个要素缺少 properties.code",
    ),
    (
        "boundaries.geojson",
        collection(outline("500101", {"type": "Polygon", "coordinates": []})),
        "boundaries.geojson: 第 1 个要素（500101）的几何无效：coordinates 为空",
    ),
    (
        "boundaries.geojson",
        collection(outline("500101", {"type": "Polygon", "coordinates": [[]]})),
        "的几何无效：环应至少有 4 个点",
    ),
    (
        "boundaries.geojson",
        collection(outline("500101", {"type": "MultiPolygon", "coordinates": [[]]})),
        "的几何无效：多边形没有环",
    ),
    (
        "boundaries.geojson",
        collection(outline("500101", {"type": "Polygon", "coordinates": [[[1, 2], [1], [3, 4], [1, 2]]]})),
        "的几何无效：点 [1] 不是 [经度, 纬度]",
    ),
    (
        "boundaries.geojson",
        collection(outline("500101", {"type": "Polygon", "coordinates": [[["a", 2]] * 4]})),
        "不是 [经度, 纬度]",
    ),
    (
        "boundaries.geojson",
        collection(outline("500101", {"type": "Polygon", "coordinates": [[[1e400, 2]] * 4]})),
        "超出经纬度范围",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), MALFORMED_OPTIONAL_FILES)
def test_malformed_optional_files_stop_the_build_with_one_line(tmp_path, name, content, message):
    folder = write_folder(tmp_path / "input", {})
    (folder / name).write_text(content, encoding="utf-8")
    with pytest.raises(BuildError) as raised:
        build_folder(folder, tmp_path / "yiping.duckdb")
    text = str(raised.value)
    assert message in text
    assert text.startswith(f"{name}: ")
    assert "\n" not in text
    assert not (tmp_path / "yiping.duckdb").exists()


def test_well_formed_optional_files_still_load(tmp_path):
    folder = write_folder(tmp_path / "input", {})
    (folder / "DEMO.json").write_text('{"demo": true, "seed": 7}', encoding="utf-8")
    (folder / "boundaries.geojson").write_text(
        collection(
            outline("500101", {"type": "Polygon", "coordinates": [SQUARE]}),
            outline("500102", {"type": "MultiPolygon", "coordinates": [[SQUARE], [SQUARE]]}),
        ),
        encoding="utf-8",
    )
    db = tmp_path / "yiping.duckdb"
    build_folder(folder, db)
    given = "select code from boundaries where source = 'input' order by code"
    assert query(db, given) == [("500101",), ("500102",)]
    assert query(db, "select is_demo from build_info") == [(True,)]


# ------------------------------------------------------------------------------ the URL is input

URL_CASES = [
    # (parameter, value, what the page uses, the message's start or None)
    ("rotate", "30", 30, None),
    ("rotate", "1", None, "链接参数 rotate 应在 10 至 3600 之间"),
    ("rotate", "2147484", None, "链接参数 rotate 应在 10 至 3600 之间"),
    ("rotate", "1" + "0" * 400, None, "链接参数 rotate 过长"),
    ("rotate", "1" + "0" * 40, None, "链接参数 rotate 不是整数"),
    ("rotate", "-5", None, "链接参数 rotate 应在"),
    ("rotate", "1e3", None, "链接参数 rotate 不是整数"),
    ("year", "2023", 2023, None),
    ("year", "0", None, "链接参数 year 应在 2000 至 2099 之间"),
    ("year", "99999", None, "链接参数 year 应在 2000 至 2099 之间"),
    ("from", "2023-01-01", dt.date(2023, 1, 1), None),
    (
        "from",
        "0001-01-01",
        dt.date(2000, 1, 1),
        "链接参数 from=0001-01-01 超出 2000-01-01 至 2099-12-31 的范围，已改为 2000-01-01",
    ),
    ("to", "9999-12-31", dt.date(2099, 12, 31), "链接参数 to=9999-12-31 超出"),
    ("to", "2023-02-30", None, "链接参数 to 不是 YYYY-MM-DD 格式的日期"),
    ("region", "500153", "500153", None),
    (
        "region",
        "[点此登录](http://evil.example/x) ![t](http://evil.example/y.png)",
        None,
        "链接参数 region 不是区划代码",
    ),
    ("region", "50010²", None, "链接参数 region 不是区划代码"),
    ("lang", "en", "en", None),
    ("lang", "<b>", None, "链接参数 lang 只能是 zh / en"),
    ("kiosk", "1", True, None),
    ("kiosk", "maybe", False, "链接参数 kiosk 只能是 1 或 0"),
]


def read_url(name: str, value: str, lang: str = "zh") -> tuple[object, list[str]]:
    """What the page reads for `name=value`, and the messages it is given, in a real script run."""

    def script(name: str, lang: str) -> None:
        import streamlit as st

        from dashboard import params

        if name in ("from", "to"):
            got = params.read_date(name)
        elif name in ("rotate", "year"):
            got = params.read_number(name)
        elif name == "kiosk":
            got = params.read_flag(name)
        else:
            got = params.read(name)
        st.session_state["got"] = got
        for problem in params.problems(lang):
            st.text(problem)

    at = AppTest.from_function(script, kwargs={"name": name, "lang": lang})
    at.query_params[name] = value
    at.run()
    assert not at.exception
    return at.session_state["got"], [element.value for element in at.text]


@pytest.mark.parametrize(("name", "value", "used", "problem"), URL_CASES)
def test_every_url_parameter_is_bounded_or_refused_with_a_message(name, value, used, problem):
    got, messages = read_url(name, value)
    assert got == used
    if problem is None:
        assert messages == []
    else:
        assert len(messages) == 1 and messages[0].startswith(problem), messages
        # a refused value is named, never repeated: the message cannot carry a link or markup
        assert not any(part in messages[0] for part in ("http", "[", "<"))


def test_url_messages_are_shown_once_and_in_english_when_asked():
    def script() -> None:
        import streamlit as st

        from dashboard import params

        params.read_number("rotate")
        st.text(" | ".join(params.problems("en")) or "-")
        st.text(" | ".join(params.problems("en")) or "-")

    at = AppTest.from_function(script)
    at.query_params["rotate"] = "1"
    at.run()
    assert [e.value for e in at.text] == [
        "The link's rotate must lie between 10 and 3600; it was ignored.",
        "-",
    ]


def test_url_messages_are_drawn_as_warnings_of_plain_text():
    def script() -> None:
        from dashboard import params

        params.read_date("from")
        params.read("region")
        params.show_problems("zh")

    at = AppTest.from_function(script)
    at.query_params["from"] = "0001-01-01"
    at.query_params["region"] = "[x](http://evil.example/)"
    at.run()
    assert not at.exception
    shown = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning]
    assert shown == [
        "链接参数 from=0001-01-01 超出 2000-01-01 至 2099-12-31 的范围，已改为 2000-01-01。",
        "链接参数 region 不是区划代码（2 至 15 位数字），已忽略。",
    ]


def test_the_filters_read_the_url_through_the_rules():
    def script() -> None:
        import streamlit as st

        from dashboard.filters import _date_param, _int_param, _param, url_flags

        st.session_state["read"] = (url_flags(), _date_param("from"), _int_param("year"), _param("region"))

    at = AppTest.from_function(script)
    for key, value in {
        "kiosk": "1",
        "rotate": "1",
        "from": "9999-01-01",
        "year": "0",
        "region": "[x](y)",
    }.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    assert at.session_state["read"] == (("zh", True, None), dt.date(2099, 12, 31), None, None)


# ------------------------------------------------------------------------- user text as text

MARKDOWN_ATTACKS = [
    "[点此登录](http://evil.example/x) ![t](http://evil.example/y.png)",
    "<img src=http://evil.example/z.png>",
    ":red[红色] :material/warning: $x^2$ **粗** _斜_ `码`",
    "# 标题\n- 列表\n\n    代码",
    "\\[x](y)",
]


@pytest.mark.parametrize("value", MARKDOWN_ATTACKS)
def test_literal_escapes_every_markdown_character_and_keeps_the_text(value):
    shown = literal(value)
    assert "\n" not in shown
    # every ASCII punctuation character is escaped, so no construct (link, image, tag, directive) opens
    assert re.fullmatch(
        r"(?:\\[" + re.escape(string.punctuation) + r"]|[^" + re.escape(string.punctuation) + r"])*", shown
    )
    assert re.sub(r"\\(.)", r"\1", shown) == re.sub(r"[\r\n]+", " ", value)


# ----------------------------------------------------------------------- names on maps and charts

HOSTILE_NAMES = ["@@#GL.ONE", "@@=x.y + 1", '<a href="http://evil.example/">点我</a>', "甲&乙 <b>街道</b>"]


def hostile_map(tooltip_html: str | None = None) -> dict:
    """The deck, as the page sends it, of cells and labels carrying hostile names."""
    codes = [f"50015300{n}" for n in range(1, len(HOSTILE_NAMES) + 1)]
    cells = pd.DataFrame(
        {
            "cell": ["8940d1aa1b7ffff", "8940d1aa1a7ffff", "8940d1aa1bbffff", "8940d1aa1b3ffff"],
            "events": [3, 0, 1, 2],
            "residents": [10.0, 5.0, 7.0, 1.0],
            "overdue": [0, 0, 1, 0],
            "code": codes,
            "name": HOSTILE_NAMES,
        }
    )
    labels = pd.DataFrame(
        {
            "code": codes,
            "name": HOSTILE_NAMES,
            "lon": [105.59, 105.6, 105.61, 105.62],
            "lat": [29.40, 29.41, 29.42, 29.43],
            "lon_min": [105.5] * 4,
            "lon_max": [105.7] * 4,
            "lat_min": [29.3] * 4,
            "lat_max": [29.5] * 4,
        }
    )
    deck = maps.region_map(cells, "events", labels, tooltip_html=tooltip_html)
    # the tooltip travels to the page beside the deck's JSON
    return {**json.loads(deck.to_json()), "tooltip": deck._tooltip}


def data_strings(deck: dict) -> list[str]:
    return [
        value
        for layer in deck["layers"]
        if isinstance(layer.get("data"), list)
        for row in layer["data"]
        for value in row.values()
        if isinstance(value, str)
    ]


def test_no_string_of_the_map_data_is_read_as_code():
    deck = hostile_map()
    strings = data_strings(deck)
    assert not [s for s in strings if s.startswith("@@")]
    labels = next(layer for layer in deck["layers"] if layer["id"] == "labels")
    assert [row["name"].removeprefix(maps.INERT) for row in labels["data"]] == HOSTILE_NAMES


def test_map_tooltips_are_text_every_pickable_object_fills():
    template = "事件数: {events}<br/>实有人口: {residents}<br/>超期: {overdue}"
    deck = hostile_map(template)
    assert deck["tooltip"]["text"] == "{tip}" and "html" not in deck["tooltip"]
    layers = {layer["id"]: layer["data"] for layer in deck["layers"]}
    assert layers["cells"][0]["tip"] == "事件数: 3\n实有人口: 10\n超期: 0"
    assert [row["tip"].removeprefix(maps.INERT) for row in layers["labels"]] == HOSTILE_NAMES
    assert all("{" not in row["tip"] and "<br" not in row["tip"] for rows in layers.values() for row in rows)


def test_chart_labels_and_hovers_show_names_as_text():
    ranking = pd.DataFrame(
        {
            "code": [f"50015300{n}" for n in range(1, 5)],
            "name": HOSTILE_NAMES,
            "resolution_rate": [0.9, 0.8, 0.7, 0.6],
        }
    )
    fig = charts.ranking_chart(ranking, "resolution_rate")
    names = list(fig.data[0].y)
    assert '&lt;a href="http://evil.example/"&gt;点我&lt;/a&gt;' in names
    assert "甲&amp;乙 &lt;b&gt;街道&lt;/b&gt;" in names
    assert not [n for n in names if "<" in n]
    again = charts.themed(fig)  # themed twice (an export re-themes) shows the same text
    assert list(again.data[0].y) == names

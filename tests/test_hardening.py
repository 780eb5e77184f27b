"""Hardening: what a URL, an input file or an export can carry is data, never code, markup or a crash.

The browser side (rendered pages, requests, CPU) is in test_browser_hardening.py.
"""

from __future__ import annotations

import json
import subprocess
import tomllib

import duckdb
import pytest
from inputs import REPO_ROOT, build_folder, query, write_folder

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
    assert query(db, "select code from boundaries order by code") == [("500101",), ("500102",)]
    assert query(db, "select is_demo from build_info") == [(True,)]

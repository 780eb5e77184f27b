"""Safety: formula neutralisation for spreadsheets, in Python and in SQL, and the installation salt."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.safety import NEUTRALIZE_SQL_MACRO, SALT_FILE_NAME, installation_salt, neutralize_formula

CASES = [
    ("=1+1", "'=1+1"),
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("-2+3", "'-2+3"),
    ("-A1", "'-A1"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("-5", "-5"),
    ("+5", "+5"),
    ("-1.5", "-1.5"),
    ("-1e3", "-1e3"),
    ("-.5", "-.5"),
    ("+8613912345678", "+8613912345678"),
    ("a=1", "a=1"),
    ("张三", "张三"),
    ("", ""),
]


@pytest.mark.parametrize(("value", "shown"), CASES)
def test_neutralize_formula(value, shown):
    assert neutralize_formula(value) == shown


@pytest.mark.parametrize("value", [None, -5, 3.5, 0])
def test_neutralize_formula_leaves_non_text_alone(value):
    assert neutralize_formula(value) == value


@pytest.mark.parametrize(("value", "shown"), CASES)
def test_sql_macro_agrees_with_python(value, shown):
    con = duckdb.connect()
    con.execute(NEUTRALIZE_SQL_MACRO)
    assert con.execute("select yp_safe_text(?)", [value]).fetchone()[0] == shown


def test_installation_salt_is_made_once(tmp_path, monkeypatch):
    monkeypatch.delenv("YIPING_SALT", raising=False)
    salt = installation_salt(tmp_path / "data")
    assert (tmp_path / "data" / SALT_FILE_NAME).read_text().strip() == salt
    assert installation_salt(tmp_path / "data") == salt
    assert installation_salt(tmp_path / "other") != salt


def test_installation_salt_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("YIPING_SALT", "from-env")
    assert installation_salt(tmp_path) == "from-env"
    assert not (tmp_path / SALT_FILE_NAME).exists()

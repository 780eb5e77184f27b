"""Hardening: what a URL, an input file or an export can carry is data, never code, markup or a crash.

The browser side (rendered pages, requests, CPU) is in test_browser_hardening.py.
"""

from __future__ import annotations

import subprocess
import tomllib

import duckdb
import pytest
from inputs import REPO_ROOT

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

"""Personal data and spreadsheet safety: the salt for hashed ids and formula neutralisation."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

SALT_FILE_NAME = ".yiping-salt"

# A text cell a spreadsheet would take as a formula starts with one of these (OWASP CSV injection).
# Spreadsheets skip leading blanks before a formula, and some read the full-width signs a Chinese
# input method types as their ASCII forms, so both count.
FORMULA_START = re.compile(r"^([\t\r\n]|[ \u3000]*[=+\-@＝＋－＠])")
PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def neutralize_formula(value: object) -> object:
    """Prefix a text that a spreadsheet would evaluate with an apostrophe; numbers pass unchanged."""
    if isinstance(value, str) and FORMULA_START.match(value) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


# The same rule in SQL, for reports written by DuckDB.
NEUTRALIZE_SQL_MACRO = r"""
create or replace temp macro yp_safe_text(s) as
    case when regexp_matches(s, '^([\t\r\n]|[ \x{3000}]*[=+\-@＝＋－＠])')
              and not regexp_full_match(s, '[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?')
         then '''' || s else s end;
"""


def installation_salt(data_dir: Path) -> str:
    """The salt for hashing id numbers: one per installation, beside the database, never in git."""
    env = os.environ.get("YIPING_SALT")
    if env:
        return env
    path = data_dir / SALT_FILE_NAME
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(salt + "\n")
    return salt

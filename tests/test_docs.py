"""The README documents what the project builds."""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.build import MARTS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def documented_tables() -> set[str]:
    """Table names in the README's data-model table."""
    section = README.split("## Data model", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))


def test_every_mart_is_in_the_data_model_table():
    assert set(MARTS) <= documented_tables()


def test_every_mart_states_its_grain_first():
    for mart in MARTS:
        first = (
            (ROOT / "pipelines" / "sql" / "marts" / f"{mart}.sql").read_text(encoding="utf-8").splitlines()[0]
        )
        assert first.startswith("-- one row per"), mart
        assert first[3:] in README, f"README's grain of {mart} differs from the SQL"


def test_the_two_commands_are_documented():
    assert "make run" in README and "make test" in README


def test_every_requirement_is_explained():
    names = []
    for file in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / file).read_text().splitlines():
            if line and not line.startswith(("#", "-r")):
                names.append(line.split("==")[0].strip().lower())
    for name in names:
        assert f"{name}" in README.lower(), f"README does not say why {name} is needed"

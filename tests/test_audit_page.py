"""The 审计日志 page under AppTest: administrators of the whole city read it, nobody else."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.access import Principal
from dashboard.accounts import Accounts
from dashboard.filters import Filters
from dashboard.labels import t

PAGE = Path(__file__).resolve().parent.parent / "views" / "audit.py"


def open_audit(who: Principal) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["principal"] = who
    at.session_state["filters"] = Filters(
        Path("unused.duckdb"),
        who.scope,
        dt.date(2024, 1, 1),
        dt.date(2024, 12, 31),
        2024,
        "zh",
        principal=who,
    )
    return at.run()


@pytest.fixture
def logged(own_accounts_store) -> Accounts:
    """An accounts store with a few audit rows, one of them a formula someone typed as a user name."""
    store = Accounts(own_accounts_store)
    store.add_user("admin", "correct-horse-battery", "admin", "50")
    store.sign_in('=HYPERLINK("http://x")', "wrong-password", "10.0.0.9")
    store.sign_in("admin", "correct-horse-battery", "10.0.0.8")
    return store


def test_a_city_admin_reads_the_log_newest_first_with_formulas_neutralised(logged):
    at = open_audit(Principal("admin", "admin", "50", "password"))
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table.columns) == ["time", "account", "address", "action", "target", "outcome"]
    assert table["action"].iloc[0] == "sign_in"
    assert "sign_in_failed" in set(table["action"])
    assert not any(str(v).startswith("=") for v in table["target"])


@pytest.mark.parametrize(
    "who",
    [
        Principal("zhang", "analyst", "50", "password"),
        Principal("steward", "steward", "50", "password"),
        Principal("district-admin", "admin", "500101", "password"),
    ],
)
def test_nobody_else_reads_it(logged, who):
    at = open_audit(who)
    assert not at.exception
    assert [e.value for e in at.error] == [t("not_authorised")]
    assert not at.dataframe

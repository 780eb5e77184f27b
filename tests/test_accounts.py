"""The accounts store: accounts, sign-in and lockout, sessions, wall displays and the audit log."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from dashboard.access import Principal
from dashboard.accounts import (
    DEFAULT_ACCOUNTS,
    AccountError,
    Accounts,
    accounts_path,
    session_idle_timeout,
    session_max_age,
)

PASSWORD = "correct horse battery"
START = dt.datetime(2025, 3, 1, 9, 0, 0)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    """Starts at 2025-03-01 09:00 local time."""
    return Clock()


@pytest.fixture
def store(tmp_path, clock) -> Accounts:
    """An empty store in a new file, on the test's clock, sessions idle out after 8 hours."""
    return Accounts(tmp_path / "data" / "accounts.sqlite", now=clock, idle_timeout=dt.timedelta(hours=8))


@pytest.fixture
def alice(store) -> Accounts:
    """The store with one analyst, alice, scoped to district 500101."""
    store.add_user("alice", PASSWORD, "analyst", "500101", by="root", address="local")
    return store


def actions(store: Accounts) -> list[tuple[str, str, str, str]]:
    """(action, account, target, outcome) of every audit row, oldest first."""
    return [(r["action"], r["account"], r["target"], r["outcome"]) for r in store.audit_rows()]


# ----------------------------------------------------------------------------------- paths


def test_accounts_path_is_the_env_var_or_the_default(monkeypatch, tmp_path):
    monkeypatch.delenv("YIPING_ACCOUNTS", raising=False)
    assert accounts_path() == DEFAULT_ACCOUNTS == Path("data/accounts.sqlite")
    monkeypatch.setenv("YIPING_ACCOUNTS", str(tmp_path / "other.sqlite"))
    assert accounts_path() == tmp_path / "other.sqlite"


@pytest.mark.parametrize(("value", "hours"), [(None, 8), ("", 8), ("2", 2), ("0.5", 0.5)])
def test_idle_timeout_comes_from_the_env_var(monkeypatch, tmp_path, value, hours):
    if value is None:
        monkeypatch.delenv("YIPING_SESSION_IDLE_HOURS", raising=False)
    else:
        monkeypatch.setenv("YIPING_SESSION_IDLE_HOURS", value)
    assert session_idle_timeout() == dt.timedelta(hours=hours)
    assert Accounts(tmp_path / "a.sqlite").idle_timeout == dt.timedelta(hours=hours)


@pytest.mark.parametrize("value", ["eight", "0", "-1"])
def test_an_unusable_idle_timeout_says_so(monkeypatch, value):
    monkeypatch.setenv("YIPING_SESSION_IDLE_HOURS", value)
    with pytest.raises(AccountError, match="YIPING_SESSION_IDLE_HOURS"):
        session_idle_timeout()


@pytest.mark.parametrize(("value", "hours"), [(None, 24), ("12", 12)])
def test_the_longest_session_comes_from_the_env_var(monkeypatch, tmp_path, value, hours):
    if value is None:
        monkeypatch.delenv("YIPING_SESSION_MAX_HOURS", raising=False)
    else:
        monkeypatch.setenv("YIPING_SESSION_MAX_HOURS", value)
    assert session_max_age() == dt.timedelta(hours=hours)
    assert Accounts(tmp_path / "a.sqlite").max_age == dt.timedelta(hours=hours)


def test_an_unusable_longest_session_says_so(monkeypatch):
    monkeypatch.setenv("YIPING_SESSION_MAX_HOURS", "a day")
    with pytest.raises(AccountError, match="YIPING_SESSION_MAX_HOURS"):
        session_max_age()


def test_the_store_creates_its_folder_and_uses_wal(tmp_path):
    path = tmp_path / "new" / "folder" / "accounts.sqlite"
    Accounts(path)
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("pragma journal_mode").fetchone() == ("wal",)
    finally:
        connection.close()


# ---------------------------------------------------------------------------------- accounts


def test_add_and_list(alice, clock):
    clock.advance(minutes=1)
    alice.add_user("  王小明  ", PASSWORD, "admin", "50")
    assert alice.list_users() == [
        {
            "name": "alice",
            "role": "analyst",
            "scope": "500101",
            "enabled": True,
            "created_at": "2025-03-01T09:00:00",
            "last_sign_in": None,
            "locked_until": None,
        },
        {
            "name": "王小明",
            "role": "admin",
            "scope": "50",
            "enabled": True,
            "created_at": "2025-03-01T09:01:00",
            "last_sign_in": None,
            "locked_until": None,
        },
    ]
    assert alice.has_users()


def test_a_new_store_has_no_users_and_displays_do_not_count(store):
    assert not store.has_users()
    store.add_display("wall", "50")
    assert not store.has_users()


@pytest.mark.parametrize(
    ("name", "password", "role", "scope", "message"),
    [
        ("ALICE", PASSWORD, "viewer", "50", "用户已存在：ALICE"),
        ("bob", PASSWORD, "superuser", "50", "未知角色 superuser"),
        ("bob", "short9char", "viewer", "50", None),
        ("bob", "123456789", "viewer", "50", "密码至少 10 个字符"),
        ("bob", "", "viewer", "50", "密码至少 10 个字符"),
        ("", PASSWORD, "viewer", "50", "名称不能为空"),
        ("   ", PASSWORD, "viewer", "50", "名称不能为空"),
        ("b" * 65, PASSWORD, "viewer", "50", "名称不能超过 64 个字符"),
        ("bo\nb", PASSWORD, "viewer", "50", "名称不能包含控制字符"),
        ("bo\x00b", PASSWORD, "viewer", "50", "名称不能包含控制字符"),
        ("bob", PASSWORD, "viewer", "5001", "范围应为区划代码"),
        ("bob", PASSWORD, "viewer", "50a", "范围应为区划代码"),
        ("bob", PASSWORD, "viewer", "5²", "范围应为区划代码"),
        ("bob", PASSWORD, "viewer", "", "范围应为区划代码"),
    ],
)
def test_add_user_refuses_what_it_cannot_keep(alice, name, password, role, scope, message):
    before = alice.audit_rows()
    if message is None:  # exactly 10 characters is enough
        alice.add_user(name, password, role, scope)
        return
    with pytest.raises(AccountError, match=message):
        alice.add_user(name, password, role, scope)
    assert [u["name"] for u in alice.list_users()] == ["alice"]
    assert alice.audit_rows() == before


def test_a_64_character_name_is_accepted(store):
    store.add_user("n" * 64, PASSWORD, "viewer", "500101001001001")
    assert store.list_users()[0]["name"] == "n" * 64


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.set_enabled("nobody", False),
        lambda s: s.set_enabled("nobody", True),
        lambda s: s.set_password("nobody", PASSWORD),
        lambda s: s.remove_user("nobody"),
    ],
)
def test_changes_to_an_unknown_user_say_so(alice, change):
    with pytest.raises(AccountError, match="用户不存在：nobody"):
        change(alice)


# ----------------------------------------------------------------------------------- sign-in


def test_sign_in_with_the_right_password(alice, clock):
    session = alice.sign_in("Alice", PASSWORD, "10.0.0.7")
    assert isinstance(session, str) and len(session) >= 43
    assert alice.session_principal(session) == Principal("alice", "analyst", "500101", "password", session)
    assert alice.list_users()[0]["last_sign_in"] == "2025-03-01T09:00:00"
    assert alice.audit_rows()[-1] == {
        "time": "2025-03-01T09:00:00",
        "account": "alice",
        "address": "10.0.0.7",
        "action": "sign_in",
        "target": "password",
        "outcome": "ok",
    }


def test_every_sign_in_is_a_new_session(alice):
    assert alice.sign_in("alice", PASSWORD) != alice.sign_in("alice", PASSWORD)


def test_a_wrong_password_gets_none(alice):
    assert alice.sign_in("alice", PASSWORD + "!", "10.0.0.7") is None
    assert alice.audit_rows()[-1] == {
        "time": "2025-03-01T09:00:00",
        "account": "",
        "address": "10.0.0.7",
        "action": "sign_in_failed",
        "target": "alice",
        "outcome": "failed",
    }


def test_an_unknown_name_fails_exactly_like_a_wrong_password(alice):
    assert alice.sign_in("alice", "wrong password") is None
    assert alice.sign_in("mallory", "wrong password") is None
    known, unknown = alice.audit_rows()[-2:]
    assert {**known, "target": "?"} == {**unknown, "target": "?"}
    assert (known["target"], unknown["target"]) == ("alice", "mallory")


def test_an_unknown_name_costs_the_same_argon2_work(alice):
    def median_seconds(name: str) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            alice.sign_in(name, "wrong password")
            times.append(time.perf_counter() - started)
        return sorted(times)[1]

    # Without the dummy verify an unknown name would answer tens of times faster.
    known, unknown = median_seconds("alice"), median_seconds("mallory")
    assert unknown > known / 3


def test_a_disabled_account_fails_like_a_wrong_password(alice):
    alice.set_enabled("alice", False)
    assert alice.sign_in("alice", PASSWORD) is None
    assert actions(alice)[-1] == ("sign_in_failed", "", "alice", "failed")


def test_a_failed_sign_in_keeps_at_most_64_characters_of_the_name(alice):
    assert alice.sign_in("x" * 500, PASSWORD) is None
    assert alice.audit_rows()[-1]["target"] == "x" * 64


@pytest.mark.parametrize("typed", ["ali\u200bce", "alice\x00", "al\nice"])
def test_a_name_with_hidden_characters_is_not_the_account(alice, typed):
    assert alice.sign_in(typed, PASSWORD) is None
    assert "\n" not in alice.audit_rows()[-1]["target"]


def test_a_longer_name_is_not_the_account_it_starts_with(store):
    store.add_user("n" * 64, PASSWORD, "viewer", "50")
    assert store.sign_in("n" * 65, PASSWORD) is None
    assert store.sign_in("n" * 64, PASSWORD) is not None


def test_five_failures_lock_the_name_even_against_the_right_password(alice, clock):
    for _ in range(4):
        assert alice.sign_in("alice", "wrong password") is None
        clock.advance(minutes=2)
    assert alice.list_users()[0]["locked_until"] is None
    assert alice.sign_in("ALICE", "wrong password") is None  # 09:08, the fifth
    assert actions(alice)[-2:] == [
        ("sign_in_failed", "", "ALICE", "failed"),
        ("lock", "", "ALICE", "locked"),
    ]
    assert alice.list_users()[0]["locked_until"] == "2025-03-01T09:23:00"

    clock.advance(minutes=14, seconds=59)
    assert alice.sign_in("alice", PASSWORD) is None
    assert actions(alice)[-1] == ("sign_in_failed", "", "alice", "locked")

    clock.advance(seconds=1)
    assert alice.list_users()[0]["locked_until"] is None
    assert alice.sign_in("alice", PASSWORD) is not None


def test_failures_older_than_15_minutes_do_not_count(alice, clock):
    for _ in range(4):
        alice.sign_in("alice", "wrong password")
    clock.advance(minutes=15)
    alice.sign_in("alice", "wrong password")
    assert alice.list_users()[0]["locked_until"] is None
    assert alice.sign_in("alice", PASSWORD) is not None


def test_a_sign_in_clears_the_failures_before_it(alice):
    for _ in range(4):
        alice.sign_in("alice", "wrong password")
    assert alice.sign_in("alice", PASSWORD) is not None
    for _ in range(4):
        alice.sign_in("alice", "wrong password")
    assert alice.sign_in("alice", PASSWORD) is not None


def test_an_unknown_name_is_locked_the_same_way(alice):
    for _ in range(5):
        assert alice.sign_in("mallory", "wrong password") is None
    assert actions(alice)[-1] == ("lock", "", "mallory", "locked")
    assert alice.sign_in("mallory", "wrong password") is None
    assert actions(alice)[-1] == ("sign_in_failed", "", "mallory", "locked")
    assert alice.sign_in("alice", PASSWORD) is not None  # the lock is the name's, not everyone's


def test_a_new_password_lifts_the_lock(alice):
    for _ in range(5):
        alice.sign_in("alice", "wrong password")
    alice.set_password("alice", "another good password")
    assert alice.sign_in("alice", "another good password") is not None


def test_a_hash_made_with_weaker_settings_is_renewed_at_sign_in(alice):
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    connection = sqlite3.connect(alice.path)
    with connection:
        connection.execute("update users set password_hash = ? where name = 'alice'", [weak])
    assert alice.sign_in("alice", PASSWORD) is not None
    stored = connection.execute("select password_hash from users where name = 'alice'").fetchone()[0]
    connection.close()
    assert stored != weak and stored.startswith("$argon2id$")
    assert not PasswordHasher().check_needs_rehash(stored)
    assert alice.sign_in("alice", PASSWORD) is not None


# ---------------------------------------------------------------------------------- sessions


def test_a_check_that_does_not_count_as_use_lets_an_unattended_session_idle_out(alice, clock):
    session = alice.sign_in("alice", PASSWORD)
    for _ in range(8):
        clock.advance(hours=1)
        assert alice.session_principal(session, touch=False) is not None
    clock.advance(minutes=1)
    assert alice.session_principal(session, touch=False) is None
    assert alice.session_principal(session) is None


def test_a_session_lives_while_used_and_ends_after_8_idle_hours(alice, clock):
    session = alice.sign_in("alice", PASSWORD)
    for _ in range(3):
        clock.advance(hours=7, minutes=59)
        assert alice.session_principal(session) is not None
    clock.advance(hours=8, seconds=1)
    assert alice.session_principal(session) is None


def test_a_session_in_constant_use_ends_24_hours_after_its_sign_in(alice, clock):
    """A stolen cookie kept busy does not stay good for ever: the person signs in again."""
    session = alice.sign_in("alice", PASSWORD)
    for _ in range(23):
        clock.advance(hours=1)
        assert alice.session_principal(session) is not None
    clock.advance(hours=1)
    assert alice.session_principal(session) is not None  # exactly 24 hours
    clock.advance(seconds=1)
    assert alice.session_principal(session) is None


def test_a_wall_display_session_has_no_longest_life(store, clock):
    """A wall runs for weeks; its session ends when the display is revoked, not a day after it began."""
    session = store.display_sign_in(store.add_display("大厅大屏", "500101"), "10.0.0.9")
    for _ in range(72):
        clock.advance(hours=1)
        assert store.session_principal(session) is not None


def test_exactly_the_idle_timeout_is_still_alive(alice, clock):
    session = alice.sign_in("alice", PASSWORD)
    clock.advance(hours=8)
    assert alice.session_principal(session) is not None


def test_last_seen_is_written_at_most_once_a_minute(alice, clock):
    session = alice.sign_in("alice", PASSWORD)

    def last_seen() -> float:
        connection = sqlite3.connect(alice.path)
        try:
            return connection.execute("select last_seen from sessions").fetchone()[0]
        finally:
            connection.close()

    first = last_seen()
    clock.advance(seconds=59)
    alice.session_principal(session)
    assert last_seen() == first
    clock.advance(seconds=1)
    alice.session_principal(session)
    assert last_seen() == first + 60


@pytest.mark.parametrize("session", [None, "", "not-a-session", "x" * 43])
def test_an_unknown_session_is_nobody(alice, session):
    assert alice.session_principal(session) is None


def test_sign_out_ends_the_session(alice):
    session = alice.sign_in("alice", PASSWORD)
    other = alice.sign_in("alice", PASSWORD)
    alice.sign_out(session, "10.0.0.7")
    assert alice.session_principal(session) is None
    assert alice.session_principal(other) is not None
    assert alice.audit_rows()[-1]["address"] == "10.0.0.7"
    assert actions(alice)[-1] == ("sign_out", "alice", "", "ok")
    alice.sign_out(session)  # a second time does nothing
    alice.sign_out(None)
    assert actions(alice)[-1] == ("sign_out", "alice", "", "ok")
    assert [a for a, *_ in actions(alice)].count("sign_out") == 1


@pytest.mark.parametrize(
    ("change", "action"),
    [
        (lambda s: s.set_enabled("alice", False, by="root", address="local"), "account_disable"),
        (
            lambda s: s.set_password("alice", "another good password", by="root", address="local"),
            "account_passwd",
        ),
        (lambda s: s.remove_user("alice", by="root", address="local"), "account_remove"),
    ],
)
def test_account_changes_end_its_sessions_at_once(alice, change, action):
    alice.add_user("bob", PASSWORD, "viewer", "500102")
    session, bobs = alice.sign_in("alice", PASSWORD), alice.sign_in("bob", PASSWORD)
    change(alice)
    assert alice.session_principal(session) is None
    assert alice.session_principal(bobs) is not None
    assert alice.audit_rows()[-1] == {
        "time": "2025-03-01T09:00:00",
        "account": "root",
        "address": "local",
        "action": action,
        "target": "alice",
        "outcome": "ok",
    }


def test_enable_lets_the_account_back_in(alice):
    alice.set_enabled("alice", False)
    alice.set_enabled("ALICE", True, by="root")
    assert alice.list_users()[0]["enabled"] is True
    assert actions(alice)[-1] == ("account_enable", "root", "alice", "ok")
    assert alice.sign_in("alice", PASSWORD) is not None


def test_a_removed_account_cannot_sign_in_and_its_audit_rows_stay(alice):
    alice.sign_in("alice", PASSWORD)
    alice.remove_user("alice")
    assert alice.sign_in("alice", PASSWORD) is None
    assert not alice.has_users()
    assert ("sign_in", "alice", "password", "ok") in actions(alice)


def test_a_disabled_account_in_the_table_ends_its_session_even_if_written_elsewhere(alice):
    session = alice.sign_in("alice", PASSWORD)
    connection = sqlite3.connect(alice.path)
    with connection:
        connection.execute("update users set enabled = 0")
    connection.close()
    assert alice.session_principal(session) is None


def test_two_stores_on_one_file_share_sessions(alice, clock):
    session = alice.sign_in("alice", PASSWORD)
    other = Accounts(alice.path, now=clock)
    assert other.session_principal(session).name == "alice"
    other.sign_out(session)
    assert alice.session_principal(session) is None


def test_sessions_from_many_threads(alice):
    sessions = [alice.sign_in("alice", PASSWORD) for _ in range(4)]
    seen: list[Principal | None] = []

    def look(session: str) -> None:
        for _ in range(20):
            seen.append(alice.session_principal(session))
            alice.record("page_view", account="alice", target="overview")

    threads = [threading.Thread(target=look, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 80 and all(p is not None and p.name == "alice" for p in seen)
    assert len(alice.audit_rows(action="page_view")) == 80


# ----------------------------------------------------------------------------------- OIDC


def test_an_identity_maps_to_the_account_of_that_e_mail(store):
    store.add_user("Li.Hua@cq.gov.cn", PASSWORD, "steward", "500102")
    principal = store.identity_principal("li.hua@CQ.GOV.CN", "10.0.0.8")
    assert (principal.name, principal.role, principal.scope, principal.via) == (
        "Li.Hua@cq.gov.cn",
        "steward",
        "500102",
        "oidc",
    )
    assert store.session_principal(principal.session) == principal
    assert actions(store)[-1] == ("sign_in", "Li.Hua@cq.gov.cn", "oidc", "ok")


def test_an_identity_may_be_the_subject(store):
    store.add_user("248289761001", PASSWORD, "viewer", "50")
    assert store.identity_principal("248289761001").name == "248289761001"


def test_an_unknown_or_disabled_identity_is_refused(alice):
    assert alice.identity_principal("nobody@cq.gov.cn") is None
    assert actions(alice)[-1] == ("sign_in_failed", "", "nobody@cq.gov.cn", "failed")
    alice.set_enabled("alice", False)
    assert alice.identity_principal("alice") is None
    assert alice.identity_principal("") is None


# --------------------------------------------------------------------------------- displays


def test_a_display_signs_in_as_a_viewer_in_its_scope(store):
    token = store.add_display("大厅大屏", "500101", by="root", address="local")
    assert len(token) >= 43
    session = store.display_sign_in(token, "10.0.0.9")
    assert store.session_principal(session) == Principal("大厅大屏", "viewer", "500101", "display", session)
    assert store.list_displays() == [
        {
            "name": "大厅大屏",
            "scope": "500101",
            "created_at": "2025-03-01T09:00:00",
            "last_sign_in": "2025-03-01T09:00:00",
        }
    ]
    assert actions(store) == [
        ("display_add", "root", "大厅大屏", "ok"),
        ("display_sign_in", "大厅大屏", "", "ok"),
    ]


def test_a_wrong_token_gets_none(store):
    store.add_display("wall", "50")
    assert store.display_sign_in("not the token") is None
    assert store.display_sign_in(None) is None
    assert actions(store)[-1] == ("display_sign_in_failed", "", "", "failed")


def test_revoking_a_display_ends_its_session_at_once(store):
    token = store.add_display("wall", "50")
    session = store.display_sign_in(token)
    store.revoke_display("wall", by="root", address="local")
    assert store.session_principal(session) is None
    assert store.display_sign_in(token) is None
    assert store.list_displays() == []
    assert actions(store)[-2:] == [
        ("display_revoke", "root", "wall", "ok"),
        ("display_sign_in_failed", "", "", "failed"),
    ]


@pytest.mark.parametrize(
    ("name", "scope", "message"),
    [("wall", "50", "大屏已存在：wall"), ("wall2", "501", "范围应为区划代码"), ("", "50", "名称不能为空")],
)
def test_add_display_refuses_what_it_cannot_keep(store, name, scope, message):
    store.add_display("wall", "50")
    with pytest.raises(AccountError, match=message):
        store.add_display(name, scope)


def test_revoking_an_unknown_display_says_so(store):
    with pytest.raises(AccountError, match="大屏不存在：wall"):
        store.revoke_display("wall")


# ------------------------------------------------------------------------------ no secrets


def test_the_file_holds_no_password_session_id_or_token_in_clear(alice):
    def raw_bytes() -> bytes:
        parts = [Path(f"{alice.path}{suffix}") for suffix in ("", "-wal")]
        return b"".join(part.read_bytes() for part in parts if part.exists())

    # An open connection keeps the write-ahead log from being folded back and removed.
    watcher = sqlite3.connect(alice.path)
    watcher.execute("select count(*) from users").fetchone()
    tokens = [alice.add_display("wall", "50")]
    tokens.append(alice.display_sign_in(tokens[0]))
    tokens.append(alice.sign_in("alice", PASSWORD))
    alice.sign_in("alice", "a wrong password typed")
    alice.set_password("alice", "the second password")
    assert Path(f"{alice.path}-wal").stat().st_size > 0
    while_open = raw_bytes()
    watcher.close()
    for raw in (while_open, raw_bytes()):
        for secret in [PASSWORD, "a wrong password typed", "the second password", *tokens]:
            assert secret.encode() not in raw
    for row in alice.audit_rows():
        assert not any(secret in value for value in row.values() for secret in tokens)


def test_list_users_holds_no_hash(alice):
    assert "$argon2" not in repr(alice.list_users())


def test_passwords_are_argon2id(alice):
    connection = sqlite3.connect(alice.path)
    try:
        (stored,) = connection.execute("select password_hash from users").fetchone()
    finally:
        connection.close()
    assert stored.startswith("$argon2id$")


# ------------------------------------------------------------------------------- audit log


def test_record_and_filter(store, clock):
    store.record("download", account="alice", address="10.0.0.7", target="events.csv")
    clock.advance(days=1)
    store.record("report", account="bob", target="500101 2024", outcome="denied")
    store.record("page_view", account="ALICE", target="overview")
    assert store.audit_rows() == [
        {
            "time": "2025-03-01T09:00:00",
            "account": "alice",
            "address": "10.0.0.7",
            "action": "download",
            "target": "events.csv",
            "outcome": "ok",
        },
        {
            "time": "2025-03-02T09:00:00",
            "account": "bob",
            "address": "",
            "action": "report",
            "target": "500101 2024",
            "outcome": "denied",
        },
        {
            "time": "2025-03-02T09:00:00",
            "account": "ALICE",
            "address": "",
            "action": "page_view",
            "target": "overview",
            "outcome": "ok",
        },
    ]
    assert [r["action"] for r in store.audit_rows(since=dt.date(2025, 3, 2))] == ["report", "page_view"]
    assert [r["action"] for r in store.audit_rows(account="alice")] == ["download", "page_view"]
    assert [r["action"] for r in store.audit_rows(action="report")] == ["report"]
    assert store.audit_rows(since=dt.date(2025, 3, 3)) == []


def test_record_refuses_an_unknown_action(store):
    with pytest.raises(AccountError, match="未知的审计动作"):
        store.record("delete_everything")


def test_audit_time_is_local_time_in_iso_seconds(tmp_path):
    moment = dt.datetime(2025, 3, 1, 1, 0, 0, 123456, tzinfo=dt.UTC)
    store = Accounts(tmp_path / "a.sqlite", now=lambda: moment)
    store.record("load")
    assert store.audit_rows()[0]["time"] == moment.astimezone().replace(tzinfo=None).isoformat(
        timespec="seconds"
    )


@pytest.mark.parametrize(
    "statement", ["update audit set outcome = 'ok'", "delete from audit", "delete from audit where rowid = 1"]
)
def test_the_audit_log_refuses_update_and_delete(alice, statement):
    before = alice.audit_rows()
    connection = sqlite3.connect(alice.path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="审计日志只能追加"):
            connection.execute(statement)
    finally:
        connection.close()
    assert alice.audit_rows() == before


def test_every_store_action_is_audited(store):
    store.add_user("alice", PASSWORD, "analyst", "500101", by="root")
    session = store.sign_in("alice", PASSWORD)
    store.sign_out(session)
    for _ in range(5):
        store.sign_in("alice", "wrong password")
    store.set_password("alice", "another good password", by="root")
    store.set_enabled("alice", False, by="root")
    store.set_enabled("alice", True, by="root")
    token = store.add_display("wall", "50", by="root")
    store.display_sign_in(token)
    store.display_sign_in("nope")
    store.revoke_display("wall", by="root")
    store.remove_user("alice", by="root")
    assert [a for a, *_ in actions(store)] == [
        "account_add",
        "sign_in",
        "sign_out",
        *["sign_in_failed"] * 5,
        "lock",
        "account_passwd",
        "account_disable",
        "account_enable",
        "display_add",
        "display_sign_in",
        "display_sign_in_failed",
        "display_revoke",
        "account_remove",
    ]


def test_the_default_accounts_store_is_ignored_by_git():
    """The accounts file and SQLite's companions beside it never reach a commit."""
    import subprocess

    from dashboard.accounts import DEFAULT_ACCOUNTS

    root = Path(__file__).resolve().parent.parent
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = f"{DEFAULT_ACCOUNTS}{suffix}"
        ignored = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=root, check=False)
        assert ignored.returncode == 0, f"{path} is not ignored by git"

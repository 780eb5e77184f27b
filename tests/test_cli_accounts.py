"""The account commands: `python -m pipelines users|display|audit` (SPEC section 4), run for real."""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import io
import os
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from inputs import REPO_ROOT, build_folder, cli_env, snapshot, write_folder

from dashboard.accounts import Accounts

PASSWORD = "correct horse battery"
AUDIT_HEADER = "time,account,address,action,target,outcome"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """A database of the regions in tests/inputs.py only: the city 50, districts 500101 and 500102."""
    root = tmp_path_factory.mktemp("accounts-cli")
    write_folder(root / "input", {})
    return build_folder(root / "input", root / "yiping.duckdb").db_path


@pytest.fixture
def accounts(tmp_path) -> Path:
    """Where this test's accounts store goes; not created yet."""
    return tmp_path / "data" / "accounts.sqlite"


def cli(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `python -m pipelines ARGS` from the project root with `stdin` piped in."""
    environment = {**cli_env(), **(env or {})}
    for name in ("YIPING_ACCOUNTS", "YIPING_DB"):
        if name not in (env or {}):
            environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        cwd=REPO_ROOT,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def add(accounts: Path, db: Path, name: str = "alice", role: str = "analyst", scope: str = "500101", **kw):
    """`users add NAME` with the password piped in."""
    stdin = kw.get("stdin", PASSWORD + "\n")
    return cli(
        "users",
        "add",
        name,
        "--role",
        role,
        "--scope",
        scope,
        "--accounts",
        str(accounts),
        "--db",
        str(db),
        stdin=stdin,
    )


def audit_csv(accounts: Path, *args: str) -> list[dict]:
    result = cli("audit", "--accounts", str(accounts), *args)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[0] == AUDIT_HEADER
    return list(csv.DictReader(io.StringIO(result.stdout)))


# ------------------------------------------------------------------------------- users add


def test_add_reads_the_password_from_a_pipe(accounts, db):
    result = add(accounts, db)
    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr.strip() == "已创建账户 alice（analyst，范围 500101）"
    store = Accounts(accounts)
    assert store.sign_in("alice", PASSWORD) is not None
    assert store.sign_in("alice", PASSWORD + "\n") is None
    assert [(u["name"], u["role"], u["scope"]) for u in store.list_users()] == [
        ("alice", "analyst", "500101")
    ]


def test_only_the_first_line_is_the_password_and_a_windows_line_end_is_dropped(accounts, db):
    assert add(accounts, db, stdin=PASSWORD + "\r\nsecond line\n").returncode == 0
    assert Accounts(accounts).sign_in("alice", PASSWORD) is not None


@pytest.mark.parametrize("scope", ["50", "500102", "500101001001001"])
def test_add_accepts_every_region_of_the_database(accounts, db, scope):
    assert add(accounts, db, scope=scope).returncode == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stdin": "nine char\n"}, "错误：密码至少 10 个字符"),
        ({"stdin": ""}, "错误：密码至少 10 个字符"),
        ({"role": "superuser"}, "错误：未知角色 superuser（可选：viewer、analyst、steward、admin）"),
        ({"scope": "500199"}, "错误：区划代码 500199 不存在"),
        ({"scope": "500101009"}, "错误：区划代码 500101009 不存在"),
        ({"scope": "5001"}, "错误：范围应为区划代码（2、6、9、12 或 15 位数字，全市为 50）：5001"),
        ({"name": " "}, "错误：名称不能为空"),
    ],
)
def test_add_refuses_bad_values_with_one_line_and_writes_nothing(accounts, db, changes, message):
    result = add(accounts, db, **changes)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", message + "\n")
    assert not accounts.parent.exists()


def test_a_refused_add_leaves_an_existing_store_untouched(accounts, db):
    add(accounts, db)
    before = snapshot(accounts)
    assert add(accounts, db, name="bob", stdin="too short\n").returncode == 1
    assert add(accounts, db, name="bob", role="root").returncode == 1
    assert add(accounts, db, name="bob", scope="500103").returncode == 1
    assert snapshot(accounts) == before


def test_add_refuses_a_name_taken_in_any_case(accounts, db):
    add(accounts, db)
    result = add(accounts, db, name="ALICE")
    assert (result.returncode, result.stderr) == (1, "错误：用户已存在：ALICE\n")


@pytest.mark.parametrize("scope", ["50", "500101"])
def test_add_needs_a_database_that_opens(accounts, tmp_path, scope):
    result = add(accounts, tmp_path / "missing.duckdb", scope=scope)
    assert result.returncode == 1
    assert result.stderr.startswith("错误：数据库不存在：") and result.stderr.count("\n") == 1
    assert not accounts.exists()


def test_the_database_and_the_store_may_come_from_the_environment(tmp_path, db):
    store = tmp_path / "elsewhere" / "accounts.sqlite"
    env = {"YIPING_ACCOUNTS": str(store), "YIPING_DB": str(db)}
    result = cli("users", "add", "alice", "--role", "viewer", "--scope", "500102", stdin=PASSWORD, env=env)
    assert result.returncode == 0
    assert [u["name"] for u in Accounts(store).list_users()] == ["alice"]
    assert "alice" in cli("users", "list", env=env).stdout


def test_a_missing_argument_is_a_usage_error(accounts, db):
    result = cli("users", "add", "alice", "--scope", "50", "--accounts", str(accounts), "--db", str(db))
    assert result.returncode == 2
    assert not accounts.exists()


def test_a_file_that_is_not_an_accounts_store_is_refused(tmp_path):
    other = tmp_path / "notes.sqlite"
    other.write_text("not a database, " * 100, encoding="utf-8")
    before = snapshot(other)
    result = cli("users", "list", "--accounts", str(other))
    assert result.returncode == 1
    assert result.stderr.startswith(f"错误：无法打开账户库 {other}：") and result.stderr.count("\n") == 1
    assert snapshot(other) == before


# ------------------------------------------------------------------------------ at a terminal


def _take_terminal() -> None:
    """In the child: make its standard input, a new pseudo-terminal, the controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def at_terminal(args: list[str], answers: list[str]) -> subprocess.CompletedProcess:
    """Run the command with a terminal on standard input, typing each answer after its prompt."""
    controller, terminal = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines", *args],
        cwd=REPO_ROOT,
        env=cli_env(),
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_take_terminal,
    )
    os.close(terminal)
    shown = b""
    try:
        for prompt, answer in zip(("密码：", "再输入一次："), answers, strict=True):
            deadline = time.monotonic() + 60
            while prompt.encode() not in shown and time.monotonic() < deadline:
                if select.select([controller], [], [], 1)[0]:
                    shown += os.read(controller, 1024)
            assert prompt.encode() in shown, shown
            shown = shown.split(prompt.encode(), 1)[1]
            os.write(controller, answer.encode() + b"\n")
        stdout, stderr = process.communicate(timeout=60)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout.decode(), stderr.decode())


def test_at_a_terminal_the_password_is_asked_twice(accounts, db):
    args = [
        "users",
        "add",
        "alice",
        "--role",
        "viewer",
        "--scope",
        "50",
        "--accounts",
        str(accounts),
        "--db",
        str(db),
    ]
    assert at_terminal(args, [PASSWORD, PASSWORD]).returncode == 0
    assert Accounts(accounts).sign_in("alice", PASSWORD) is not None


def test_at_a_terminal_two_different_passwords_are_refused(accounts, db):
    args = [
        "users",
        "add",
        "alice",
        "--role",
        "viewer",
        "--scope",
        "50",
        "--accounts",
        str(accounts),
        "--db",
        str(db),
    ]
    result = at_terminal(args, [PASSWORD, PASSWORD + "x"])
    assert (result.returncode, result.stderr) == (1, "错误：两次输入的密码不一致\n")
    assert not accounts.exists()


# ----------------------------------------------------------------------- list, disable ...


def test_list_is_a_table_without_hashes(accounts, db):
    add(accounts, db)
    add(accounts, db, name="王小明", role="admin", scope="50")
    Accounts(accounts).set_enabled("alice", False)
    result = cli("users", "list", "--accounts", str(accounts))
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "name",
        "role",
        "scope",
        "enabled",
        "created_at",
        "last_sign_in",
        "locked_until",
    ]
    assert [line.split()[:4] for line in lines[1:]] == [
        ["alice", "analyst", "500101", "no"],
        ["王小明", "admin", "50", "yes"],
    ]
    assert "argon2" not in result.stdout


def test_list_of_a_store_not_yet_made_is_empty_and_creates_nothing(accounts):
    result = cli("users", "list", "--accounts", str(accounts))
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "name  role  scope  enabled  created_at  last_sign_in  locked_until"
    ]
    assert not accounts.exists()


def test_disable_ends_the_sessions_and_enable_lets_the_account_back(accounts, db):
    add(accounts, db)
    session = Accounts(accounts).sign_in("alice", PASSWORD)
    result = cli("users", "disable", "Alice", "--accounts", str(accounts))
    assert (result.returncode, result.stderr) == (0, "已停用账户 alice\n")
    store = Accounts(accounts)
    assert store.session_principal(session) is None
    assert store.sign_in("alice", PASSWORD) is None
    assert cli("users", "enable", "alice", "--accounts", str(accounts)).returncode == 0
    assert store.sign_in("alice", PASSWORD) is not None


def test_passwd_reads_the_new_password_from_a_pipe(accounts, db):
    add(accounts, db)
    session = Accounts(accounts).sign_in("alice", PASSWORD)
    result = cli("users", "passwd", "alice", "--accounts", str(accounts), stdin="a brand new password\n")
    assert result.returncode == 0
    store = Accounts(accounts)
    assert store.session_principal(session) is None
    assert store.sign_in("alice", PASSWORD) is None
    assert store.sign_in("alice", "a brand new password") is not None


def test_passwd_refuses_a_weak_password_and_keeps_the_old_one(accounts, db):
    add(accounts, db)
    before = snapshot(accounts)
    result = cli("users", "passwd", "alice", "--accounts", str(accounts), stdin="short\n")
    assert (result.returncode, result.stderr) == (1, "错误：密码至少 10 个字符\n")
    assert snapshot(accounts) == before


def test_remove_deletes_the_account(accounts, db):
    add(accounts, db)
    session = Accounts(accounts).sign_in("alice", PASSWORD)
    assert cli("users", "remove", "alice", "--accounts", str(accounts)).returncode == 0
    store = Accounts(accounts)
    assert store.list_users() == []
    assert store.session_principal(session) is None


@pytest.mark.parametrize("action", ["disable", "enable", "passwd", "remove"])
def test_an_unknown_user_is_refused(accounts, db, action):
    result = cli("users", action, "nobody", "--accounts", str(accounts), stdin=PASSWORD)
    assert (result.returncode, result.stderr) == (1, "错误：用户不存在：nobody\n")
    assert not accounts.exists()
    add(accounts, db)
    before = snapshot(accounts)
    result = cli("users", action, "nobody", "--accounts", str(accounts), stdin=PASSWORD)
    assert (result.returncode, result.stderr) == (1, "错误：用户不存在：nobody\n")
    assert snapshot(accounts) == before


# ---------------------------------------------------------------------------------- displays


def test_display_add_prints_the_token_once(accounts, db):
    result = cli(
        "display", "add", "大厅大屏", "--scope", "500101", "--accounts", str(accounts), "--db", str(db)
    )
    assert result.returncode == 0
    (token,) = result.stdout.splitlines()
    assert len(token) >= 43
    assert token not in result.stderr
    assert "/?kiosk=1&display=" in result.stderr
    store = Accounts(accounts)
    session = store.display_sign_in(token)
    assert (store.session_principal(session).role, store.session_principal(session).scope) == (
        "viewer",
        "500101",
    )
    assert token.encode() not in accounts.read_bytes()

    listed = cli("display", "list", "--accounts", str(accounts))
    assert [line.split()[:2] for line in listed.stdout.splitlines()] == [
        ["name", "scope"],
        ["大厅大屏", "500101"],
    ]
    assert token not in listed.stdout

    result = cli("display", "revoke", "大厅大屏", "--accounts", str(accounts))
    assert result.returncode == 0
    assert store.session_principal(session) is None
    assert store.display_sign_in(token) is None
    assert cli("display", "list", "--accounts", str(accounts)).stdout.splitlines() == [
        "name  scope  created_at  last_sign_in"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "wall", "--scope", "500199"], "错误：区划代码 500199 不存在\n"),
        (
            ["add", "wall", "--scope", "5"],
            "错误：范围应为区划代码（2、6、9、12 或 15 位数字，全市为 50）：5\n",
        ),
        (["revoke", "wall"], "错误：大屏不存在：wall\n"),
    ],
)
def test_display_refuses_bad_values(accounts, db, args, message):
    result = cli(
        "display", *args, "--accounts", str(accounts), *(["--db", str(db)] if args[0] == "add" else [])
    )
    assert (result.returncode, result.stdout, result.stderr) == (1, "", message)
    assert not accounts.exists()


# ------------------------------------------------------------------------------------- audit


def test_audit_prints_the_log_as_csv(accounts, db):
    add(accounts, db)
    cli("users", "disable", "alice", "--accounts", str(accounts))
    cli("display", "add", "wall", "--scope", "50", "--accounts", str(accounts), "--db", str(db))
    rows = audit_csv(accounts)
    assert [(r["account"], r["address"], r["action"], r["target"], r["outcome"]) for r in rows] == [
        ("cli", "local", "account_add", "alice", "ok"),
        ("cli", "local", "account_disable", "alice", "ok"),
        ("cli", "local", "display_add", "wall", "ok"),
    ]
    for row in rows:
        assert dt.datetime.fromisoformat(row["time"]).microsecond == 0


def test_audit_of_a_store_not_yet_made_is_the_header(accounts):
    result = cli("audit", "--accounts", str(accounts))
    assert (result.returncode, result.stdout) == (0, AUDIT_HEADER + "\n")
    assert not accounts.exists()


def test_audit_since_a_day(accounts):
    days = iter(
        [dt.datetime(2025, 3, 1, 23, 59, 59), dt.datetime(2025, 3, 2, 0, 0, 0), dt.datetime(2025, 3, 3, 8)]
    )
    store = Accounts(accounts, now=lambda: next(days))
    for target in ("first", "second", "third"):
        store.record("download", account="alice", target=target)
    assert [r["target"] for r in audit_csv(accounts, "--since", "2025-03-02")] == ["second", "third"]
    assert [r["time"] for r in audit_csv(accounts, "--since", "2025-03-03")] == ["2025-03-03T08:00:00"]
    assert audit_csv(accounts, "--since", "2025-03-04") == []
    assert cli("audit", "--accounts", str(accounts), "--since", "2025-3-2").returncode == 2


def test_audit_neutralises_spreadsheet_formulas(accounts, db):
    add(accounts, db)
    formula = '=HYPERLINK("http://example.invalid","点我")'
    Accounts(accounts).sign_in(formula, "wrong password", "+10.0.0.1")
    (row,) = [r for r in audit_csv(accounts) if r["action"] == "sign_in_failed"]
    assert row["target"] == "'" + formula
    assert row["address"] == "'+10.0.0.1"
    assert row["outcome"] == "failed"

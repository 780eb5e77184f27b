"""The accounts store: user accounts, wall displays, sessions, sign-in lockout and the audit log.

One SQLite file (`data/accounts.sqlite`, or YIPING_ACCOUNTS). Passwords are kept only as Argon2id
hashes; session ids and display tokens, random secrets of 256 bits, only as their SHA-256. The audit
table refuses UPDATE and DELETE, so what happened stays written.

Every call opens its own connection: Streamlit calls from many threads, the server routes from the
event loop, and the command line from another process, all on the same file.

Sessions end after `idle_timeout` without a request: 8 hours unless YIPING_SESSION_IDLE_HOURS says
otherwise, or the caller passes one. A person's session also ends `max_age` after its sign-in however much
it is used (24 hours, YIPING_SESSION_MAX_HOURS): a stolen session cookie does not stay good for ever. A
wall display's session has no such end; revoking the display ends it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dashboard.access import ROLES, Principal

DEFAULT_ACCOUNTS = Path("data/accounts.sqlite")
DEFAULT_IDLE_TIMEOUT = dt.timedelta(hours=8)
DEFAULT_MAX_AGE = dt.timedelta(hours=24)

MIN_PASSWORD_LENGTH = 10
MAX_NAME_LENGTH = 64
SCOPE_LENGTHS = (2, 6, 9, 12, 15)
FAILURES_BEFORE_LOCK = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
LOCK_DURATION = dt.timedelta(minutes=15)
# Refreshing last_seen on every page run would make each run a write.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)
BUSY_TIMEOUT_S = 10.0

ACTIONS = (
    "sign_in",
    "sign_in_failed",
    "lock",
    "sign_out",
    "display_sign_in",
    "display_sign_in_failed",
    "page_view",
    "download",
    "report",
    "load",
    "account_add",
    "account_disable",
    "account_enable",
    "account_passwd",
    "account_remove",
    "display_add",
    "display_revoke",
)
AUDIT_COLUMNS = ("time", "account", "address", "action", "target", "outcome")

SCHEMA_VERSION = 1
SCHEMA = """
create table if not exists users (
    name text primary key collate nocase,
    password_hash text not null,
    role text not null,
    scope text not null,
    enabled integer not null default 1,
    created_at text not null,
    last_sign_in text
);

create table if not exists displays (
    name text primary key collate nocase,
    token_hash text not null unique,
    scope text not null,
    created_at text not null,
    last_sign_in text
);

create table if not exists sessions (
    id_hash text primary key,
    account text collate nocase,
    display text collate nocase,
    via text not null,
    created_at real not null,
    last_seen real not null,
    expires_at real not null
);
create index if not exists sessions_account on sessions (account);
create index if not exists sessions_display on sessions (display);

create table if not exists sign_in_failures (
    name text not null collate nocase,
    at real not null
);
create index if not exists sign_in_failures_name on sign_in_failures (name, at);

create table if not exists locks (
    name text primary key collate nocase,
    until real not null
);

create table if not exists audit (
    time text not null,
    account text not null default '',
    address text not null default '',
    action text not null,
    target text not null default '',
    outcome text not null default 'ok'
);
create index if not exists audit_time on audit (time);

create trigger if not exists audit_no_update before update on audit
begin
    select raise(abort, '审计日志只能追加，不能修改');
end;

create trigger if not exists audit_no_delete before delete on audit
begin
    select raise(abort, '审计日志只能追加，不能删除');
end;
"""


class AccountError(Exception):
    """An account request that cannot be done, in one line the user can act on."""


def accounts_path() -> Path:
    """The accounts store: YIPING_ACCOUNTS, or the default under data/."""
    return Path(os.environ.get("YIPING_ACCOUNTS") or DEFAULT_ACCOUNTS)


def session_idle_timeout() -> dt.timedelta:
    """How long a session lives without a request: YIPING_SESSION_IDLE_HOURS, else 8 hours."""
    return _hours_from_env("YIPING_SESSION_IDLE_HOURS", DEFAULT_IDLE_TIMEOUT)


def session_max_age() -> dt.timedelta:
    """How long a person's session lives after its sign-in at most: YIPING_SESSION_MAX_HOURS, else 24."""
    return _hours_from_env("YIPING_SESSION_MAX_HOURS", DEFAULT_MAX_AGE)


def _hours_from_env(name: str, default: dt.timedelta) -> dt.timedelta:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        hours = float(text)
    except ValueError:
        raise AccountError(f"{name} 应为小时数：{text}") from None
    if not 0 < hours <= 24 * 30:
        raise AccountError(f"{name} 应在 0 到 720 小时之间：{text}")
    return dt.timedelta(hours=hours)


# ------------------------------------------------------------------------------ checks


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


def clean_name(name: object) -> str:
    """The name stripped; AccountError unless it is 1–64 characters without control characters."""
    if not isinstance(name, str):
        raise AccountError("名称应为文本")
    name = name.strip()
    if not name:
        raise AccountError("名称不能为空")
    if len(name) > MAX_NAME_LENGTH:
        raise AccountError(f"名称不能超过 {MAX_NAME_LENGTH} 个字符")
    if _has_control(name):
        raise AccountError("名称不能包含控制字符")
    return name


def check_role(role: object) -> str:
    """The role when it is one of ROLES; AccountError otherwise."""
    if role not in ROLES:
        raise AccountError(f"未知角色 {role}（可选：{'、'.join(ROLES)}）")
    return str(role)


def check_scope(scope: object) -> str:
    """The scope when it has the shape of a region code (digits, 2/6/9/12/15 long); AccountError otherwise."""
    text = str(scope).strip() if scope is not None else ""
    if not re.fullmatch(r"[0-9]+", text) or len(text) not in SCOPE_LENGTHS:
        raise AccountError(f"范围应为区划代码（2、6、9、12 或 15 位数字，全市为 50）：{scope}")
    return text


def check_password(password: object) -> str:
    """The password when it is long enough; AccountError otherwise. Never echoed."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少 {MIN_PASSWORD_LENGTH} 个字符")
    return password


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _attempted_name(name: object) -> tuple[str, str]:
    """The name as typed (stripped), to look up, and what a failure is counted and audited under:
    without control characters and never longer than a name may be."""
    typed = name.strip() if isinstance(name, str) else ""
    shown = "".join(ch for ch in typed if not _has_control(ch))[:MAX_NAME_LENGTH]
    return typed, shown


# ------------------------------------------------------------------------------ the store


class Accounts:
    """User accounts, wall displays, their sessions and the audit log, in one SQLite file."""

    _hasher = PasswordHasher()
    _dummy_hash: str | None = None

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        now: Callable[[], dt.datetime] | None = None,
        idle_timeout: dt.timedelta | None = None,
        max_age: dt.timedelta | None = None,
    ) -> None:
        self.path = Path(path)
        self._now = now or dt.datetime.now
        self.idle_timeout = idle_timeout if idle_timeout is not None else session_idle_timeout()
        self.max_age = max_age if max_age is not None else session_max_age()
        self._create_schema()

    # --- connections ----------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        connection.row_factory = sqlite3.Row
        connection.execute(f"pragma busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        return connection

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        connection = self._connect()
        try:
            yield connection
        finally:
            connection.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short transaction; `begin immediate` so two writers queue instead of failing mid-way."""
        connection = self._connect()
        try:
            connection.execute("begin immediate")
            try:
                yield connection
            except BaseException:
                connection.execute("rollback")
                raise
            connection.execute("commit")
        finally:
            connection.close()

    def _create_schema(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._read() as connection:
            if connection.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION:
                return
            connection.execute("pragma journal_mode = wal")
        with self._write() as connection:
            for statement in _statements(SCHEMA):
                connection.execute(statement)
            connection.execute(f"pragma user_version = {SCHEMA_VERSION}")
        if os.name == "posix":
            # Hashes only, but nobody else on the machine needs to read them.
            for suffix in ("", "-wal", "-shm"):
                try:
                    Path(f"{self.path}{suffix}").chmod(0o600)
                except OSError:
                    pass

    # --- time -----------------------------------------------------------------------------------

    def _moment(self) -> tuple[float, str]:
        """Now as epoch seconds (for arithmetic) and as local ISO seconds (for people)."""
        now = self._now()
        local = now.astimezone().replace(tzinfo=None) if now.tzinfo else now
        return now.timestamp(), local.isoformat(timespec="seconds")

    @staticmethod
    def _local(epoch: float) -> str:
        return dt.datetime.fromtimestamp(epoch).isoformat(timespec="seconds")

    # --- audit ----------------------------------------------------------------------------------

    @staticmethod
    def _audit(
        connection: sqlite3.Connection,
        when: str,
        action: str,
        *,
        account: str = "",
        address: str = "",
        target: str = "",
        outcome: str = "ok",
    ) -> None:
        connection.execute(
            "insert into audit (time, account, address, action, target, outcome) values (?, ?, ?, ?, ?, ?)",
            [when, account or "", address or "", action, target or "", outcome or ""],
        )

    def record(
        self, action: str, *, account: str = "", address: str = "", target: str = "", outcome: str = "ok"
    ) -> None:
        """Append one row to the audit log (page views, downloads, reports, loads ...)."""
        if action not in ACTIONS:
            raise AccountError(f"未知的审计动作 {action}")
        _, when = self._moment()
        with self._write() as connection:
            self._audit(
                connection, when, action, account=account, address=address, target=target, outcome=outcome
            )

    def audit_rows(
        self, since: dt.date | None = None, account: str | None = None, action: str | None = None
    ) -> list[dict]:
        """Audit rows, oldest first, keyed time, account, address, action, target, outcome."""
        where, params = [], []
        if since is not None:
            where.append("time >= ?")
            params.append(since.isoformat())
        if account is not None:
            where.append("account = ? collate nocase")
            params.append(account)
        if action is not None:
            where.append("action = ?")
            params.append(action)
        sql = f"select {', '.join(AUDIT_COLUMNS)} from audit"
        if where:
            sql += " where " + " and ".join(where)
        with self._read() as connection:
            return [dict(row) for row in connection.execute(sql + " order by rowid", params)]

    # --- users ----------------------------------------------------------------------------------

    def add_user(
        self, name: str, password: str, role: str, scope: str, *, by: str = "", address: str = ""
    ) -> None:
        """Create an account; AccountError when the name is taken or a value is not acceptable."""
        name = clean_name(name)
        role = check_role(role)
        scope = check_scope(scope)
        password_hash = self._hasher.hash(check_password(password))
        _, when = self._moment()
        with self._write() as connection:
            if connection.execute("select 1 from users where name = ?", [name]).fetchone():
                raise AccountError(f"用户已存在：{name}")
            connection.execute(
                "insert into users (name, password_hash, role, scope, enabled, created_at) values (?, ?, ?, ?, 1, ?)",
                [name, password_hash, role, scope, when],
            )
            self._audit(connection, when, "account_add", account=by, address=address, target=name)

    def list_users(self) -> list[dict]:
        """Every account without its hash: name, role, scope, enabled, created_at, last_sign_in, locked_until."""
        epoch, _ = self._moment()
        with self._read() as connection:
            rows = connection.execute(
                """
                select u.name, u.role, u.scope, u.enabled, u.created_at, u.last_sign_in, l.until
                from users as u
                left join locks as l on l.name = u.name and l.until > ?
                order by u.name collate nocase
                """,
                [epoch],
            ).fetchall()
        return [
            {
                "name": row["name"],
                "role": row["role"],
                "scope": row["scope"],
                "enabled": bool(row["enabled"]),
                "created_at": row["created_at"],
                "last_sign_in": row["last_sign_in"],
                "locked_until": self._local(row["until"]) if row["until"] is not None else None,
            }
            for row in rows
        ]

    def has_users(self) -> bool:
        """True once any account exists, enabled or not: from then on every page needs a sign-in."""
        with self._read() as connection:
            return connection.execute("select 1 from users limit 1").fetchone() is not None

    def _existing_user(self, connection: sqlite3.Connection, name: str) -> str:
        row = connection.execute("select name from users where name = ?", [name]).fetchone()
        if row is None:
            raise AccountError(f"用户不存在：{name}")
        return row["name"]

    def set_enabled(self, name: str, enabled: bool, *, by: str = "", address: str = "") -> None:
        """Enable or disable an account; disabling ends its sessions at once."""
        name = clean_name(name)
        _, when = self._moment()
        with self._write() as connection:
            name = self._existing_user(connection, name)
            connection.execute("update users set enabled = ? where name = ?", [int(bool(enabled)), name])
            if not enabled:
                connection.execute("delete from sessions where account = ?", [name])
            action = "account_enable" if enabled else "account_disable"
            self._audit(connection, when, action, account=by, address=address, target=name)

    def set_password(self, name: str, password: str, *, by: str = "", address: str = "") -> None:
        """Give an account a new password; its sessions end at once and a sign-in lock is lifted."""
        name = clean_name(name)
        password_hash = self._hasher.hash(check_password(password))
        _, when = self._moment()
        with self._write() as connection:
            name = self._existing_user(connection, name)
            connection.execute("update users set password_hash = ? where name = ?", [password_hash, name])
            connection.execute("delete from sessions where account = ?", [name])
            connection.execute("delete from sign_in_failures where name = ?", [name])
            connection.execute("delete from locks where name = ?", [name])
            self._audit(connection, when, "account_passwd", account=by, address=address, target=name)

    def remove_user(self, name: str, *, by: str = "", address: str = "") -> None:
        """Delete an account and end its sessions; its rows in the audit log stay."""
        name = clean_name(name)
        _, when = self._moment()
        with self._write() as connection:
            name = self._existing_user(connection, name)
            connection.execute("delete from sessions where account = ?", [name])
            connection.execute("delete from users where name = ?", [name])
            self._audit(connection, when, "account_remove", account=by, address=address, target=name)

    # --- sign-in --------------------------------------------------------------------------------

    @classmethod
    def _dummy(cls) -> str:
        """A hash no password matches, so an unknown name costs the same Argon2 work as a known one."""
        if cls._dummy_hash is None:
            cls._dummy_hash = cls._hasher.hash(secrets.token_urlsafe(32))
        return cls._dummy_hash

    def _verify(self, password_hash: str, password: object) -> bool:
        try:
            return self._hasher.verify(password_hash, password if isinstance(password, str) else "")
        except (VerificationError, InvalidHashError):
            return False

    @staticmethod
    def _locked(connection: sqlite3.Connection, name: str, epoch: float) -> bool:
        row = connection.execute("select until from locks where name = ?", [name]).fetchone()
        return row is not None and row["until"] > epoch

    def _new_session(
        self,
        connection: sqlite3.Connection,
        epoch: float,
        via: str,
        *,
        account: str | None = None,
        display: str | None = None,
    ) -> str:
        session_id = secrets.token_urlsafe(32)
        idle = self.idle_timeout.total_seconds()
        connection.execute("delete from sessions where expires_at <= ?", [epoch])
        connection.execute(
            "insert into sessions (id_hash, account, display, via, created_at, last_seen, expires_at)"
            " values (?, ?, ?, ?, ?, ?, ?)",
            [_secret_hash(session_id), account, display, via, epoch, epoch, epoch + idle],
        )
        return session_id

    def sign_in(self, name: str, password: str, address: str = "") -> str | None:
        """A new session id for the right name and password, else None, the same for every reason.

        Five failures for a name within 15 minutes lock it for 15 minutes, whether or not the account
        exists; while locked even the right password fails.
        """
        typed, attempted = _attempted_name(name)
        epoch, when = self._moment()
        with self._read() as connection:
            row = connection.execute(
                "select name, password_hash from users where name = ? and enabled = 1", [typed]
            ).fetchone()
        # The Argon2 work is done for every attempt, so the time taken tells nothing either.
        verified = self._verify(row["password_hash"] if row else self._dummy(), password) and row is not None
        new_hash = None
        if verified and self._hasher.check_needs_rehash(row["password_hash"]):
            new_hash = self._hasher.hash(password)
        with self._write() as connection:
            if self._locked(connection, attempted, epoch):
                self._audit(
                    connection, when, "sign_in_failed", address=address, target=attempted, outcome="locked"
                )
                return None
            if verified:
                account = row["name"]
                session_id = self._new_session(connection, epoch, "password", account=account)
                connection.execute("update users set last_sign_in = ? where name = ?", [when, account])
                if new_hash:
                    connection.execute(
                        "update users set password_hash = ? where name = ?", [new_hash, account]
                    )
                connection.execute("delete from sign_in_failures where name = ?", [account])
                self._audit(connection, when, "sign_in", account=account, address=address, target="password")
                return session_id
            self._count_failure(connection, attempted, epoch, when, address)
            return None

    def _count_failure(
        self, connection: sqlite3.Connection, name: str, epoch: float, when: str, address: str
    ) -> None:
        window_start = epoch - FAILURE_WINDOW.total_seconds()
        connection.execute("delete from sign_in_failures where at <= ?", [window_start])
        connection.execute("delete from locks where until <= ?", [epoch])
        connection.execute("insert into sign_in_failures (name, at) values (?, ?)", [name, epoch])
        self._audit(connection, when, "sign_in_failed", address=address, target=name, outcome="failed")
        failures = connection.execute(
            "select count(*) from sign_in_failures where name = ? and at > ?", [name, window_start]
        ).fetchone()[0]
        if failures >= FAILURES_BEFORE_LOCK:
            until = epoch + LOCK_DURATION.total_seconds()
            connection.execute("insert or replace into locks (name, until) values (?, ?)", [name, until])
            connection.execute("delete from sign_in_failures where name = ?", [name])
            self._audit(connection, when, "lock", address=address, target=name, outcome="locked")

    def identity_principal(self, identity: str, address: str = "") -> Principal | None:
        """The enabled account named by an identity provider's e-mail or subject, signed in with a
        new session (`Principal.session`); None, audited as a failed sign-in, when there is none."""
        typed, attempted = _attempted_name(identity)
        epoch, when = self._moment()
        with self._write() as connection:
            row = connection.execute(
                "select name, role, scope from users where name = ? and enabled = 1", [typed]
            ).fetchone()
            if row is None or not typed:
                self._audit(
                    connection, when, "sign_in_failed", address=address, target=attempted, outcome="failed"
                )
                return None
            session_id = self._new_session(connection, epoch, "oidc", account=row["name"])
            connection.execute("update users set last_sign_in = ? where name = ?", [when, row["name"]])
            self._audit(connection, when, "sign_in", account=row["name"], address=address, target="oidc")
        return Principal(
            name=row["name"], role=row["role"], scope=row["scope"], via="oidc", session=session_id
        )

    # --- sessions -------------------------------------------------------------------------------

    def session_principal(self, session_id: str | None, *, touch: bool = True) -> Principal | None:
        """Who holds this session, or None when it is unknown, idle too long, a person's and older than
        `max_age`, or its account or display is gone or disabled. `touch=False` asks without counting as
        use: a page that only re-checks its session on a timer must not keep an unattended session alive
        for ever."""
        if not isinstance(session_id, str) or not session_id:
            return None
        id_hash = _secret_hash(session_id)
        epoch, _ = self._moment()
        with self._read() as connection:
            row = connection.execute(
                """
                select s.via, s.created_at, s.last_seen, s.account, s.display,
                       u.name as user_name, u.role, u.scope as user_scope, u.enabled,
                       d.name as display_name, d.scope as display_scope
                from sessions as s
                left join users as u on u.name = s.account
                left join displays as d on d.name = s.display
                where s.id_hash = ?
                """,
                [id_hash],
            ).fetchone()
        if row is None or epoch - row["last_seen"] > self.idle_timeout.total_seconds():
            return None
        if row["display"] is None and epoch - row["created_at"] > self.max_age.total_seconds():
            return None
        if row["display"] is not None:
            if row["display_name"] is None:
                return None
            principal = Principal(
                name=row["display_name"],
                role="viewer",
                scope=row["display_scope"],
                via="display",
                session=session_id,
            )
        else:
            if row["user_name"] is None or not row["enabled"]:
                return None
            principal = Principal(
                name=row["user_name"],
                role=row["role"],
                scope=row["user_scope"],
                via=row["via"],
                session=session_id,
            )
        if touch and epoch - row["last_seen"] >= LAST_SEEN_RESOLUTION.total_seconds():
            with self._write() as connection:
                connection.execute(
                    "update sessions set last_seen = ?, expires_at = ? where id_hash = ?",
                    [epoch, epoch + self.idle_timeout.total_seconds(), id_hash],
                )
        return principal

    def sign_out(self, session_id: str | None, address: str = "") -> None:
        """End the session now; an unknown id does nothing."""
        if not isinstance(session_id, str) or not session_id:
            return
        _, when = self._moment()
        with self._write() as connection:
            row = connection.execute(
                "select account, display from sessions where id_hash = ?", [_secret_hash(session_id)]
            ).fetchone()
            if row is None:
                return
            connection.execute("delete from sessions where id_hash = ?", [_secret_hash(session_id)])
            self._audit(
                connection, when, "sign_out", account=row["account"] or row["display"], address=address
            )

    # --- wall displays --------------------------------------------------------------------------

    def add_display(self, name: str, scope: str, *, by: str = "", address: str = "") -> str:
        """Create a wall display and return its token, the only time it is shown; only its hash is kept."""
        name = clean_name(name)
        scope = check_scope(scope)
        token = secrets.token_urlsafe(32)
        _, when = self._moment()
        with self._write() as connection:
            if connection.execute("select 1 from displays where name = ?", [name]).fetchone():
                raise AccountError(f"大屏已存在：{name}")
            connection.execute(
                "insert into displays (name, token_hash, scope, created_at) values (?, ?, ?, ?)",
                [name, _secret_hash(token), scope, when],
            )
            self._audit(connection, when, "display_add", account=by, address=address, target=name)
        return token

    def revoke_display(self, name: str, *, by: str = "", address: str = "") -> None:
        """Delete a display's token and end its sessions at once."""
        name = clean_name(name)
        _, when = self._moment()
        with self._write() as connection:
            row = connection.execute("select name from displays where name = ?", [name]).fetchone()
            if row is None:
                raise AccountError(f"大屏不存在：{name}")
            connection.execute("delete from sessions where display = ?", [row["name"]])
            connection.execute("delete from displays where name = ?", [row["name"]])
            self._audit(connection, when, "display_revoke", account=by, address=address, target=row["name"])

    def list_displays(self) -> list[dict]:
        """Every display without its token: name, scope, created_at, last_sign_in."""
        with self._read() as connection:
            rows = connection.execute(
                "select name, scope, created_at, last_sign_in from displays order by name collate nocase"
            ).fetchall()
        return [dict(row) for row in rows]

    def display_sign_in(self, token: str | None, address: str = "") -> str | None:
        """A viewer session in the display's scope for a valid token, else None."""
        epoch, when = self._moment()
        token_hash = _secret_hash(token) if isinstance(token, str) and token else None
        with self._write() as connection:
            row = None
            if token_hash is not None:
                row = connection.execute(
                    "select name from displays where token_hash = ?", [token_hash]
                ).fetchone()
            if row is None:
                self._audit(connection, when, "display_sign_in_failed", address=address, outcome="failed")
                return None
            session_id = self._new_session(connection, epoch, "display", display=row["name"])
            connection.execute("update displays set last_sign_in = ? where name = ?", [when, row["name"]])
            self._audit(connection, when, "display_sign_in", account=row["name"], address=address)
        return session_id


def _statements(script: str) -> list[str]:
    """The statements of SCHEMA, keeping each trigger body whole."""
    statements, current = [], []
    for line in script.splitlines():
        current.append(line)
        text = "\n".join(current).strip()
        if text and sqlite3.complete_statement(text):
            statements.append(text)
            current = []
    return statements

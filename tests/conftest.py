"""Shared fixtures: the browser, a Streamlit server, and where screenshots go."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench import server
from dashboard.report import CHROMIUM, CHROMIUM_ARGS

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT_S = 60
# Requests that never leave the browser.
LOCAL_SCHEMES = {"blob", "data", "about", "chrome-error"}


# The modules that run longest, longest first (measured): with the suite in two processes, a long
# module started last would run alone at the end while the other process has nothing left to do.
LONGEST_FIRST = (
    "test_browser_auth.py",
    "test_browser_hardening.py",
    "test_browser_overview.py",
    "test_browser_pages.py",
    "test_report.py",
    "test_spark.py",
    "test_browser_language.py",
    "test_browser_cards.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a browser page as `browser`, so `-m "not browser"` skips them all; put
    the LONGEST_FIRST modules first."""
    for item in items:
        if {"page", "context", "browser"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
    order = {name: rank for rank, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: order.get(item.path.name, len(order)))


_MAIN = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def main_module_kept() -> Iterator[None]:
    """Streamlit's script runner (AppTest) installs the page it runs as `__main__`; a process spawned
    by a later test in the same worker would run that page again on start. Put the real one back."""
    yield
    sys.modules["__main__"] = _MAIN


@pytest.fixture(autouse=True)
def own_accounts_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test reads and writes an accounts store of its own, never the one under data/."""
    path = tmp_path_factory.mktemp("accounts") / "accounts.sqlite"
    monkeypatch.setenv("YIPING_ACCOUNTS", str(path))
    return path


# --- browser (pytest-playwright) ---------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Launch Debian's Chromium (Playwright's own download is not available here); fail if missing."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"{CHROMIUM} not found: install it with `apt-get install chromium fonts-noto-cjk` "
            "(`make test` does this)",
            pytrace=False,
        )
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """A 1080p wall-screen viewport in Chinese."""
    return {
        **browser_context_args,
        "viewport": {"width": 1920, "height": 1080},
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
    }


# --- Streamlit server ----------------------------------------------------------------------------


def _start_streamlit(script: str, env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, str]:
    try:
        return server.start(script, env, log_path, SERVER_START_TIMEOUT_S)
    except server.ServerError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def streamlit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    """Factory `streamlit_server(db_path, env=None, script="app.py") -> base URL`, reused per arguments."""
    servers: dict[tuple, tuple[subprocess.Popen, str]] = {}
    logs = tmp_path_factory.mktemp("streamlit-logs")

    def start(
        db_path: str | os.PathLike | None,
        env: Mapping[str, str] | None = None,
        script: str | os.PathLike = "app.py",
    ) -> str:
        key = (str(db_path), tuple(sorted((env or {}).items())), str(script))
        if key in servers and servers[key][0].poll() is None:
            return servers[key][1]
        process_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        # Each server its own accounts store unless the test names one: no account leaks between tests.
        process_env["YIPING_ACCOUNTS"] = (env or {}).get("YIPING_ACCOUNTS") or str(
            logs / f"accounts-{len(servers)}.sqlite"
        )
        if db_path is None:
            process_env.pop("YIPING_DB", None)
        else:
            process_env["YIPING_DB"] = str(Path(db_path).resolve())
        log_path = logs / f"server-{len(servers)}.log"
        servers[key] = _start_streamlit(str(script), process_env, log_path)
        return servers[key][1]

    yield start
    for process, _ in servers.values():
        server.stop(process)


# --- what the browser did ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """`test-artifacts/` at the repository root (ignored by git), for screenshots."""
    path = REPO_ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


class RequestLog:
    """Every URL requested by a browser context, to check that none leaves the server."""

    def __init__(self, page) -> None:
        self.urls: list[str] = []
        page.context.on("request", lambda request: self.urls.append(request.url))

    def outside(self, base_url: str) -> list[str]:
        """URLs whose host is not the host of base_url."""
        server_host = urlsplit(base_url).hostname
        return [
            url
            for url in self.urls
            if urlsplit(url).scheme not in LOCAL_SCHEMES and urlsplit(url).hostname != server_host
        ]

    def assert_local(self, base_url: str) -> None:
        """Fail listing every request that went anywhere but the server."""
        outside = self.outside(base_url)
        assert not outside, f"requests left {base_url}:\n" + "\n".join(outside)


@pytest.fixture
def record_requests() -> Callable[..., RequestLog]:
    """Factory `record_requests(page) -> RequestLog`; call it before `page.goto`."""
    return RequestLog


# ------------------------------------------------------------------------------ demo data


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo database, built once per session through the real demo and build commands."""
    from pipelines.build import build
    from pipelines.demo import generate

    folder = tmp_path_factory.mktemp("demo")
    generate(folder / "input", scale=0.002, seed=7)
    db = folder / "db" / "yiping.duckdb"
    build(folder / "input", db)
    return db


@pytest.fixture(scope="session")
def small_real_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database built from a few hand-written rows, not the demo: real data as far as the dashboard knows."""
    from tests.inputs import build_folder, event, resident, write_folder

    folder = tmp_path_factory.mktemp("real")
    write_folder(folder / "input", {"residents": [resident()], "events": [event()]})
    db = folder / "db" / "yiping.duckdb"
    build_folder(folder / "input", db)
    return db

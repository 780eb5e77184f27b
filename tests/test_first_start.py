"""A first start with no database builds the demo, with its progress on the page."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard.labels import t

pytestmark = pytest.mark.browser
APP = Path(__file__).resolve().parent.parent / "app.py"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read() == b"ok"
    except OSError:
        return False


def test_first_start_builds_the_demo_with_progress(tmp_path, page, artifacts_dir):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if key != "YIPING_DB"}
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(APP),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not healthy(url):
            assert server.poll() is None and time.monotonic() < deadline, "the dashboard did not start"
            time.sleep(0.25)
        page.goto(url)
        progress = page.locator('[data-testid="stProgress"]')
        progress.wait_for(timeout=30_000)
        assert t("building_demo") in progress.inner_text()
        page.screenshot(path=str(artifacts_dir / "first_start_progress.png"))
        page.wait_for_selector('[data-testid="stMetric"]', timeout=180_000)
        assert (tmp_path / "data" / "yiping.duckdb").exists()
        assert page.get_by_text(t("demo_data")).first.is_visible()
    finally:
        os.killpg(server.pid, 9)
        log.close()

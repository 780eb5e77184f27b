"""The frame around the dashboard: pinned requirements, offline settings, a map drawn without internet."""

from __future__ import annotations

import io
import json
import re
import time
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT_FILES = sorted(REPO_ROOT.glob("requirements*.txt"))
PINNED = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^=\s;]+)$")
MAP_STYLE_URL_PATH = "/app/static/map_style.json"
# PROBE_FILL in tests/apps/deck_probe.py
PROBE_RGB = (34, 211, 238)


def requirement_lines() -> list[tuple[str, str]]:
    """(file name, line) for every requirement, without comments, blanks and `-r` includes."""
    lines = []
    for path in REQUIREMENT_FILES:
        for raw in path.read_text().splitlines():
            line = raw.split("#", 1)[0].strip()
            if line and not line.startswith("-r "):
                lines.append((path.name, line))
    return lines


def test_requirement_files_exist():
    assert (REPO_ROOT / "requirements.txt").is_file()
    assert (REPO_ROOT / "requirements-dev.txt").is_file()


@pytest.mark.parametrize(("file_name", "line"), requirement_lines())
def test_requirement_is_pinned_to_installed_version(file_name, line):
    match = PINNED.match(line)
    assert match, f"{file_name}: {line!r} is not pinned with =="
    try:
        installed = version(match["name"])
    except PackageNotFoundError:
        pytest.fail(f"{file_name}: {match['name']} is not installed; run make test")
    assert installed == match["version"], f"{file_name}: {line!r} but {installed} is installed"


def test_map_style_is_local_and_empty():
    style = json.loads((REPO_ROOT / "static" / "map_style.json").read_text())
    assert style["version"] == 8
    assert style["sources"] == {}
    assert [layer["type"] for layer in style["layers"]] == ["background"]
    assert "http" not in json.dumps(style)


def test_streamlit_config_stays_offline():
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableStaticServing"] is True
    assert config["browser"]["gatherUsageStats"] is False
    # Without an explicit address a headless start asks checkip.amazonaws.com for one.
    assert config["browser"]["serverAddress"]
    assert "http" not in json.dumps(config["theme"])


def count_pixels_near(png: bytes, rgb: tuple[int, int, int], tolerance: int = 16) -> int:
    """How many pixels of a PNG are within tolerance of rgb on every channel."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    return int((np.abs(pixels - np.array(rgb)) <= tolerance).all(axis=-1).sum())


@pytest.mark.browser
@pytest.mark.parametrize("script", ["tests/apps/deck_probe.py"])
def test_deck_draws_on_local_style_without_internet(
    script, streamlit_server, page, record_requests, artifacts_dir
):
    base_url = streamlit_server(None, script=script)
    requests = record_requests(page)

    page.goto(base_url)
    expect(page.get_by_role("heading", name="一屏 deck probe")).to_be_visible(timeout=30_000)
    chart = page.get_by_test_id("stDeckGlJsonChart")
    expect(chart.locator("canvas").first).to_be_visible()
    deadline = time.monotonic() + 20
    while (hexagon_pixels := count_pixels_near(chart.screenshot(), PROBE_RGB)) < 5_000:
        assert time.monotonic() < deadline, f"deck drew only {hexagon_pixels} hexagon pixels"
        page.wait_for_timeout(500)

    page.screenshot(path=artifacts_dir / f"{Path(script).stem}.png")
    requests.assert_local(base_url)
    assert f"{base_url}{MAP_STYLE_URL_PATH}" in requests.urls


def test_events_new_or_changed_by_a_publish_are_marked_for_ten_minutes(tmp_path, monkeypatch):
    import datetime as dt
    import os

    import streamlit as st

    from dashboard import frame

    monkeypatch.setattr(st, "session_state", {})
    db = tmp_path / "yiping.duckdb"
    db.write_bytes(b"first")
    view = ("50", dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    seen_at = dt.datetime(2024, 6, 30, 9, 0)
    before = {"E1": ("pending", "a"), "E2": ("pending", "b")}
    assert frame.fresh_events(db, view, before, seen_at) == set()  # nothing to compare with yet
    assert frame.fresh_events(db, view, before, seen_at + dt.timedelta(seconds=10)) == set()

    fresh = tmp_path / "next.duckdb"
    fresh.write_bytes(b"second")
    os.replace(fresh, db)  # a publish: a new file renamed over the old one
    after = {"E3": ("pending", "c"), "E1": ("in_progress", "a"), "E2": ("pending", "b")}
    published_seen = seen_at + dt.timedelta(minutes=1)
    assert frame.fresh_events(db, view, after, published_seen) == {"E1", "E3"}
    # the page's watcher reruns it when the marks lapse, with no publish needed
    assert st.session_state["_marks_lapse_at"] == published_seen + frame.NEW_FOR
    assert frame.fresh_events(db, view, after, published_seen + dt.timedelta(minutes=9)) == {"E1", "E3"}
    assert frame.fresh_events(db, view, after, published_seen + frame.NEW_FOR) == set()
    assert st.session_state["_marks_lapse_at"] is None
    # another region's sheet keeps its own memory
    assert frame.fresh_events(db, ("500101",) + view[1:], after, published_seen) == set()


def test_the_wall_refreshes_every_ten_seconds_by_default(monkeypatch):
    import importlib

    from dashboard import frame

    monkeypatch.delenv("YIPING_REFRESH_SECONDS", raising=False)
    assert importlib.reload(frame).REFRESH_SECONDS == 10

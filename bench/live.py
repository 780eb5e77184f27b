"""Live data on the benchmark database: one large ingest, and the wall following a watched folder.

(a) `python -m pipelines ingest` of one increment of 10,000 events (half of them changes to stored
events, half new ids) into a copy of the benchmark database, in a process of its own: wall time and
peak memory, against 20 s and 3 GB.

(b) `python -m pipelines watch` on another copy, a Streamlit server on that copy, and 20 Chromium
pages held open on different regions (the first the city's wall screen, `?kiosk=1`). Every 10 s an
increment of new events lands in the watched folder (written beside it, then renamed in), with events
in every shown region. For each increment and page: seconds from the file's arrival to the page's 12
cards showing the new publish's figures, or a later publish's (those of `kpis_with_previous`, formatted
as the cards do), recorded in the page itself; any exception shown by a page is an error. The wall
screen's time is the end-to-end figure (target 30 s).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import server
from bench.common import GB, REPO_ROOT, Section, percentiles

INGEST_CHANGED = 5_000
INGEST_NEW = 5_000
INGEST_TARGET_S = 20.0
INGEST_PEAK_TARGET_BYTES = 3 * GB
PAGES = 20
INCREMENTS = 6
EVERY_S = 10.0
PER_REGION = 3  # new events per shown region in each increment
WALL_TARGET_S = 30.0
FOLLOW_TIMEOUT_S = 180.0
SEED = 20251
# Pages behind others still run their timers at full rate: the watched pages refresh on a timer.
BROWSER_ARGS = [
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


def _copy_published(db: Path, target: Path) -> Path:
    """A copy of the published database and its rejects report, to load into without touching `db`."""
    shutil.copyfile(db, target)
    rejects = db.with_suffix(".rejects.csv")
    if rejects.exists():
        shutil.copyfile(rejects, target.with_suffix(".rejects.csv"))
    return target


def _events_sql(source: Path) -> str:
    return f"read_parquet('{str(source).replace(chr(39), chr(39) * 2)}')"


def write_large_increment(events: Path, out: Path, changed: int, new: int, seed: int = SEED) -> dict:
    """`changed` open events of the input now resolved a day after their report, and `new` copies of
    recent events under new ids, as one Parquet increment."""
    import duckdb

    out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"select setseed({(seed % 1000) / 1000})")
    source = _events_sql(events)
    con.execute(
        f"""
        copy (
            (select * replace (
                    'resolved' as status,
                    coalesce(accepted_at, reported_at) + interval 1 day as resolved_at,
                    'community' as resolution_level,
                    'satisfied' as satisfaction)
             from {source}
             where status in ('pending', 'in_progress')
             order by random() limit {int(changed)})
            union all
            (select * replace ('BENCH' || lpad(cast(row_number() over () as varchar), 8, '0') as event_id)
             from (select * from {source}
                   where reported_at >= (select max(reported_at) from {source}) - interval 90 day
                   order by random() limit {int(new)}))
        ) to '{str(out).replace(chr(39), chr(39) * 2)}' (format parquet)
        """
    )
    rows = con.execute(f"select count(*) from read_parquet('{out}')").fetchone()[0]
    con.close()
    return {"file": out.name, "rows": rows, "changed": changed, "new": new}


def _regions(db: Path) -> list[str]:
    """The city, then districts and townships in a seeded order: PAGES regions in all."""
    from dashboard import queries
    from pipelines.contract import CITY_CODE

    rng = random.Random(SEED)
    districts = list(queries.children(db, CITY_CODE)["code"].astype(str))
    rng.shuffle(districts)
    picked = [CITY_CODE, *districts[: PAGES // 2]]
    for district in districts:
        if len(picked) >= PAGES:
            break
        townships = list(queries.children(db, district)["code"].astype(str))
        if townships:
            picked.append(rng.choice(townships))
    return picked[:PAGES]


def _increment_from_input(events: Path, regions: list[str], number: int, out: Path) -> int:
    """New ids for PER_REGION recent events of every region in `regions`: every shown page's figures change."""
    import duckdb

    out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    source = _events_sql(events)
    parts = []
    for i, code in enumerate(regions):
        parts.append(
            f"""(select * replace ('LIVE{number:02d}R{i:02d}N' || cast(row_number() over () as varchar) as event_id)
                 from (select * from {source}
                       where starts_with(cast(grid_code as varchar), '{code}')
                         and reported_at >= (select max(reported_at) from {source}) - interval 60 day
                       order by event_id limit {PER_REGION}))"""
        )
    con.execute(f"copy ({' union all '.join(parts)}) to '{out}' (format parquet)")
    rows = con.execute(f"select count(*) from read_parquet('{out}')").fetchone()[0]
    con.close()
    return rows


# JavaScript in each page: every state its title bar's publish and its cards go through, with the time.
_VALUES = "[...document.querySelectorAll('[data-testid=\"stMetricValue\"]')].map(e => e.innerText.trim())"
_LOAD = "document.querySelector('.yp-right')?.dataset.load"
JS_RECORD = f"""() => {{
    window.__liveStates = [];
    let last = null;
    setInterval(() => {{
        const load = {_LOAD};
        const values = {_VALUES};
        const key = load + "|" + values.join("|");
        if (key !== last) {{
            last = key;
            window.__liveStates.push({{load: Number(load), values: values, t: Date.now()}});
        }}
    }}, 50);
}}"""
JS_STATES = "(from) => window.__liveStates.slice(from)"
# Installed before the app's own scripts: when the page's socket opened and closed, and when it last
# sent (a rerun request: a timer's tick, a click) and received a message.
JS_SOCKET = """(() => {
    const seen = { opened: [], closed: [], sent: 0, lastSent: null, received: 0, lastReceived: null };
    window.__liveSocket = seen;
    const Native = window.WebSocket;
    class Watched extends Native {
        constructor(...args) {
            super(...args);
            seen.opened.push(Date.now());
            this.addEventListener("close", () => seen.closed.push(Date.now()));
            this.addEventListener("message", () => { seen.received += 1; seen.lastReceived = Date.now(); });
        }
        send(data) {
            seen.sent += 1;
            seen.lastSent = Date.now();
            return super.send(data);
        }
    }
    window.WebSocket = Watched;
})();"""
# What a page that did not follow shows, to say why.
JS_STUCK = """() => ({
    socket: window.__liveSocket,
    script: document.querySelector('[data-testid="stApp"]')?.getAttribute("data-test-script-state"),
    alerts: [...document.querySelectorAll('[data-testid="stAlert"]')].map(e => e.innerText.slice(0, 300)),
    connection: document.querySelector('[data-testid="stConnectionStatus"]')?.innerText || null,
    titleBar: document.querySelector(".yp-bar")?.outerHTML.slice(0, 600) || null,
    // the first blocks of the page, in order: what stands where the title bar should
    top: [...(document.querySelector('[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"]')
        ?.children || [])].slice(0, 5).map(e => `${e.getAttribute("data-testid")}: ${e.innerText.slice(0, 80)}`),
    now: Date.now(),
})"""
JS_EXCEPTION = "() => document.querySelector('[data-testid=\"stException\"]')?.innerText || null"


def run(db: Path, input_dir: Path, work: Path) -> Section:
    section = Section("live")
    work = work / "live"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    events = input_dir / "events.parquet"
    if not events.exists():
        section.status = "skipped"
        section.notes.append(f"{events.name} is not in the benchmark input")
        return section
    details: dict = {}
    details["ingest"] = _large_ingest(db, events, work, section)
    details["follow"] = _follow(db, events, work, section)
    section.details = details
    return section


def _large_ingest(db: Path, events: Path, work: Path, section: Section) -> dict:
    from bench.data import _measured

    target = _copy_published(db, work / "ingest.duckdb")
    increment = write_large_increment(
        events, work / "large" / "events_bench.parquet", INGEST_CHANGED, INGEST_NEW
    )
    measured = _measured(
        [sys.executable, "-m", "pipelines", "ingest", "--input", str(work / "large"), "--db", str(target)],
        work / "ingest.log",
    )
    section.add(
        f"ingest of {INGEST_CHANGED + INGEST_NEW:,} events ({INGEST_CHANGED:,} changed, {INGEST_NEW:,} new): "
        "published",
        measured["wall_s"],
        "s",
        INGEST_TARGET_S,
        "<=",
    )
    section.add("ingest: peak memory", measured["peak_rss_bytes"], "bytes", INGEST_PEAK_TARGET_BYTES, "<=")
    target.unlink()
    target.with_suffix(".rejects.csv").unlink(missing_ok=True)
    return {**increment, **measured}


def _follow(db: Path, events: Path, work: Path, section: Section) -> dict:
    from playwright.sync_api import sync_playwright

    from bench.browser import CARDS, CHROMIUM, CHROMIUM_ARGS, JS_CARDS_SHOWN, _wait, default_card_values

    live_db = _copy_published(db, work / "live.duckdb")
    folder = work / "watched"
    for name in ("incoming", "done", "failed"):
        (folder / name).mkdir(parents=True)
    staging = work / "staging"
    staging.mkdir()
    regions = _regions(db)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    watch_log = (work / "watch.log").open("wb")
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines",
            "watch",
            "--input",
            str(folder),
            "--db",
            str(live_db),
            "--interval",
            "1",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=watch_log,
        stderr=subprocess.STDOUT,
    )
    app_env = {
        **env,
        "YIPING_DB": str(live_db.resolve()),
        "YIPING_ACCOUNTS": str((work / "accounts-open.sqlite").resolve()),
    }
    process, base = server.start("app.py", app_env, work / "streamlit.log", 90)
    expected: dict[int, dict[str, list[str]]] = {}
    states: dict[str, list[dict]] = {code: [] for code in regions}
    ingests: list[dict] = []
    errors: list[str] = []
    stuck: dict[str, dict] = {}  # what each page that missed the last publish showed at the end
    page_errors: dict[str, list[str]] = {}  # uncaught errors of each page's scripts
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *BROWSER_ARGS]
            )
            try:
                context = browser.new_context(
                    viewport={"width": 1920, "height": 1080}, locale="zh-CN", timezone_id="Asia/Shanghai"
                )
                context.add_init_script(JS_SOCKET)
                pages = {}
                for i, code in enumerate(regions):
                    page = context.new_page()
                    page.goto(f"{base}/?kiosk=1" if i == 0 else f"{base}/?region={code}", wait_until="commit")
                    pages[code] = page
                    page_errors[code] = []
                    page.on("pageerror", lambda error, code=code: page_errors[code].append(str(error)[:500]))
                    page.on("crash", lambda _, code=code: page_errors[code].append("the page crashed"))
                for page in pages.values():
                    _wait(page, JS_CARDS_SHOWN, CARDS)
                    page.evaluate(JS_RECORD)
                states: dict[str, list[dict]] = {code: [] for code in regions}
                for number in range(1, INCREMENTS + 1):
                    started = time.monotonic()
                    name = f"events_live{number:02d}.parquet"
                    rows = _increment_from_input(events, regions, number, staging / name)
                    arrived = time.time()
                    os.replace(staging / name, folder / "incoming" / name)
                    published = _wait_published(folder, name, FOLLOW_TIMEOUT_S)
                    published_s = time.time() - arrived
                    load = _load_number(live_db)
                    expected[load] = {code: default_card_values(live_db, code) for code in regions}
                    ingests.append(
                        {
                            "file": name,
                            "rows": rows,
                            "published": published,
                            "published_s": published_s,
                            "arrived": arrived,
                            "load": load,
                        }
                    )
                    # wait until every page shows this publish (or a later one) with its cards, or time is up
                    deadline = time.monotonic() + FOLLOW_TIMEOUT_S
                    waiting = set(regions)
                    while waiting and time.monotonic() < deadline:
                        for code in sorted(waiting):
                            page = pages[code]
                            states[code] += page.evaluate(JS_STATES, len(states[code]))
                            shown = page.evaluate(JS_EXCEPTION)
                            if shown:
                                errors.append(f"{code}: {shown.strip()[:300]}")
                                waiting.discard(code)
                            elif _followed(states[code], expected, code, load) is not None:
                                waiting.discard(code)
                        time.sleep(0.2)
                    rest = EVERY_S - (time.monotonic() - started)
                    if rest > 0:
                        time.sleep(rest)
                for code, page in pages.items():
                    states[code] += page.evaluate(JS_STATES, len(states[code]))
                    last = ingests[-1]["load"] if ingests else None
                    if last is not None and _followed(states[code], expected, code, last) is None:
                        stuck[code] = {
                            **page.evaluate(JS_STUCK),
                            "page_errors": page_errors[code][-5:],
                            "last_states": states[code][-3:],
                            "expected": {load: cards[code] for load, cards in expected.items()},
                        }
            finally:
                browser.close()
    finally:
        server.stop(process)
        watcher.terminate()
        try:
            watcher.wait(timeout=60)
        except subprocess.TimeoutExpired:
            watcher.kill()
        watch_log.close()
    # a page follows increment N when it shows publish N, or a later one, with that publish's cards
    times: dict[str, list[float | None]] = {code: [] for code in regions}
    for ingest in ingests:
        for code in regions:
            seen = _followed(states[code], expected, code, ingest["load"])
            times[code].append(None if seen is None else max(0.0, seen / 1000 - ingest["arrived"]))
    wall = [s for s in times[regions[0]] if s is not None]
    every = [s for code in regions for s in times[code] if s is not None]
    missed = sum(1 for code in regions for s in times[code] if s is None)
    section.add(
        f"file dropped into the watched folder → the wall's cards show it, max of {INCREMENTS}",
        max(wall) if wall and len(wall) == INCREMENTS else None,
        "s",
        WALL_TARGET_S,
        "<=",
    )
    section.add(
        "file dropped → published (watch + ingest), median",
        percentiles([i["published_s"] for i in ingests])["p50"],
        "s",
    )
    section.add(f"{PAGES} pages open: file dropped → cards updated, p95", percentiles(every)["p95"], "s")
    section.add(f"{PAGES} pages open: file dropped → cards updated, p50", percentiles(every)["p50"], "s")
    section.add(
        "pages that did not follow a publish, or showed an error", missed + len(errors), "count", 0, "<="
    )
    section.notes.append(
        f"{PAGES} pages on one Chromium (background timer throttling off), each refreshing on the app's "
        f"timer (YIPING_REFRESH_SECONDS, default 10 s); an increment of {PER_REGION} new events per shown "
        f"region every {EVERY_S:g} s into `watch --interval 1`; times run from the rename into incoming/ "
        "to the moment the page shows the new publish, or a later one, (its title bar's data-load) with the "
        "cards of the publish it shows: a page that skips a publish because the next came first still follows."
    )
    if errors:
        section.notes.append("errors shown: " + " | ".join(errors[:5]))
    return {"regions": regions, "times_s": times, "ingests": ingests, "errors": errors, "stuck": stuck}


def _followed(states: list[dict], expected: dict[int, dict], code: str, load: int) -> float | None:
    """When (ms since the epoch) a page first showed publish `load` or a later one with the cards of the
    publish it showed; None if it never did."""
    for state in states:
        shown = state["load"]
        if shown >= load and shown in expected and state["values"] == expected[shown][code]:
            return state["t"]
    return None


def _load_number(db: Path) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.execute("select load_number from build_info").fetchone()[0])
    finally:
        con.close()


def _wait_published(folder: Path, name: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (folder / "done" / name).exists():
            return "done"
        if (folder / "failed" / name).exists():
            why = folder / "failed" / (name + ".why.txt")
            raise RuntimeError(f"the watcher refused {name}: {why.read_text(encoding='utf-8')[:500]}")
        time.sleep(0.1)
    raise RuntimeError(f"{name} was not published within {timeout_s:g} s")

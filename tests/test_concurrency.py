"""Readers in their own processes ask what the pages ask while twenty ingests publish one after another:
no reader fails, none sees a mix of two publishes, and none sees the publishes go backwards."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import queue
import random
import time
import traceback

from inputs import GRIDS, HEADERS, KPI_TABLES, TODAY, build_folder, event, query, write_csv, write_folder

from pipelines.build import rejects_report_is_current
from pipelines.ingest import ingest

START, END = dt.date(2023, 1, 1), dt.date(2023, 12, 31)
DISTRICTS = ("500101", "500102")
INGESTS = 20
READERS = 3
# How long a reader may take to start, and to see the last publish after the ingests end.
WAIT_S = 60
# A reader's pause between two rounds of questions, leaving the ingests a share of the machine.
PAUSE_S = 0.2
COUNTED_IN_PERIOD = "select count(*) from events where is_counted and reported_date between ? and ?"

# One statement on one cursor: every figure comes from the same published file. Each mart that
# keeps the events by region holds the city, and the levels below it add up to the city (the days
# count the events that are not cancelled, the months all of them).
SNAPSHOT_SQL = """
select
    (select max(load_number) from load_log) as load_number,
    (select count(*) from load_log) as load_rows,
    (select load_number from build_info) as published_load,
    (select count(*) from events) as events,
    (select count(*) from events where is_counted) as counted,
    (select sum(total) from events_by_region_day where region_code = '50') as city_days,
    (select sum(total) from events_by_region_day where length(region_code) = 6) as district_days,
    (select sum(total) from events_by_region_day where length(region_code) = 9) as township_days,
    (select sum(total) from events_by_region_day where length(region_code) = 15) as grid_days,
    (select sum(events) from events_by_region_month where region_code = '50') as city_months,
    (select sum(events) from events_by_region_month where length(region_code) = 6) as district_months,
    (select count(*) from events where status = 'resolved') as resolved,
    (select sum(resolved) from events_by_region_day where region_code = '50') as city_resolved,
    (select count(*) from resolve_times) as resolve_times,
    (select sum(events) from resolve_time_histogram) as histogram
"""


def read_while_publishing(db: str, final_load: int, ready, stop, results) -> None:
    """A reader process: ask as the pages do until the last publish is seen after `stop`; report all."""
    from dashboard.access import Principal
    from dashboard.data import ask
    from dashboard.queries import cursor, publication

    city = Principal(name="reader", role="viewer", scope="50", via="password")
    reads: list[dict] = []
    errors: list[str] = []
    deadline = None
    try:
        while True:
            try:
                before = publication(db)
                read = {"load": ask(city, "build_info", db)["load_number"]}
                read["city"] = ask(city, "kpis", db, "50", START, END)["events"]["total"]
                read["districts"] = [
                    ask(city, "kpis", db, code, START, END)["events"]["total"] for code in DISTRICTS
                ]
                read["ranking"] = [int(n) for n in ask(city, "ranking", db, "50", START, END)["total"]]
                read["trend"] = int(ask(city, "event_trend", db, "50", START, END)["total"].sum())
                read["unchanged"] = publication(db) == before
                statement = cursor(db)
                try:
                    result = statement.execute(SNAPSHOT_SQL)
                    names = [d[0] for d in result.description]
                    read["snapshot"] = dict(zip(names, result.fetchall()[0], strict=True))
                finally:
                    statement.close()
                reads.append(read)
            except Exception:  # noqa: BLE001 -- every failure is the finding, reported to the test
                errors.append(traceback.format_exc())
                time.sleep(0.05)
            ready.set()
            time.sleep(PAUSE_S)
            if stop.is_set():
                deadline = deadline or time.monotonic() + WAIT_S
                # done after a whole round at the last publish: one begun before it and ended after it
                # saw the last publish only in its snapshot
                last = reads[-1] if reads else None
                if (
                    last and last["load"] == final_load and last["snapshot"]["load_number"] == final_load
                ) or time.monotonic() > deadline:
                    break
    finally:
        results.put({"reads": reads, "errors": errors[:5], "error_count": len(errors)})


def new_events(rng: random.Random, number: int) -> list[dict]:
    """A few new events of increment `number`, some resolved, all reported in 2023."""
    rows = []
    for i in range(3 + number % 4):
        day = f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 27):02d}"
        row = event(event_id=f"I{number}-{i}", grid_code=rng.choice(GRIDS), reported_at=f"{day} 08:00")
        if rng.random() < 0.5:
            row |= {"status": "resolved", "resolved_at": f"{day} 20:00", "resolution_level": "grid"}
        rows.append(row)
    return rows


def test_readers_never_see_a_mix_of_two_publishes(tmp_path):
    db = tmp_path / "data" / "yiping.duckdb"
    build_folder(write_folder(tmp_path / "base", KPI_TABLES), db)
    rng = random.Random(20)
    files = []
    for number in range(INGESTS):
        # an earlier event changes state as well: cancelled, it leaves the total
        changed = event(event_id="E3", grid_code=GRIDS[0], category="dispute", reported_at="2023-05-01 08:00",
                        status=["pending", "cancelled"][number % 2])  # fmt: skip
        rows = [*new_events(rng, number), changed]
        files.append(write_csv(tmp_path / f"events_{number:02d}.csv", HEADERS["events"], rows))
    final_load = INGESTS + 1
    # the city's total of the period as each publish leaves it, read once it is published
    expected = {1: query(db, COUNTED_IN_PERIOD, [START, END])[0][0]}
    build_files = query(db, "select count(*) from load_log")[0][0]

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    stop = context.Event()
    started = [context.Event() for _ in range(READERS)]
    readers = [
        context.Process(target=read_while_publishing, args=(str(db), final_load, ready, stop, results))
        for ready in started
    ]
    for reader in readers:
        reader.start()
    reports = []
    try:
        for ready in started:
            assert ready.wait(WAIT_S), "a reader did not start"
        for number, file in enumerate(files, start=2):
            ingest(file, db, today=TODAY)
            assert rejects_report_is_current(db)
            expected[number] = query(db, COUNTED_IN_PERIOD, [START, END])[0][0]
        stop.set()
        for _ in readers:
            reports.append(results.get(timeout=WAIT_S + 30))
    except queue.Empty:
        raise AssertionError("a reader never reported") from None
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=30)
            if reader.is_alive():
                reader.kill()

    assert len(set(expected.values())) > INGESTS / 2, "the publishes did not change the total"
    for report in reports:
        assert report["error_count"] == 0, "\n".join(report["errors"])
        reads = report["reads"]
        loads = [read["load"] for read in reads]
        seen = [read["snapshot"]["load_number"] for read in reads]
        # the reader saw the publishes, in order, up to the last one
        assert seen[-1] == final_load and loads[-1] == final_load
        assert len(set(seen)) >= 3, f"a reader saw too few publishes to tell: {sorted(set(seen))}"
        assert loads == sorted(loads) and seen == sorted(seen)
        assert all(load <= later for load, later in zip(loads, seen, strict=True))
        for read in reads:
            snapshot = read["snapshot"]
            load = snapshot["load_number"]
            assert snapshot["published_load"] == load
            assert snapshot["load_rows"] == build_files + load - 1
            assert (
                snapshot["counted"]
                == snapshot["city_days"]
                == snapshot["district_days"]
                == snapshot["township_days"]
                == snapshot["grid_days"]
            ), snapshot
            assert snapshot["events"] == snapshot["city_months"] == snapshot["district_months"], snapshot
            assert (
                snapshot["resolved"]
                == snapshot["city_resolved"]
                == snapshot["resolve_times"]
                == snapshot["histogram"]
            ), snapshot
        # what the pages asked, while no publish came between the first question and the last
        quiet = [read for read in reads if read["unchanged"]]
        assert len(quiet) >= 3
        for read in quiet:
            assert read["city"] == expected[read["load"]], read
            assert read["city"] == sum(read["districts"]) == sum(read["ranking"]) == read["trend"], read

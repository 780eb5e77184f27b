"""The analyst pages under AppTest: every page at the city, a district and a grid, in both languages,
without exceptions and with figures that agree with `kpis` as the gate lets them through; and what a
principal's scope and role leave on them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth, downloads, queries
from dashboard import format as fmt
from dashboard.access import Principal
from dashboard.cards import build_cards
from dashboard.filters import Filters
from dashboard.labels import enum_label, kpi_label, t
from dashboard.panels import deck_codes, picked_region, plotly_codes
from dashboard.queries import OPERATOR, Gate, OutOfScope
from pipelines.contract import TAGS

APP = Path(__file__).resolve().parent.parent / "app.py"

# The KPI cards each page shows, in order (section, key, kind, good direction).
PAGE_CARDS = {
    "population": (
        ("population", "residents", "count", 0),
        ("population", "households", "count", 0),
        ("population", "elderly_share", "rate", 0),
        ("population", "floating_share", "rate", 0),
    ),
    "housing": (
        ("housing", "units", "count", 0),
        ("housing", "rented", "count", 0),
        ("housing", "rental_share", "rate", 0),
        ("housing", "vacancy_rate", "rate", -1),
    ),
    "events": (
        ("events", "total", "count", 0),
        ("events", "resolved", "count", 0),
        ("events", "resolution_rate", "rate", 1),
        ("events", "on_time_rate", "rate", 1),
        ("events", "median_hours_to_resolve", "hours", -1),
        ("events", "grassroots_rate", "rate", 1),
        ("events", "satisfaction_rate", "rate", 1),
        ("events", "overdue_open", "count", -1),
    ),
    "economy": (
        ("collective_economy", "villages", "count", 0),
        ("collective_economy", "operating_income", "money", 1),
        ("collective_economy", "share_ge_50k", "rate", 1),
        ("collective_economy", "share_ge_100k", "rate", 1),
        ("collective_economy", "share_profit_ge_100k", "rate", 1),
    ),
}


def signed_in(monkeypatch, principal: Principal) -> None:
    """The session's principal, as the router gets it from the sign-in."""
    monkeypatch.setattr(auth, "principal", lambda: principal)


def open_page(db, monkeypatch, page: str, principal: Principal | None = None, **params) -> AppTest:
    """Run app.py with the URL parameters (as `principal` when given), then switch to the page and run it."""
    monkeypatch.setenv("YIPING_DB", str(db))
    if principal is not None:
        signed_in(monkeypatch, principal)
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"views/{page}.py")
    return at.run()


def one_value(db, sql: str) -> str:
    cur = queries.cursor(db)
    try:
        return cur.execute(sql).fetchall()[0][0]
    finally:
        cur.close()


@pytest.fixture(scope="module")
def busy_grid(demo_db) -> str:
    """The grid with the most events."""
    return one_value(demo_db, "select grid_code from events group by 1 order by count(*) desc, 1 limit 1")


@pytest.fixture(scope="module")
def quiet_grid(demo_db) -> str:
    """A grid without any event."""
    return one_value(
        demo_db,
        "select code from regions where level = 'grid' and code not in (select grid_code from events) "
        "order by code limit 1",
    )


def expected_cards(db, page: str, code: str, lang: str, start=None, end=None) -> list[tuple]:
    """The cards of `kpis` for the page, as the gate lets them through (small counts hidden)."""
    period = queries.default_period(db)
    current, previous = Gate(OPERATOR).ask(
        "kpis_with_previous", db, code, start or period.start, end or period.end
    )
    return [(c.label, c.value, c.delta or "") for c in build_cards(current, previous, lang, PAGE_CARDS[page])]


def shown_cards(at: AppTest, page: str) -> list[tuple]:
    return [(m.label, m.value, m.delta) for m in at.metric][: len(PAGE_CARDS[page])]


def table_with(at: AppTest, *labels: str) -> pd.DataFrame:
    """The first table on the page holding every one of these column labels."""
    for frame in at.dataframe:
        if set(labels) <= set(frame.value.columns):
            return frame.value
    raise AssertionError(f"no table with {labels}: {[list(f.value.columns) for f in at.dataframe]}")


def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# ------------------------------------------------------------------------------ every page, level, language


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("level", ["city", "district", "grid"])
@pytest.mark.parametrize("page", list(PAGE_CARDS))
def test_page_runs_and_its_cards_agree_with_kpis(demo_db, monkeypatch, busy_grid, page, level, lang):
    code = {"city": "50", "district": "500153", "grid": busy_grid}[level]
    at = open_page(demo_db, monkeypatch, page, region=code, lang=lang)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert shown_cards(at, page) == expected_cards(demo_db, page, code, lang)
    assert at.query_params["region"] == code
    if lang == "en":
        texts = [m.label for m in at.metric] + [h.value for h in at.subheader] + [i.value for i in at.info]
        texts += [str(c) for f in at.dataframe for c in f.value.columns]
        assert not [text for text in texts if has_chinese(text)]
    for figure in figures(at):
        # every chart draws something or says why it cannot
        assert figure.get("data") or figure["layout"].get("annotations")


def test_every_page_has_the_table_behind_each_chart(demo_db, monkeypatch):
    for page in PAGE_CARDS:
        at = open_page(demo_db, monkeypatch, page, region="500153")
        charts = len(at.get("plotly_chart")) + len(at.get("deck_gl_json_chart"))
        tables = [e for e in at.expander if e.label == t("data_table")]
        assert len(tables) == charts, page
        assert all(len(e.dataframe) == 1 for e in tables), page


# ------------------------------------------------------------------------------------------ population


@pytest.mark.parametrize("code", ["50", "500153"])
def test_population_figures_agree_with_kpis(demo_db, monkeypatch, code):
    at = open_page(demo_db, monkeypatch, "population", region=code)
    period = queries.default_period(demo_db)
    population = queries.kpis(demo_db, code, period.start, period.end)["population"]
    cards = {m.label: m.value for m in at.metric}
    for tag, count in population["special_care"].items():
        assert cards[enum_label(tag)] == fmt.count(count)
    composition = table_with(at, t("residence_type"), kpi_label("residents"))
    assert composition[kpi_label("residents")].sum() == population["residents"]
    pyramid = table_with(at, t("age_group"), t("gender"))
    assert pyramid[kpi_label("residents")].sum() == population["residents"]
    elderly = pyramid[pyramid[t("age_group")].str.match(r"^(6|7|8)\d")][kpi_label("residents")].sum()
    assert elderly / population["residents"] == pytest.approx(population["elderly_share"])


def test_population_suppresses_small_special_care_counts_in_a_community(demo_db, monkeypatch):
    community = one_value(
        demo_db,
        "select region_code from population_by_region where level = 'community' and residents > 0 "
        "and (elderly_alone between 1 and 4 or disabled between 1 and 4) order by region_code limit 1",
    )
    at = open_page(demo_db, monkeypatch, "population", region=community)
    assert not at.exception
    cards = {m.label: m.value for m in at.metric}
    care = Gate(OPERATOR).ask("special_care", demo_db, community)
    for row in care.itertuples():
        value = cards[enum_label(row.tag)]
        assert value == "<5" or int(value.replace(",", "")) >= 5
    assert "<5" in cards.values()
    assert any(t("suppression_note") in c.value for c in at.caption)
    heat = [f for f in figures(at) if f["data"] and f["data"][0]["type"] == "heatmap"][0]["data"][0]
    shown = [cell for row in heat["text"] for cell in row]
    assert all(cell == "<5" or int(cell.replace(",", "")) >= 5 for cell in shown)
    grids = table_with(at, t("sub_region"), enum_label("elderly_alone"))
    values = grids[[enum_label(tag) for tag in TAGS]].to_numpy().ravel()
    assert all(v == "<5" or int(v.replace(",", "")) >= 5 for v in values)


def test_special_care_through_the_gate_never_shows_a_count_below_five_for_small_units(demo_db):
    sample = queries._fetch_df(
        demo_db,
        "select code, level from regions where level in ('township', 'community') order by code limit 40",
    )
    gate = Gate(OPERATOR)
    for row in sample.itertuples():
        children = gate.ask("special_care_by_child", demo_db, row.code)
        own = gate.ask("special_care", demo_db, row.code)
        for frame, small in (
            (children, children["level"].isin(["community", "grid"])),
            (own, pd.Series(row.level == "community", index=own.index)),
        ):
            counts = frame["residents"]
            assert not ((counts < 5) & small).fillna(False).any()
            assert frame.loc[small & counts.isna(), "residents_shown"].isin(["<5", "…"]).all()
        if row.level == "township":
            raw = queries.kpis(demo_db, row.code, "2024-01-01", "2024-12-31")["population"]["special_care"]
            assert dict(zip(own["tag"], own["residents"], strict=True)) == raw


# --------------------------------------------------------------------------------------------- housing


def test_housing_figures_agree_with_kpis_and_the_type_filter_comes_from_the_url(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "housing", region="500153")
    period = queries.default_period(demo_db)
    housing = queries.kpis(demo_db, "500153", period.start, period.end)["housing"]
    mix = table_with(at, t("building_type"), t("usage"))
    assert mix[kpi_label("units")].sum() == housing["units"]
    assert mix.loc[mix[t("usage")] == enum_label("rented"), kpi_label("units")].sum() == housing["rented"]
    children = table_with(at, t("name"), f"{kpi_label('rental_share')} (%)")
    assert children[kpi_label("units")].sum() == housing["units"]

    at = open_page(demo_db, monkeypatch, "housing", region="500153", building_type="commercial")
    assert [s.value for s in at.selectbox if s.label == t("building_type")] == ["commercial"]
    assert set(table_with(at, t("building_type"), t("usage"))[t("building_type")]) == {
        enum_label("commercial")
    }
    assert shown_cards(at, "housing") == expected_cards(demo_db, "housing", "500153", "zh")
    assert any(t("cards_all_types") in c.value for c in at.caption)
    assert at.query_params["building_type"] == "commercial"


# ---------------------------------------------------------------------------------------------- events


def test_event_figures_agree_with_kpis(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "events", region="50")
    period = queries.default_period(demo_db)
    events = queries.kpis(demo_db, "50", period.start, period.end)["events"]
    funnel = table_with(at, t("stage"), f"{t('share')} (%)")
    assert funnel[t("events")].tolist()[0] == events["total"]
    assert funnel[t("events")].tolist()[2] == events["resolved"]
    monthly = table_with(at, t("month"), t("source"))
    assert monthly[t("events")].sum() == events["total"]
    chain = table_with(at, t("resolution_level"), f"{t('cumulative_share')} (%)")
    grassroots = chain[chain[t("resolution_level")].isin(["网格", "村社区", "街镇"])][
        f"{t('share')} (%)"
    ].sum()
    assert grassroots == pytest.approx(events["grassroots_rate"] * 100, abs=0.2)
    satisfaction = table_with(at, t("satisfaction"), f"{t('share_of_rated')} (%)")
    rated = satisfaction.iloc[:2][f"{t('share_of_rated')} (%)"].sum()
    assert rated == pytest.approx(events["satisfaction_rate"] * 100, abs=0.2)
    overdue = [c.value for c in at.caption if c.value.startswith("共")]
    if events["overdue_open"]:
        assert overdue == [t("overdue_total").format(n=events["overdue_open"])]
        assert len(table_with(at, t("event_id"), t("overdue_hours"))) == events["overdue_open"]


def test_event_filters_come_from_the_url_and_narrow_the_charts_not_the_cards(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "events", region="500153", category="dispute", source="hotline")
    assert not at.exception
    chosen = {s.label: s.value for s in at.selectbox}
    assert chosen[t("category")] == "dispute" and chosen[t("source")] == "hotline"
    assert shown_cards(at, "events") == expected_cards(demo_db, "events", "500153", "zh")
    assert any(t("cards_all_events") in c.value for c in at.caption)
    monthly = table_with(at, t("month"), t("source"))
    assert set(monthly[t("category")]) <= {enum_label("dispute")}
    assert set(monthly[t("source")]) <= {enum_label("hotline")}
    assert at.query_params["category"] == "dispute" and at.query_params["source"] == "hotline"


def test_a_grid_without_events_says_so(demo_db, monkeypatch, quiet_grid):
    at = open_page(demo_db, monkeypatch, "events", region=quiet_grid)
    assert not at.exception
    assert {m.label: m.value for m in at.metric}[kpi_label("total")] == "0"
    assert [i.value for i in at.info] == [t("no_events")]
    assert not at.get("plotly_chart")


def test_a_period_without_events_says_so(demo_db, monkeypatch):
    at = open_page(
        demo_db, monkeypatch, "events", region="500153", **{"from": "2010-01-01", "to": "2010-12-31"}
    )
    assert not at.exception
    assert [i.value for i in at.info] == [t("no_events")]
    assert shown_cards(at, "events") == expected_cards(
        demo_db, "events", "500153", "zh", "2010-01-01", "2010-12-31"
    )


def test_a_place_without_housing_or_residents_says_so(demo_db, monkeypatch):
    empty = one_value(
        demo_db,
        "select region_code from housing_by_region where level = 'grid' and units = 0 order by 1 limit 1",
    )
    at = open_page(demo_db, monkeypatch, "housing", region=empty)
    assert not at.exception
    assert [i.value for i in at.info] == [t("no_housing")]
    nobody = one_value(
        demo_db,
        "select region_code from population_by_region where level = 'grid' and residents = 0 "
        "order by 1 limit 1",
    )
    at = open_page(demo_db, monkeypatch, "population", region=nobody)
    assert not at.exception
    # none is fewer than 5 in a grid: hidden like any small count, and so is every breakdown
    assert t("people_hidden") in [i.value for i in at.info]
    assert {m.label: m.value for m in at.metric}[kpi_label("residents")] == "—"
    assert not at.get("plotly_chart")


# ------------------------------------------------------------------------------------------- economy


def test_economy_figures_agree_with_kpis(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "economy", region="500231", year="2023")
    economy = queries.kpis(demo_db, "500231", "2023-01-01", "2023-12-31", year=2023)["collective_economy"]
    villages = table_with(at, t("rank"), t("village"))
    assert len(villages) == economy["villages"]
    assert villages[t("operating_income_yuan")].sum() == pytest.approx(economy["operating_income"], rel=1e-9)
    by_township = table_with(at, t("name"), f"{kpi_label('share_ge_100k')} (%)")
    assert by_township[kpi_label("villages")].sum() == economy["villages"]
    ge_100k = (
        by_township[f"{kpi_label('share_ge_100k')} (%)"] / 100 * by_township[kpi_label("villages")]
    ).sum()
    assert ge_100k / economy["villages"] == pytest.approx(economy["share_ge_100k"], abs=1e-3)


@pytest.mark.parametrize("where", ["grid", "street community"])
def test_a_place_without_collective_accounts_says_so(demo_db, monkeypatch, busy_grid, where):
    code = (
        busy_grid
        if where == "grid"
        else one_value(
            demo_db,
            "select code from regions where level = 'community' and code not in "
            "(select village_code from collective_economy) order by code limit 1",
        )
    )
    at = open_page(demo_db, monkeypatch, "economy", region=code)
    assert not at.exception
    assert any(t("no_economy") in i.value for i in at.info)
    assert not at.get("plotly_chart")


# ------------------------------------------------------------------------------- navigation and access


def test_breadcrumb_climbs_back_up(demo_db, monkeypatch, busy_grid):
    at = open_page(demo_db, monkeypatch, "population", region=busy_grid)
    district = busy_grid[:6]
    at.button(key=f"crumb_{district}").click().run()
    assert not at.exception
    assert at.query_params["region"] == district
    assert shown_cards(at, "population") == expected_cards(demo_db, "population", district, "zh")


def test_unknown_region_is_a_message(demo_db, monkeypatch):
    for page in PAGE_CARDS:
        at = open_page(demo_db, monkeypatch, page, region="500199")
        assert not at.exception
        assert any("500199" in e.value for e in at.error)
        assert not at.metric


DISTRICT_ANALYST = Principal("rongchang", "analyst", "500153", "password")
VIEWER = Principal("wall", "viewer", "500153", "password")


def test_scope_confines_the_pages(demo_db, monkeypatch):
    """A URL edited to a region outside the scope: 无权查看, and no figure of it, on every page."""
    for page in [*PAGE_CARDS, "overview", "report"]:
        at = open_page(demo_db, monkeypatch, page, DISTRICT_ANALYST, region="500103")
        assert not at.exception, at.exception
        assert [e.value for e in at.error] == [t("out_of_scope") + "500103"], page
        assert not at.metric and not at.get("plotly_chart") and not at.get("deck_gl_json_chart")
        assert not at.dataframe
        assert t("unknown_region") not in " ".join(e.value for e in at.error)


def test_the_installation_cap_confines_the_open_demo(demo_db, monkeypatch):
    monkeypatch.setenv("YIPING_SCOPE", "500153")
    for page in PAGE_CARDS:
        at = open_page(demo_db, monkeypatch, page, region="500103")
        assert not at.exception
        assert [e.value for e in at.error] == [t("out_of_scope") + "500103"]
        assert not at.metric


def test_the_gate_refuses_regions_outside_the_scope(demo_db):
    gate = Gate(DISTRICT_ANALYST)
    with pytest.raises(OutOfScope, match="无权查看"):
        gate.ask("special_care_by_child", demo_db, "500103")
    with pytest.raises(OutOfScope, match="无权查看"):
        gate.ask("economy_villages", demo_db, "50", 2024)
    assert not gate.ask("children", demo_db, "500153").empty


def test_a_scoped_principal_starts_at_its_scope_and_cannot_climb_above_it(demo_db, monkeypatch):
    """No select above the scope, the breadcrumb starts at the scope's region, drilling stays below."""
    busy_grid = one_value(
        demo_db,
        "select grid_code from events where grid_code like '500153%' group by 1 order by count(*) desc, 1 limit 1",
    )
    township = Principal("town", "analyst", busy_grid[:9], "password")
    at = open_page(demo_db, monkeypatch, "population", township)
    assert not at.exception, at.exception
    assert at.query_params["region"] == busy_grid[:9]
    assert [s.key for s in at.selectbox][:1] == ["region_community"]
    at = open_page(demo_db, monkeypatch, "population", township, region=busy_grid)
    crumbs = [b.key for b in at.button if str(b.key).startswith("crumb_")]
    assert crumbs == [f"crumb_{busy_grid[:n]}" for n in (9, 12, 15)]


def no_image_download(chart) -> bool:
    """The chart's toolbar has no "download as PNG": no toolbar, or one without that button."""
    config = json.loads(chart.proto.config or "{}")
    return config.get("displayModeBar") is False or "toImage" in config.get("modeBarButtonsToRemove", [])


def test_a_viewer_gets_no_downloads_and_no_report(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "overview", VIEWER, region="500153")
    assert not at.exception, at.exception
    assert at.metric and not at.get("download_button")
    assert all(no_image_download(chart) for chart in at.get("plotly_chart"))
    at = open_page(demo_db, monkeypatch, "population", VIEWER, region="500153")
    assert at.get("plotly_chart") and all(no_image_download(chart) for chart in at.get("plotly_chart"))
    # the menu has no report for a viewer; the page itself refuses if reached all the same
    period = queries.default_period(demo_db)
    at = AppTest.from_file(str(APP.parent / "views" / "report.py"), default_timeout=60)
    at.session_state["filters"] = Filters(
        demo_db, "500153", period.start, period.end, period.end.year, "zh", principal=VIEWER
    )
    at.run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [t("report_needs_analyst")]
    assert not at.button and not at.get("download_button") and not at.get("plotly_chart")


def test_an_analyst_gets_the_downloads(demo_db, monkeypatch):
    at = open_page(demo_db, monkeypatch, "overview", DISTRICT_ANALYST, region="500153")
    assert not at.exception, at.exception
    assert len(at.get("download_button")) == 10  # trend and ranking: 2 PNG, SVG, CSV, Excel each
    at = open_page(demo_db, monkeypatch, "population", DISTRICT_ANALYST, region="500153")
    assert not any(no_image_download(chart) for chart in at.get("plotly_chart"))


def test_a_page_opened_by_link_runs_inside_the_frame(demo_db, monkeypatch):
    """A page opened by its link runs through app.py: the frame and the shared filters are there."""
    at = open_page(demo_db, monkeypatch, "events", region="500153")
    assert not at.exception
    assert shown_cards(at, "events") == expected_cards(demo_db, "events", "500153", "zh")
    assert [s.key for s in at.selectbox][:2] == ["region_district", "region_township"]


# ------------------------------------------------------------------------------------ click to drill


class Event(dict):
    """A selection event as Streamlit returns it: keys readable as attributes."""

    __getattr__ = dict.__getitem__


def test_a_click_drills_only_below_the_current_region():
    assert picked_region(["500153001"], "500153") == "500153001"
    assert picked_region([["500153001", 3]], "500153") == "500153001"
    assert picked_region(["500153", None, float("nan")], "500153") is None  # itself: nothing to do
    assert picked_region(["500101001"], "500153") is None  # elsewhere: ignored
    assert picked_region([], "50") is None


def test_selection_events_give_their_codes():
    plotly = Event(selection=Event(points=[{"customdata": "500153001", "x": 1}, {"x": 2}]))
    assert plotly_codes(plotly) == ["500153001", None]
    deck = Event(
        selection=Event(indices={"cells": [0]}, objects={"cells": [{"code": "500153002"}], "labels": []})
    )
    assert deck_codes(deck) == ["500153002"]
    assert plotly_codes(None) == [] and deck_codes(Event(selection=Event(objects={}))) == []


def test_a_download_is_in_the_audit_log_when_its_file_is_made():
    made = downloads.audited(lambda: b"rows", DISTRICT_ANALYST, "overview:500153:trend:csv")
    assert not auth.store().audit_rows(action="download")  # drawing the button records nothing
    assert made() == b"rows"
    rows = auth.store().audit_rows(action="download")
    assert [(row["account"], row["target"]) for row in rows] == [("rongchang", "overview:500153:trend:csv")]

"""Chart and map builders of the analyst pages, on small hand-made frames."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from dashboard import charts, maps, queries


def annotation_texts(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def is_empty_message(fig, message: str) -> bool:
    return not fig.data and message in annotation_texts(fig)


# ------------------------------------------------------------------------------------ population


def test_age_pyramid_puts_men_left_and_women_right_in_band_order():
    pyramid = pd.DataFrame(
        {
            "age_group": ["0-4", "0-4", "85+", "5-9"],
            "age_start": [0, 0, 85, 5],
            "gender": ["M", "F", "F", "M"],
            "residents": [3, 4, 2, 7],
        }
    )
    fig = charts.age_pyramid_chart(pyramid, "zh")
    men, women = fig.data
    assert (men.name, women.name) == ("男", "女")
    assert list(men.y) == ["0-4", "5-9", "85+"]
    assert list(men.x) == [-3, -7, 0]
    assert list(women.x) == [4, 0, 2]
    # the axis reads as counts on both sides
    assert all(not text.startswith("-") for text in fig.layout.xaxis.ticktext)


def test_age_pyramid_of_nobody_says_so():
    empty = pd.DataFrame(columns=["age_group", "age_start", "gender", "residents"])
    assert is_empty_message(charts.age_pyramid_chart(empty, "en"), "No residents recorded in this region.")


def test_rate_dots_carry_region_codes_and_percentages():
    by_child = pd.DataFrame(
        {
            "code": ["500153001", "500153002"],
            "name": ["昌元街道", "昌州街道"],
            "elderly_share": [0.2, 0.25],
            "floating_share": [0.1, None],
        }
    )
    fig = charts.rate_dots(by_child, ["elderly_share", "floating_share"], "zh")
    assert [trace.name for trace in fig.data] == ["老年人口占比", "流动人口占比"]
    assert list(fig.data[0].customdata) == ["500153001", "500153002"]
    assert list(fig.data[0].x) == pytest.approx([20.0, 25.0])
    assert math.isnan(fig.data[1].x[1])
    low, high = fig.layout.xaxis.range
    assert low <= 10 and high >= 25


def test_rate_dots_of_categories_use_enum_labels_and_no_codes():
    by_category = pd.DataFrame({"category": ["dispute"], "resolution_rate": [0.9]})
    fig = charts.rate_dots(
        by_category, ["resolution_rate"], "en", label_column="category", code_column=None, enum=True
    )
    assert list(fig.data[0].y) == ["Dispute"]
    assert fig.data[0].customdata is None


def test_rate_dots_without_any_rate_show_the_message():
    frame = pd.DataFrame({"code": ["1"], "name": ["x"], "rental_share": [None]})
    assert is_empty_message(charts.rate_dots(frame, ["rental_share"], "zh", empty_message="空"), "空")


# -------------------------------------------------------------------------------- special care


@pytest.fixture
def care_by_child() -> pd.DataFrame:
    """Two grids, one group above and one below the threshold, suppressed the way the query layer does."""
    raw = pd.DataFrame(
        {
            "code": ["500153001001001", "500153001001001", "500153001001002", "500153001001002"],
            "name": ["第1网格", "第1网格", "第2网格", "第2网格"],
            "level": ["grid"] * 4,
            "tag": ["elderly_alone", "disabled", "elderly_alone", "disabled"],
            "residents": [3, 12, 0, 5],
        }
    )
    return queries._suppressed(raw, ["residents"], raw["level"].isin(queries.SMALL_UNIT_LEVELS))


def test_special_care_heatmap_of_only_suppressed_counts_still_shows_them(care_by_child):
    hidden = care_by_child.assign(residents=pd.NA, residents_shown="<5")
    heat = charts.special_care_heatmap(hidden, "zh").data[0]
    assert np.asarray(heat.text).tolist() == [["<5", "<5"], ["<5", "<5"]]
    assert heat.zmin == 0 and heat.zmax == 1


def test_suppression_hides_counts_below_five_in_small_units(care_by_child):
    assert list(care_by_child["residents_shown"]) == ["<5", "12", "<5", "5"]
    assert care_by_child["residents"].isna().tolist() == [True, False, True, False]


def test_suppression_keeps_counts_of_a_township():
    raw = pd.DataFrame({"code": ["500153001"], "level": ["township"], "residents": [2]})
    shown = queries._suppressed(raw, ["residents"], raw["level"].isin(queries.SMALL_UNIT_LEVELS))
    assert shown["residents"].tolist() == [2]
    assert shown["residents_shown"].tolist() == ["2"]


def test_special_care_heatmap_shows_the_suppressed_text_and_no_hidden_value(care_by_child):
    fig = charts.special_care_heatmap(care_by_child, "zh")
    heat = fig.data[0]
    assert list(heat.x) == ["独居老人", "残疾人"]
    assert list(heat.y) == ["第1网格", "第2网格"]
    assert np.asarray(heat.text).tolist() == [["<5", "12"], ["<5", "5"]]
    # a suppressed cell is coloured as zero: the figure holds no count below five
    values = np.asarray(heat.z, dtype=float)
    assert values.tolist() == [[0.0, 12.0], [0.0, 5.0]]


# ------------------------------------------------------------------------------------- housing


def test_stacked_bars_stack_by_the_enumeration_with_labels():
    mix = pd.DataFrame(
        {
            "building_type": ["commercial", "commercial", "self_built"],
            "usage": ["rented", "vacant", "rented"],
            "units": [5, 2, 4],
        }
    )
    fig = charts.stacked_bars(mix, "building_type", "usage", "units", "zh", enum_x=True)
    assert fig.layout.barmode == "stack"
    by_name = {trace.name: (list(trace.x), list(trace.y)) for trace in fig.data}
    assert by_name == {"出租": (["商品房", "自建房"], [5, 4]), "空置": (["商品房", "自建房"], [2, 0])}


def test_stacked_bars_label_a_missing_stack_value():
    age = pd.DataFrame(
        {"built_decade": ["1990年代", "未注明"], "building_type": ["other", None], "units": [1, 2]}
    )
    fig = charts.stacked_bars(age, "built_decade", "building_type", "units", "zh")
    assert sorted(trace.name for trace in fig.data) == sorted(["其他", "未注明"])


def test_stacked_bars_of_nothing_say_so():
    empty = pd.DataFrame({"month": [], "category": [], "events": []})
    assert is_empty_message(
        charts.stacked_bars(empty, "month", "category", "events", "zh"), "此时段内没有事件。"
    )


# -------------------------------------------------------------------------------------- events


def test_funnel_counts_each_stage():
    funnel = pd.DataFrame({"stage": ["reported", "accepted", "resolved"], "events": [10, 9, 7]})
    fig = charts.funnel_chart(funnel, "zh")
    assert list(fig.data[0].y) == ["上报", "受理", "办结"]
    assert list(fig.data[0].x) == [10, 9, 7]
    assert is_empty_message(charts.funnel_chart(funnel.assign(events=0), "zh"), "此时段内没有事件。")


def test_hours_chart_orders_by_median_and_marks_the_90th_percentile():
    by_category = pd.DataFrame(
        {
            "category": ["sanitation", "dispute", "traffic"],
            "median_hours": [4.0, 12.0, None],
            "p90_hours": [9.0, 40.0, None],
        }
    )
    fig = charts.hours_chart(by_category, "zh")
    median, p90 = fig.data
    assert list(median.y) == ["矛盾纠纷", "环境卫生"]
    assert list(median.x) == [12.0, 4.0]
    assert list(p90.x) == [40.0, 9.0]


def test_chain_chart_names_the_two_slogans_with_their_shares():
    chain = pd.DataFrame(
        {
            "level": ["grid", "community", "township", "district", "open"],
            "events": [5, 3, 1, 1, 0],
        }
    )
    chain["share"] = chain["events"] / 10
    chain["cumulative_share"] = [0.5, 0.8, 0.9, 1.0, None]
    fig = charts.chain_chart(chain, "zh")
    assert list(fig.data[0].x) == ["网格", "村社区", "街镇", "区县", "未办结"]
    texts = annotation_texts(fig)
    assert "小事不出社区 80.0%" in texts
    assert "大事不出街镇 90.0%" in texts
    assert is_empty_message(charts.chain_chart(chain.assign(events=0), "zh"), "此时段内没有此类事件。")


WALL_COLOURS = (charts.INK, charts.MUTED, charts.GRID, charts.LABEL_BOX, charts.WALL_BACKGROUND)


def wall_colours_in(fig) -> set[str]:
    """The wall's own colours anywhere in the figure (traces, labels, lines, boxes)."""
    text = json.dumps(fig.to_plotly_json(), default=str).lower()
    return {colour for colour in WALL_COLOURS if colour.lower().replace(" ", "") in text.replace(" ", "")}


def a_chain() -> pd.DataFrame:
    chain = pd.DataFrame(
        {"level": ["grid", "community", "township", "district", "open"], "events": [5, 3, 1, 1, 1]}
    )
    chain["share"] = chain["events"] / 11
    chain["cumulative_share"] = [5 / 11, 8 / 11, 9 / 11, 10 / 11, None]
    return chain


def test_a_print_chart_has_paper_colours_on_its_own_labels_and_lines():
    """The dispute-level chart for print: light label boxes with dark text, the cumulative line in dark ink."""
    wall, paper = charts.chain_chart(a_chain(), "zh"), charts.chain_chart(a_chain(), "zh", light=True)
    assert charts.INK in wall_colours_in(wall)  # the wall keeps its look
    assert not wall_colours_in(paper)
    line = next(trace for trace in paper.data if trace.type == "scatter")
    assert line.line.color == charts.PAPER_INK
    for annotation in paper.layout.annotations:
        assert annotation.font.color == charts.PAPER_INK
        assert annotation.bgcolor == charts.PAPER_LABEL_BOX
        assert annotation.arrowcolor == charts.PAPER_MUTED
    villages = pd.DataFrame({"operating_income": [30_000, 60_000, 120_000, 2_000_000]})
    assert not wall_colours_in(charts.income_histogram(charts.income_bins(villages), "zh", light=True))


def test_share_donut_leaves_out_empty_parts():
    mix = pd.DataFrame(
        {"satisfaction": ["satisfied", "basically_satisfied", "dissatisfied"], "events": [8, 0, 2]}
    )
    fig = charts.share_donut(mix, "satisfaction", "events", "en")
    assert list(fig.data[0].labels) == ["Satisfied", "Dissatisfied"]
    assert "10" in annotation_texts(fig)


# ---------------------------------------------------------------------------- collective economy


def test_income_bins_have_the_5wan_and_10wan_lines_as_edges():
    edges = charts._income_edges(0.92, 3026.8)
    assert edges[0] <= 0.92 and edges[-1] > 3026.8
    assert 5.0 in edges and 10.0 in edges
    assert np.all(np.diff(edges) > 0)


def test_income_histogram_counts_every_village_and_colours_by_the_lines():
    villages = pd.DataFrame({"operating_income": [30_000, 49_999, 50_000, 99_999, 100_000, 2_000_000, 0]})
    bins = charts.income_bins(villages)
    assert bins["villages"].sum() == len(villages)
    counts = dict(zip(bins["from_wan"], bins["villages"], strict=True))
    assert (counts[4.0], counts[5.0], counts[8.0], counts[10.0]) == (
        1,
        1,
        1,
        1,
    )  # 49 999 | 50 000 | 99 999 | 100 000
    fig = charts.income_histogram(bins, "zh")
    bars = fig.data[0]
    assert sum(bars.y) == len(villages)
    colors = dict(zip(np.round(bars.x, 3), bars.marker.color, strict=True))
    below = [c for x, c in colors.items() if x < 5]
    between = [c for x, c in colors.items() if 5 < x < 10]
    above = [c for x, c in colors.items() if x > 10]
    assert set(below) == {charts.BAD} and set(between) == {charts.WARN} and set(above) == {charts.ACCENT}
    assert {shape.x0 for shape in fig.layout.shapes} == {5.0, 10.0}
    assert {"5万", "10万"} <= set(annotation_texts(fig))


def test_income_histogram_leaves_room_above_its_tallest_bar():
    villages = pd.DataFrame({"operating_income": [150_000] * 45 + [60_000] * 12 + [20_000] * 3})
    fig = charts.income_histogram(charts.income_bins(villages), "zh")
    low, high = fig.layout.yaxis.range
    assert low == 0 and high >= 1.05 * max(fig.data[0].y)


def test_income_growth_and_ranking_carry_codes():
    by_child = pd.DataFrame(
        {
            "code": ["500231001"],
            "name": ["桂溪街道"],
            "operating_income": [120_000.0],
            "previous_operating_income": [100_000.0],
        }
    )
    fig = charts.income_growth_chart(by_child, "zh")
    assert [trace.name for trace in fig.data] == ["上年", "本年"]
    assert list(fig.data[1].customdata) == ["500231001"]
    assert list(fig.data[1].text) == ["+20.0%"]
    villages = pd.DataFrame(
        {
            "rank": [2, 1],
            "code": ["500231001002", "500231001001"],
            "name": ["乙村", "甲村"],
            "township_name": ["桂溪街道"] * 2,
            "operating_income": [60_000.0, 150_000.0],
        }
    )
    ranked = charts.village_ranking_chart(villages, "zh", top=1)
    assert list(ranked.data[0].y) == ["1. 甲村（桂溪街道）"]
    assert list(ranked.data[0].customdata) == ["500231001001"]


def test_value_bars_put_the_largest_first():
    frame = pd.DataFrame({"code": ["a", "b"], "name": ["甲", "乙"], "dividends_per_shareholder": [3.0, 9.0]})
    fig = charts.value_bars(frame, "dividends_per_shareholder", "zh", money=True)
    assert list(fig.data[0].y) == ["乙", "甲"]
    assert list(fig.data[0].text) == ["9元", "3元"]


# ------------------------------------------------------------------------------------- tables


def test_data_table_labels_columns_and_values_and_neutralises_formulas():
    frame = pd.DataFrame(
        {
            "name": ["=1+1 村", "<b>x</b>"],
            "category": ["dispute", None],
            "resolution_rate": [0.5, None],
            "residents": [3, 4],
            "density": [1.234, 2.0],
        }
    )
    table = charts.data_table(
        frame,
        {
            "name": "text",
            "category": "enum",
            "resolution_rate": "rate",
            "residents": "count",
            "density": ("number", "密度"),
        },
        "zh",
    )
    assert list(table.columns) == ["名称", "类别", "办结率 (%)", "实有人口", "密度"]
    assert table["名称"].tolist() == ["'=1+1 村", "<b>x</b>"]
    assert table["类别"].tolist() == ["矛盾纠纷", "未注明"]
    assert table["办结率 (%)"].iloc[0] == 50.0 and pd.isna(table["办结率 (%)"].iloc[1])
    assert table["密度"].tolist() == [1.2, 2.0]


def test_data_table_in_english():
    frame = pd.DataFrame({"level": ["grid", "open"], "events": [1, 2]})
    table = charts.data_table(frame, {"level": ("level", "Resolved at"), "events": ("count", "Events")}, "en")
    assert table.to_dict("list") == {"Resolved at": ["Grid", "Open"], "Events": [1, 2]}


def test_map_tips_are_plain_text_lines():
    # the map shows a tooltip's text as written (not as HTML), so a name's tags stay visible text
    cells = pd.DataFrame(
        {"name": ["<script>alert(1)</script>村"], "rental_share": [0.153], "units": [12_000]}
    )
    tips = charts.map_tips(cells, [("出租率", "rental_share", "rate"), ("房屋总数", "units", "count")], "zh")
    assert tips.iloc[0] == "<script>alert(1)</script>村\n出租率: 15.3%\n房屋总数: 1.2万"


# ---------------------------------------------------------------------------------------- maps


def test_region_map_passes_codes_and_tips_to_pickable_layers():
    cells = pd.DataFrame(
        {
            "cell": ["8940d1aa1b7ffff", "8940d1aa1a7ffff"],
            "events": [3, 0],
            "residents": [10, 5],
            "overdue": [0, 0],
            "rental_percent": [12.5, None],
            "code": ["500153001", "500153002"],
            "tip": ["<b>甲</b>", "<b>乙</b>"],
        }
    )
    labels = pd.DataFrame(
        {
            "code": ["500153001"],
            "name": ["昌元街道"],
            "lon": [105.59],
            "lat": [29.40],
            "lon_min": [105.5],
            "lon_max": [105.7],
            "lat_min": [29.3],
            "lat_max": [29.5],
            "tip": ["<b>昌元街道</b>"],
        }
    )
    deck = maps.region_map(cells, "rental_percent", labels, tooltip_html="{tip}")
    layers = {layer.id: layer for layer in deck.layers}
    assert set(layers) == {"cells", "labels"}
    cell_rows, label_rows = layers["cells"].data, layers["labels"].data
    assert {"code", "tip", "value"} <= set(cell_rows[0])
    assert [row["code"] for row in cell_rows] == ["500153001", "500153002"]
    assert [row["tip"] for row in label_rows] == ["<b>昌元街道</b>"]
    assert all(layer.pickable for layer in deck.layers)
    assert json.loads(deck.to_json())["mapStyle"] == maps.LOCAL_STYLE


# ----------------------------------------------------------------------- colours, months and ticks


def _colours(fig) -> dict[str, str]:
    return {trace.name: trace.marker.color for trace in fig.data}


def test_a_category_keeps_its_colour_at_every_level(demo_db):
    """The district's and a township's monthly bars: 矛盾纠纷 is one colour in both, whatever leads."""
    district = queries.events_monthly(demo_db, "500153", "2024-01-01", "2024-12-31")
    township = str(queries.children(demo_db, "500153")["code"].iloc[-1])
    levels = [district, queries.events_monthly(demo_db, township, "2024-01-01", "2024-12-31")]
    # two views that rank the categories in opposite orders
    ranked = pd.DataFrame({"month": ["2024-01"] * 3, "category": ["dispute", "traffic", "other"]})
    levels += [ranked.assign(events=[9, 5, 1]), ranked.assign(events=[1, 5, 9])]
    seen: dict[str, set[str]] = {}
    for frame in levels:
        for name, colour in _colours(charts.stacked_bars(frame, "month", "category", "events", "zh")).items():
            seen.setdefault(name, set()).add(colour)
    assert all(len(colours) == 1 for colours in seen.values()), seen
    assert seen["矛盾纠纷"] == {charts.CATEGORY_COLORS["dispute"]}
    assert len(set(charts.CATEGORY_COLORS.values())) == len(charts.CATEGORY_COLORS)
    # the same colours in a ring of the parts
    donut = charts.share_donut(ranked.assign(events=[1, 5, 9]), "category", "events", "zh")
    assert list(donut.data[0].marker.colors) == [charts.CATEGORY_COLORS[c] for c in ranked["category"]]


def test_monthly_bars_show_every_month_of_the_period_with_whole_number_ticks():
    # eleven months with events, one (2024-06) without: twelve columns, June at 0
    months = [f"2024-{m:02d}" for m in range(1, 13) if m != 6]
    frame = pd.DataFrame(
        {"month": months, "category": "dispute", "events": [1, 2, 1, 1, 2, 1, 1, 2, 1, 1, 1]}
    )
    fig = charts.stacked_bars(
        frame, "month", "category", "events", "zh", x_values=charts.months_between("2024-01-01", "2024-12-31")
    )
    [bars] = fig.data
    assert list(bars.x) == [f"2024-{m:02d}" for m in range(1, 13)]
    assert list(bars.y)[5] == 0
    assert fig.layout.yaxis.dtick >= 1 and float(fig.layout.yaxis.dtick).is_integer()
    assert fig.layout.yaxis.tickformat == ",d"


@pytest.mark.parametrize("top", [1, 2, 3, 7, 12, 40, 99, 1000, 123_456])
def test_count_axes_tick_whole_numbers(top):
    trend = pd.DataFrame(
        {
            "month": pd.to_datetime(["2024-01-01", "2024-02-01"]),
            "total": [top, 0],
            "resolved": [0, 0],
            "resolution_rate": [0.0, None],
        }
    )
    axis = charts.trend_chart(trend, "zh").layout.yaxis
    assert axis.tick0 == 0 and axis.dtick >= 1 and float(axis.dtick).is_integer()
    assert 2 <= top // axis.dtick + 1 <= 7


def test_months_between_covers_partial_months():
    assert charts.months_between("2023-12-15", "2024-02-01") == ["2023-12", "2024-01", "2024-02"]

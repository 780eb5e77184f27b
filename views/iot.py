"""物联感知: IoT devices and their alarms: where the devices are and whether they are online, when alarms
come and of what, how fast they are handled, which are false and which devices cry wolf, what still waits,
and how many alarms became events."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, maps, panels
from dashboard.data import ask
from dashboard.labels import kpi_label, t
from dashboard.queries import DAILY_UP_TO_DAYS
from dashboard.report import has_iot
from pipelines.contract import DEVICES

CARDS = (
    ("iot", "devices", "count", 0),
    ("iot", "online_share", "rate", 1),
    ("iot", "alarms", "count", 0),
    ("iot", "handled_rate", "rate", 1),
    ("iot", "median_minutes_to_handle", "minutes", -1),
    ("iot", "false_alarm_share", "rate", -1),
    ("iot", "open_alarms", "count", -1),
    ("iot", "escalated", "count", 0),
)
CHART_HEIGHT = 380
MAP_HEIGHT = 520
COLOR_BY = ("device_type", "status")

filters, code, region = panels.page_start("iot_page")
lang, db, principal = filters.lang, filters.db, filters.principal
device_type = panels.enum_choice("device_type", "device_type", DEVICES.column("device_type").enum, lang)
chosen = (code, filters.start, filters.end, device_type)
current, _ = panels.kpi_row(filters, code, CARDS)
if not has_iot(current):
    # a region without sensors: one message, not a page of empty charts
    st.info(t("no_devices", lang))
    st.stop()
if device_type:
    st.caption(t("iot_cards_all_types", lang))

# ------------------------------------------------------------------------------ devices
map_column, mix_column = st.columns([1.25, 1], gap="medium")
with map_column:
    st.subheader(t("device_map", lang))
    color_by = (
        st.segmented_control(
            t("color_by", lang),
            COLOR_BY,
            format_func=lambda c: t("device_type" if c == "device_type" else "device_status", lang),
            default="device_type",
            key="iot_map_color",
            label_visibility="collapsed",
        )
        or "device_type"
    )
    devices = ask(principal, "device_points", db, code)
    if device_type:
        devices = devices[devices["device_type"] == device_type]
    devices = devices.assign(tip=panels.device_tips(devices, lang))
    labels = ask(principal, "child_positions", db, code)
    labels = labels.assign(tip=charts.map_tips(labels, [], lang))
    outlines = ask(principal, "boundaries", db, list(labels["code"]) if not labels.empty else [])
    deck = maps.device_map(devices, color_by, labels, outlines, height=MAP_HEIGHT, width=760)
    panels.legend(
        maps.DEVICE_COLORS if color_by == "device_type" else maps.STATUS_COLORS, set(devices[color_by]), lang
    )
    mix = ask(principal, "device_mix", db, code)
    by_child = ask(principal, "iot_by_child", db, code, filters.start, filters.end)
    panels.region_map(
        deck,
        charts.data_table(
            by_child,
            {
                "name": ("text", t("sub_region", lang)),
                "devices": "count",
                "online": "count",
                "online_share": "rate",
                "alarms": "count",
                "open_alarms": "count",
            },
            lang,
        ),
        "iot_map",
        lang,
        code,
        MAP_HEIGHT,
    )
with mix_column:
    st.subheader(t("devices_by_type", lang))
    panels.chart(
        charts.stacked_bars(
            mix,
            "device_type",
            "status",
            "devices",
            lang,
            enum_x=True,
            height=MAP_HEIGHT + 40,
            y_title=kpi_label("devices", lang),
            empty_message=t("no_devices", lang),
        ),
        charts.data_table(
            mix,
            {"device_type": "enum", "status": ("enum", t("device_status", lang)), "devices": "count"},
            lang,
        ),
        "iot_devices",
        lang,
        title=t("devices_by_type", lang),
    )

# ------------------------------------------------------------------------------- alarms over time
if not current["iot"]["alarms"]:
    st.info(t("no_alarms", lang))
    st.stop()
time_column, hour_column = st.columns([1.4, 1], gap="medium")
with time_column:
    st.subheader(t("alarms_over_time", lang))
    over_time = ask(principal, "alarms_over_time", db, *chosen)
    daily = (filters.end - filters.start).days + 1 <= DAILY_UP_TO_DAYS
    shown = over_time.assign(
        day=over_time["day"].astype(str).str[: 10 if daily else 7],
    )
    panels.chart(
        charts.stacked_bars(
            shown,
            "day",
            "device_type",
            "alarms",
            lang,
            height=CHART_HEIGHT,
            y_title=kpi_label("alarms", lang),
            x_values=None if daily else charts.months_between(filters.start, filters.end),
            empty_message=t("no_alarms", lang),
        ),
        charts.data_table(
            shown,
            {"day": ("text", t("day" if daily else "month", lang)), "device_type": "enum", "alarms": "count"},
            lang,
        ),
        "iot_over_time",
        lang,
        title=t("alarms_over_time", lang),
    )
with hour_column:
    st.subheader(t("alarms_by_hour", lang))
    by_hour = ask(principal, "alarms_by_hour", db, *chosen)
    panels.chart(
        charts.stacked_bars(
            by_hour,
            "hour",
            "device_type",
            "alarms",
            lang,
            height=CHART_HEIGHT,
            y_title=kpi_label("alarms", lang),
            x_values=list(range(24)),
            empty_message=t("no_alarms", lang),
        ),
        charts.data_table(by_hour, {"hour": "count", "device_type": "enum", "alarms": "count"}, lang),
        "iot_by_hour",
        lang,
        title=t("alarms_by_hour", lang),
    )

# ----------------------------------------------------------------------- handling, false alarms, events
by_type = ask(principal, "alarms_by_type", db, code, filters.start, filters.end)
if device_type:
    by_type = by_type[by_type["device_type"] == device_type]
type_columns = {
    "device_type": "enum",
    "alarms": "count",
    "handled": "count",
    "handled_rate": "rate",
    "median_minutes": ("number", t("median_minutes", lang)),
    "p90_minutes": ("number", t("p90_minutes", lang)),
    "verified": "count",
    "false_alarms": "count",
    "false_alarm_share": "rate",
    "escalated": "count",
    "escalated_share": "rate",
}
minutes_column, shares_column = st.columns(2, gap="medium")
with minutes_column:
    st.subheader(t("minutes_by_type", lang))
    panels.chart(
        charts.minutes_chart(by_type, lang, height=CHART_HEIGHT),
        charts.data_table(by_type, type_columns, lang),
        "iot_minutes",
        lang,
        title=t("minutes_by_type", lang),
    )
with shares_column:
    st.subheader(t("false_alarms_by_type", lang))
    panels.chart(
        charts.rate_dots(
            by_type,
            ["handled_rate", "false_alarm_share", "escalated_share"],
            lang,
            label_column="device_type",
            code_column=None,
            enum=True,
            height=CHART_HEIGHT,
            empty_message=t("no_alarms", lang),
        ),
        charts.data_table(by_type, type_columns, lang),
        "iot_shares",
        lang,
        title=t("false_alarms_by_type", lang),
    )

# ---------------------------------------------------------------------- sub-regions and noisy devices
child_column, noisy_column = st.columns([1, 1.1], gap="medium")
with child_column:
    st.subheader(t("iot_by_child", lang))
    if by_child.empty:
        st.info(t("no_children_here", lang))
    else:
        st.caption(t("click_to_drill", lang))
        panels.chart(
            charts.rate_dots(by_child, ["handled_rate", "false_alarm_share", "escalated_share"], lang),
            charts.data_table(
                by_child,
                {
                    "name": "text",
                    "devices": "count",
                    "online_share": "rate",
                    "alarms": "count",
                    "handled_rate": "rate",
                    "open_alarms": "count",
                    "false_alarm_share": "rate",
                    "escalated": "count",
                    "escalated_share": "rate",
                },
                lang,
            ),
            "iot_by_child",
            lang,
            title=t("iot_by_child", lang),
            drill_from=code,
        )
with noisy_column:
    st.subheader(t("noisy_devices", lang))
    noisy = ask(principal, "noisy_devices", db, *chosen)
    if noisy.empty:
        st.info(t("no_false_alarms", lang))
    else:
        st.dataframe(
            charts.data_table(
                noisy,
                {
                    "device_id": "text",
                    "device_type": "enum",
                    "place": "text",
                    "alarms": "count",
                    "verified": "count",
                    "false_alarms": "count",
                    "false_alarm_share": "rate",
                },
                lang,
            ),
            hide_index=True,
            width="stretch",
            key="iot_noisy",
        )

# ------------------------------------------------------------------------------------ open alarms
st.subheader(t("open_alarm_list", lang))
waiting = ask(principal, "open_alarms", db, *chosen)
if waiting.empty:
    st.info(t("no_open_alarms", lang))
else:
    st.caption(t("open_alarms_total", lang).format(n=f"{int(waiting['total'].iloc[0]):,}"))
    st.dataframe(
        charts.data_table(
            waiting.assign(age=[panels.alarm_age(m, lang) for m in waiting["age_minutes"]]),
            {
                "alarm_id": "text",
                "device_id": "text",
                "device_type": "enum",
                "place": "text",
                "raised_at": "time",
                "age": "text",
                "event_id": "text",
            },
            lang,
        ),
        hide_index=True,
        width="stretch",
        key="iot_open_alarms",
    )

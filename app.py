"""Yiping 一屏: the router and frame. Page config, theme, shared filters, navigation."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, frame
from dashboard.filters import url_flags
from dashboard.labels import t

lang, kiosk, rotate = url_flags()
st.set_page_config(
    page_title=t("app_title", lang),
    page_icon="🏙️",
    layout="wide",
    initial_sidebar_state="collapsed" if kiosk else "expanded",
)
frame.style(kiosk)

pages = [
    st.Page(
        "views/overview.py",
        title=t("overview", lang),
        icon=":material/dashboard:",
        url_path="overview",
        default=True,
    ),
    st.Page(
        "views/population.py",
        title=t("population_page", lang),
        icon=":material/groups:",
        url_path="population",
    ),
    st.Page(
        "views/housing.py", title=t("housing_page", lang), icon=":material/home_work:", url_path="housing"
    ),
    st.Page("views/events.py", title=t("events_page", lang), icon=":material/report:", url_path="events"),
    st.Page(
        "views/economy.py", title=t("economy_page", lang), icon=":material/agriculture:", url_path="economy"
    ),
    st.Page(
        "views/report.py", title=t("report_page", lang), icon=":material/description:", url_path="report"
    ),
]
navigation = st.navigation(pages, position="hidden" if kiosk else "sidebar")

db = frame.ensure_database(lang)
st.session_state["principal"] = auth.principal()
if db is not None:
    st.session_state["filters"] = frame.filters_or_stop(db)
    frame.watch_publication(db)
    navigation.run()

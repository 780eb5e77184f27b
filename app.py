"""Yiping 一屏: the router and frame. Sign-in, page config, theme, shared filters, navigation.

`streamlit run app.py` finds the ASGI app below (`st.App`) and serves this file as the page script
through it, with the sign-in routes of dashboard/server.py beside Streamlit's own.
"""

from __future__ import annotations

import streamlit as st

if __name__ != "__main__":
    # Imported by the ASGI server: the app with its sign-in routes. Runs once per process.
    from dashboard import server

    app = st.App(
        "app.py",
        routes=server.routes(),
        middleware=server.middleware(),
        on_script_error=server.on_script_error,
    )
else:
    from dashboard import auth, frame, params
    from dashboard.filters import language, url_flags
    from dashboard.labels import t
    from pipelines.contract import CITY_CODE

    # One language for the whole run, decided before anything is drawn: the page list, the tab title and
    # every label of a run that follows a switch of language are all in the new one.
    lang = language()
    _, kiosk, _ = url_flags()
    st.set_page_config(
        page_title=t("app_title", lang),
        page_icon="🏙️",
        layout="wide",
        initial_sidebar_state="collapsed" if kiosk else "expanded",
    )
    frame.style(kiosk)
    # The page's timers (below) draw in this container, hidden (frame.BASE_CSS) and made first in every run,
    # the sign-in screen's included. A timer's tick that was queued before a run that no longer calls it (the
    # session ended as the page ran) still draws where its last run put it: it finds this container there in
    # every run, never the sign-in form or an element of a page, which it would replace.
    timers = st.container(key="yp-timers")

    who = auth.principal()
    if who is None and auth.sso_without_account():
        auth.no_account_screen(lang)
        st.stop()
    if who is None and auth.sign_in_required():
        auth.sign_in_screen(lang)
        st.stop()

    db = frame.ensure_database(lang)
    if db is None:
        st.stop()
    frame.pin_publication(db)
    if who is None:
        # No account exists yet: demo data stays open, marked so; real data waits for the first admin.
        if not auth.is_demo(db):
            auth.first_admin_screen(lang)
            st.stop()
        who = auth.open_principal()
        auth.open_banner(lang)
    st.session_state["principal"] = who
    # The page's own timers come before anything that can stop a run (a database that cannot be read
    # stops it after them): a wall showing an error still looks again, and recovers with the next publish.
    with timers:
        if who.via != "open":
            auth.watch_session(frame.REFRESH_SECONDS)
        frame.watch_publication(db)

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
            "views/economy.py",
            title=t("economy_page", lang),
            icon=":material/agriculture:",
            url_path="economy",
        ),
        st.Page("views/iot.py", title=t("iot_page", lang), icon=":material/sensors:", url_path="iot"),
    ]
    # (page, title key, icon, role it needs, city scope only): loads and the audit log concern the
    # whole city, so only stewards and admins whose scope is the city get them.
    restricted = (
        ("report", "report_page", ":material/description:", "analyst", False),
        ("load", "load_page", ":material/upload_file:", "steward", True),
        ("audit", "audit_page", ":material/policy:", "admin", True),
    )
    for name, title, icon, role, city_only in restricted:
        if who.can(role) and (not city_only or who.scope == CITY_CODE):
            pages.append(st.Page(f"views/{name}.py", title=t(title, lang), icon=icon, url_path=name))
    navigation = st.navigation(pages, position="hidden" if kiosk else "sidebar")
    st.set_page_config(page_title=f"{navigation.title} · {t('app_name', lang)}")

    filters = frame.filters_or_stop(db)
    st.session_state["filters"] = filters
    if navigation.url_path in ("", "overview"):
        with timers:
            frame.rotation(filters)  # the overview's, on a wall that steps through the region's children
    params.show_problems(filters.lang)  # what the URL asked that was refused or changed, as text
    if who.via != "open" and not kiosk:
        with st.sidebar:
            auth.account_box(who, auth.scope_name(db, who), lang)
    auth.record_page_view(navigation.url_path or "overview", filters.region)
    navigation.run()

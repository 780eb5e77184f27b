"""审计日志: who signed in, looked, downloaded and changed what; for administrators only."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import auth
from dashboard.access import Principal
from dashboard.labels import t
from pipelines.contract import CITY_CODE
from pipelines.safety import neutralize_formula

COLUMNS = ("time", "account", "address", "action", "target", "outcome")

who: Principal = st.session_state["principal"]
lang = st.session_state["filters"].lang
st.subheader(t("audit_page", lang))
if not who.can("admin"):
    st.error(t("not_authorised", lang))
    st.stop()
if who.scope != CITY_CODE:
    st.error(t("not_authorised", lang))
    st.caption(t("audit_city_only", lang))
    st.stop()

today = dt.date.today()
left, middle, right, last = st.columns([1, 1, 1, 1])
since = left.date_input(t("audit_since", lang), value=today - dt.timedelta(days=30), key="audit_since")
until = middle.date_input(t("audit_until", lang), value=today, key="audit_until")
rows = auth.store().audit_rows(since=since)
log = pd.DataFrame(rows, columns=list(COLUMNS))
log = log[log["time"].str[:10] <= until.isoformat()]
accounts = sorted(a for a in log["account"].unique() if a)
actions = sorted(log["action"].unique())
account = right.selectbox(
    t("audit_account", lang), ["", *accounts], format_func=lambda a: a or t("all", lang)
)
action = last.selectbox(t("audit_action", lang), ["", *actions], format_func=lambda a: a or t("all", lang))
if account:
    log = log[log["account"] == account]
if action:
    log = log[log["action"] == action]
log = log.iloc[::-1].reset_index(drop=True)  # newest first

st.caption(f"{len(log)} {t('audit_rows', lang)}")
shown = log.map(neutralize_formula)
st.dataframe(shown, hide_index=True, width="stretch", height=560)
csv = shown.to_csv(index=False).encode("utf-8-sig")
st.download_button(
    t("audit_download", lang),
    csv,
    file_name=f"audit-{since.isoformat()}-{until.isoformat()}.csv",
    mime="text/csv",
    on_click=auth.record,
    args=("download", f"audit:{since.isoformat()}:{until.isoformat()}"),
)

"""报告: the report of the chosen region and period, as PDF, HTML or Excel, with a preview."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from dashboard import auth, frame, panels, report
from dashboard.access import Principal
from dashboard.data import ask
from dashboard.downloads import chart_downloads, file_stem, may_download, period_text, record_download
from dashboard.export import ExportError
from dashboard.filters import Filters
from dashboard.labels import t
from dashboard.queries import read_publication
from dashboard.text import literal

FORMAT_NAMES = {"pdf": "PDF", "html": "HTML", "xlsx": "Excel"}

filters: Filters = st.session_state["filters"]
lang, principal = filters.lang, filters.principal
code = filters.region

if not may_download(principal):  # reports are for analysts and above, whatever the menu shows
    frame.title_bar(filters, t("report_page", lang), "")
    st.error(t("report_needs_analyst", lang))
    st.stop()
frame.stop_unless_shown(filters, t("report_page", lang), code)

region = ask(principal, "region", filters.db, code)
frame.title_bar(filters, t("report_page", lang), region["name"])
frame.breadcrumb(filters, code)
st.caption(t("report_intro", lang))


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def report_model(
    db: str, published: tuple[int, int], code: str, start, end, year: int, lang: str, scope: str, compare: str
) -> dict:
    # what the gate lets through depends on the scope alone, not on who asks
    who = Principal(name="", role="analyst", scope=scope, via="report")
    return report.build_report(db, code, start, end, year=year, lang=lang, principal=who, compare=compare)


model = report_model(
    str(filters.db),
    read_publication(filters.db),
    code,
    filters.start,
    filters.end,
    filters.year,
    lang,
    principal.scope,
    filters.compare,
)

# ------------------------------------------------------------------------------ generate
chosen = (
    st.segmented_control(
        t("report_format", lang),
        list(FORMAT_NAMES),
        format_func=FORMAT_NAMES.get,
        default="pdf",
        key="report_format",
    )
    or "pdf"
)
request = (
    str(filters.db),
    read_publication(filters.db),
    code,
    filters.start,
    filters.end,
    filters.year,
    lang,
    chosen,
)
ready = st.session_state.get("report_file")
columns = st.columns([1, 1, 4], gap="small")
if columns[0].button(t("generate_report", lang), type="primary", icon=":material/description:"):
    with st.spinner(t("report_generating", lang)):
        try:
            data = report.render(model, chosen)
        except (ExportError, report.ReportError) as exc:
            st.error(literal(f"{t('report_failed', lang)}{exc}"))
            data = None
    if data is not None:
        auth.record("report", target=f"report:{code}:{chosen}")
        name = f"{file_stem(region['name'])}_{filters.start.isoformat()}_{filters.end.isoformat()}.{chosen}"
        ready = st.session_state["report_file"] = (request, data, name)
if ready and ready[0] == request:
    columns[1].download_button(
        t("download_report", lang),
        data=ready[1],
        file_name=ready[2],
        mime=report.MIME_TYPES[chosen],
        icon=":material/download:",
        on_click=record_download,
        args=(f"report:{code}:{chosen}",),
    )

# ------------------------------------------------------------------------------- preview
st.subheader(t("report_preview", lang))
st.html(
    f"<h3 style='margin:0'>{html.escape(model['title'])}</h3>"
    f"<p style='color:#8aa4c2'>{html.escape(model['region']['path'])} · {html.escape(model['period']['start'])} "
    f"{html.escape(t('up_to', lang))} {html.escape(model['period']['end'])}</p>"
    + "".join(f"<p>{html.escape(sentence)}</p>" for sentence in model["summary"])
)

st.markdown(f"**{t('kpi_table', lang)}**")
kpi_table = pd.DataFrame(
    {
        t("domain", lang): [row["domain"] for row in model["kpi_rows"]],
        t("indicator", lang): [row["label"] for row in model["kpi_rows"]],
        t("current_period", lang): [row["current_text"] for row in model["kpi_rows"]],
        t("previous_period", lang): [row["previous_text"] for row in model["kpi_rows"]],
        t("change", lang): [row["change_text"] for row in model["kpi_rows"]],
    }
)
st.dataframe(kpi_table, hide_index=True, width="stretch")

charts = report.charts_of(model)
for start in range(0, len(charts), 2):
    for column, chart in zip(st.columns(2, gap="medium"), charts[start : start + 2], strict=False):
        with column:
            st.caption(chart.title)
            st.plotly_chart(chart.figure, key=f"report_{chart.key}", config={"displayModeBar": False})
            chart_downloads(
                principal,
                chart.figure,
                chart.data,
                f"{region['name']} · {chart.title}",
                lang,
                key=f"download_report_{chart.key}",
                target=f"report:{code}:{chart.key}",
                period=period_text(filters),
            )

st.markdown(f"**{model['ranking']['title']}**")
ranking = model["ranking"]["table"]
if ranking.empty:
    st.info(t("no_children", lang))
else:
    # as the overview and the PDF show it: shared ranks marked, "—" where there is nothing to rate
    panels.league_table(ranking, lang, key=f"report_ranking_{code}", selectable=False)

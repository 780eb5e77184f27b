"""Download buttons under a chart: the picture (wall, print, vector) and the data behind it.

    from dashboard.downloads import chart_downloads, period_text
    st.plotly_chart(fig, key="events_trend")
    chart_downloads(principal, fig, trend, f"荣昌区 · {t('trend', lang)}", lang,
                    target="overview:500153:trend", period=period_text(filters))

Images are rendered only when a button is clicked, so a page with many charts stays fast. A viewer
gets none (roles: dashboard/access.py); each download is in the audit log. The data is the frame the
page drew, as the gate let it through: what is hidden on the page is hidden in the file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import auth, export
from dashboard.access import Principal
from dashboard.labels import t

_UNSAFE_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|\s·]+')


def file_stem(name: str) -> str:
    """A file name from a title: no path separators, quotes or blanks."""
    return _UNSAFE_IN_FILE_NAMES.sub("_", str(name)).strip("._") or "chart"


def period_text(filters) -> str:
    """The line under a downloaded chart's title and above its sheet: the period the view shows and
    the one it is compared with."""
    compared = filters.compared
    basis = t(f"download_compared_{filters.compare}", filters.lang).format(
        start=compared.start.isoformat(), end=compared.end.isoformat()
    )
    return export.period_line(filters.start.isoformat(), filters.end.isoformat(), basis, filters.lang)


def may_download(principal: Principal | None) -> bool:
    """Whether the principal may take charts, tables and reports away: analysts and above."""
    return isinstance(principal, Principal) and principal.can("analyst")


def record_download(target: str) -> None:
    """The audit row of a download, `page:region:what` (an on_click callback of the page's run)."""
    auth.record("download", target=target)


def audited(make: Callable[[], bytes], principal: Principal, target: str) -> Callable[[], bytes]:
    """`make`, writing the download's audit row when it runs: a deferred download's file is made when
    its button is clicked, outside the page's run, so who and from where are taken now. (A callback
    on the button would rerun the page, which closes the popover and drops its other files.)"""
    address = auth.address()

    def made() -> bytes:
        data = make()
        auth.store().record("download", account=principal.name, address=address, target=target)
        return data

    return made


def chart_downloads(
    principal: Principal | None,
    fig: go.Figure | Callable[[], go.Figure],
    data: pd.DataFrame,
    name: str,
    lang: str = "zh",
    key: str | None = None,
    readable: bool = True,
    target: str = "",
    period: str | None = None,
) -> None:
    """A compact 下载 popover: PNG for the wall (1920 px wide), PNG for print (300 dpi), SVG, CSV, Excel.

    fig: the figure as the page draws it, or what makes it when a file is asked for (a chart the page
    does not draw costs nothing until then). data: the frame behind it; with `readable`, query column
    names become labels and enumerated codes their names (else it is a `charts.data_table`). name: the
    region and the chart's title, used for the file names and as the image's and the sheet's title.
    period: the period line (`period_text`) under the image's title and on the sheet. key: a unique key
    when the same name appears twice on a page. target: `page:region:what` for the audit log. Text
    cells are neutralised against spreadsheet formulas. Nothing is drawn for a principal who may not
    download.
    """
    if not may_download(principal):
        return
    key = key or "download_" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]
    stem = file_stem(name)
    table = export.readable(data, lang) if readable else data
    caption = [line for line in (name, period) if line]

    def image(fmt: str, preset: str):
        return lambda: export.figure_image(
            fig() if callable(fig) else fig, fmt, preset, title=name, subtitle=period
        )

    buttons = (
        ("png_wall", t("download_png_wall", lang), image("png", "wall"), f"{stem}_1920.png", "image/png"),
        (
            "png_print",
            t("download_png_print", lang),
            image("png", "print"),
            f"{stem}_300dpi.png",
            "image/png",
        ),
        ("svg", t("download_svg", lang), image("svg", "document"), f"{stem}.svg", "image/svg+xml"),
        ("csv", t("download_csv", lang), lambda: export.csv_bytes(table), f"{stem}.csv", "text/csv"),
        (
            "xlsx",
            t("download_xlsx", lang),
            lambda: export.xlsx_bytes({name: table}, captions={name: caption}),
            f"{stem}.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    )
    with st.popover(t("download", lang), icon=":material/download:", type="tertiary"):
        for suffix, label, make, file_name, mime in buttons:
            st.download_button(
                label,
                data=audited(make, principal, f"{target or name}:{suffix}"),
                file_name=file_name,
                mime=mime,
                on_click="ignore",
                key=f"{key}_{suffix}",
                width="stretch",
            )

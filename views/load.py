"""数据导入: a steward uploads files, sees a dry run of what they would do, then publishes them."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import auth, frame
from dashboard.downloads import audited
from dashboard.export import csv_bytes
from dashboard.filters import Filters
from dashboard.labels import t
from dashboard.text import literal
from pipelines.build import BuildError
from pipelines.contract import CITY_CODE, FILE_SUFFIXES
from pipelines.dryrun import dry_run, kind_of, missing_base_tables, publish, unknown_files

# Rejects drawn on the page; the download holds them all.
REJECTS_SHOWN = 200

filters: Filters = st.session_state["filters"]
lang, principal = filters.lang, filters.principal

frame.title_bar(filters, t("load_page", lang), "")
if not principal.can("steward"):  # the menu shows the page to stewards only; a link gets no further
    st.error(t("not_authorised", lang))
    st.stop()
if principal.scope != CITY_CODE:
    # A load replaces rows of the one database the whole city reads: a district's steward could
    # overwrite another district's events by id, or rebuild everything.
    st.error(t("not_authorised", lang))
    st.caption(t("load_city_only", lang))
    st.stop()

published = st.session_state.pop("load_published", None)
if published:
    st.success(literal(f"{t('load_published', lang)} {published}"))
st.caption(t("load_intro", lang))
st.caption(t("load_rules", lang))
st.caption(t("load_limit", lang).format(mb=st.get_option("server.maxUploadSize")))

uploads = (
    st.file_uploader(
        t("load_files", lang),
        type=[suffix.lstrip(".") for suffix in FILE_SUFFIXES],
        accept_multiple_files=True,
        key="load_uploads",
    )
    or []
)


@contextmanager
def uploaded_folder(files: list) -> Iterator[Path]:
    """The uploads as files in a private temporary folder, removed afterwards whatever happens."""
    folder = Path(tempfile.mkdtemp(prefix="yiping-load-"))  # mode 0700: this process's alone
    try:
        for upload in files:
            (folder / Path(upload.name).name).write_bytes(upload.getvalue())
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def problems_of(names: list[str]) -> list[str]:
    """Why this set of files cannot be loaded as it is, in the page's words; empty when it can."""
    found = []
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        found.append(t("load_duplicate_files", lang) + "、".join(repeated))
    kind = kind_of(names)
    unknown = unknown_files(names, kind)
    if unknown:
        found.append(t("load_unknown_files", lang) + "、".join(unknown))
    missing = missing_base_tables(names) if kind == "build" else []
    if missing:
        found.append(t("load_missing_base", lang) + "、".join(missing))
    return found


@contextmanager
def progress_bar(text: str) -> Iterator:
    """A bar that shows a load's progress while it runs and goes when it ends, whether done or failed."""
    bar = st.progress(0.0, text=text)

    def show(message: str, fraction: float) -> None:
        bar.progress(min(1.0, max(0.0, fraction)), text=f"{text} {message}")

    try:
        yield show
    finally:
        bar.empty()


if not uploads:
    st.stop()

names = [Path(upload.name).name for upload in uploads]
signature = tuple((upload.name, upload.size, upload.file_id) for upload in uploads)
problems = problems_of(names)
for problem in problems:
    st.error(literal(problem))
if problems:
    st.stop()

kind = kind_of(names)
st.markdown(f"**{t('load_kind_' + kind, lang)}**：{literal('、'.join(names))}")

if st.button(t("load_dry_run", lang), key="load_dry_run", type="secondary"):
    warnings: list[str] = []
    st.session_state.pop("load_result", None)
    try:
        with uploaded_folder(uploads) as folder, progress_bar(t("load_dry_running", lang)) as progress:
            result = dry_run(folder, filters.db, warn=warnings.append, progress=progress)
        st.session_state["load_result"] = (signature, result, warnings)
    except BuildError as exc:
        st.error(literal(t("load_dry_failed", lang) + str(exc)))

tried = st.session_state.get("load_result")
if tried is None:
    st.stop()
if tried[0] != signature:
    st.info(t("load_stale", lang))
    st.stop()
_, result, warnings = tried

st.subheader(t("load_dry_run_note", lang))
for warning in warnings:
    st.warning(literal(warning))
counts = pd.DataFrame(
    [[a.file, a.rows_read, a.rows_loaded, a.rows_rejected, a.rows_superseded] for a in result.audit],
    columns=[
        t(c, lang) for c in ("load_file", "rows_read", "rows_loaded", "rows_rejected", "rows_superseded")
    ],
)
st.table(counts, hide_index=True)

st.subheader(t("load_rejects", lang))
if result.rejects.empty:
    st.caption(t("load_no_rejects", lang))
else:
    rejects = result.rejects.rename(
        columns={
            "file": t("load_file", lang),
            "line": t("reject_line", lang),
            "column": t("reject_column", lang),
            "value": t("reject_value", lang),
            "reason": t("reject_reason", lang),
        }
    )
    st.table(rejects.head(REJECTS_SHOWN), hide_index=True)
    if len(rejects) > REJECTS_SHOWN:
        st.caption(t("load_rejects_more", lang).format(shown=REJECTS_SHOWN, total=len(rejects)))
    st.download_button(
        t("load_rejects_download", lang),
        data=audited(lambda: csv_bytes(result.rejects), principal, "load:rejects"),
        file_name="rejects.csv",
        mime="text/csv",
        on_click="ignore",  # a rerun on click could drop the deferred file before the browser fetches it
        key="load_rejects_download",
    )

if result.shrink_problem:
    st.warning(literal(result.shrink_problem))
allow_shrink = st.checkbox(t("load_allow_shrink", lang), key="load_allow_shrink")

if st.button(t("load_publish", lang), key="load_publish", type="primary"):
    target = ",".join(names)
    outcome = "failed"
    with st.status(t("load_publishing", lang), expanded=True) as status:
        try:
            with uploaded_folder(uploads) as folder, progress_bar(t("load_publishing", lang)) as progress:
                publish(
                    folder,
                    filters.db,
                    allow_shrink=allow_shrink,
                    warn=lambda message: None,  # the dry run has shown them
                    progress=progress,
                )
            outcome = "ok"
        except BuildError as exc:
            status.update(label=t("load_failed", lang), state="error")
            st.error(literal(t("load_failed", lang) + str(exc)))
        finally:
            auth.record("load", target=target, outcome=outcome)
    if outcome == "ok":
        st.session_state.pop("load_result", None)
        st.session_state["load_published"] = target
        st.rerun()

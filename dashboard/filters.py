"""The filters every page shares (region, period, comparison, year, language), kept in step with the URL.

The URL is read once when a session starts and written back on every run, so a copied link
reproduces the view. In kiosk mode there is no sidebar: the URL alone sets the view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from dashboard import params
from dashboard.access import Principal
from dashboard.data import ask
from dashboard.labels import LANGS, level_label, t
from dashboard.queries import COMPARE_MODES, OutOfScope, Period, QueryError, twelve_months_ending

LEVEL_KEYS = ("district", "township", "community", "grid")
PRESETS = ("preset_12m", "preset_this_year", "preset_last_year", "preset_90d", "preset_30d", "preset_custom")


@dataclass
class Filters:
    """What the page shows: a region, a period and the period its changes are measured against, a
    collective-economy year, a language, and for whom."""

    db: Path
    region: str
    start: dt.date
    end: dt.date
    year: int
    lang: str
    kiosk: bool = False
    rotate: int | None = None
    principal: Principal | None = None
    # why the region cannot be shown: "unknown_region" or "out_of_scope" (a label key); None: it can
    region_problem: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    # 同比 (`yoy`, the same dates a year earlier) or 环比 (`prev`, the same length just before)
    compare: str = "yoy"

    @property
    def region_ok(self) -> bool:
        return self.region_problem is None

    def period_text(self) -> str:
        return f"{self.start.isoformat()} {t('up_to', self.lang)} {self.end.isoformat()}"

    @property
    def compared(self) -> Period:
        """The dates every change on the page is measured against."""
        return Period(self.start, self.end).compared(self.compare)

    def compared_text(self, economy_year: int | None = None) -> str:
        """'同比：2024-01-01 至 2024-12-31' / 'Compared with 2024-01-01 – 2024-12-31 (year on year)', with
        the collective economy's compared year when the page shows it."""
        text = t(f"compared_dates_{self.compare}", self.lang).format(
            start=self.compared.start.isoformat(), end=self.compared.end.isoformat()
        )
        if economy_year is None:
            return text
        return (
            text
            + ("；" if self.lang == "zh" else "; ")
            + t("compared_economy", self.lang).format(year=economy_year)
        )


# The URL is input: each parameter is read through its rule in dashboard/params.py, which bounds or
# refuses the value and keeps a message for the page (params.problems).


def _param(name: str) -> str | None:
    return params.read(name)


def _date_param(name: str) -> dt.date | None:
    return params.read_date(name)


def _int_param(name: str) -> int | None:
    return params.read_number(name)


def url_flags() -> tuple[str, bool, int | None]:
    """Language, kiosk mode and rotation interval as the URL sets them."""
    lang = _param("lang") or "zh"
    return lang if lang in LANGS else "zh", params.read_flag("kiosk"), _int_param("rotate")


def language() -> str:
    """The language of this run, for everything the run draws: the sidebar switch once the session has
    it (so a flip reaches the page list and the tab title, drawn before the switch, in the same run;
    and a page change, which drops the URL's parameters, keeps it), else the URL's `lang`."""
    chosen = st.session_state.get("lang_choice")
    return chosen if chosen in LANGS else url_flags()[0]


def _relabel_choices() -> None:
    """Hand each keyed select box its own value again, so that it is drawn under the new language's label:
    the browser keeps a select box's choice as its label, and would show the old one after a switch."""
    state = st.session_state
    for key in [key for key in state if key == "preset" or key.startswith(("region_", "page_"))]:
        state[key] = state[key]


def preset_period(preset: str, latest: dt.date) -> Period | None:
    """The dates of a period preset, counted back from the latest data day."""
    if preset == "preset_12m":
        return twelve_months_ending(latest)
    if preset == "preset_this_year":
        return Period(dt.date(latest.year, 1, 1), latest)
    if preset == "preset_last_year":
        return Period(dt.date(latest.year - 1, 1, 1), dt.date(latest.year - 1, 12, 31))
    if preset == "preset_90d":
        return Period(latest - dt.timedelta(days=89), latest)
    if preset == "preset_30d":
        return Period(latest - dt.timedelta(days=29), latest)
    return None


def _seed_from_url(db: Path, latest: dt.date, scope: str) -> None:
    """Put the URL's filters into the widgets' state, once per session."""
    state = st.session_state
    region = _param("region") or scope
    state["_url_region"] = region
    _set_region_keys(region)
    start, end = _date_param("from"), _date_param("to")
    state["preset"] = "preset_12m"
    if start and end and start <= end:
        match = next(
            (p for p in PRESETS[:-1] if preset_period(p, latest) == Period(start, end)),
            "preset_custom",
        )
        state["preset"] = match
        state["custom_range"] = (start, end)
    year = _int_param("year")
    if year:
        state["economy_year"] = year
    state["lang_choice"] = _param("lang") if _param("lang") in LANGS else "zh"
    state["compare_choice"] = _param("compare") or COMPARE_MODES[0]
    state["_seeded"] = True


def _set_region_keys(region: str) -> None:
    state = st.session_state
    for level, length in zip(LEVEL_KEYS, (6, 9, 12, 15), strict=True):
        state[f"region_{level}"] = region[:length] if len(region) >= length else ""


def drill_to(code: str) -> None:
    """Show `code` next: applied before the widgets are drawn on the next run."""
    st.session_state["_drill_to"] = code


def _clear_below(level: str) -> None:
    state = st.session_state
    for lower in LEVEL_KEYS[LEVEL_KEYS.index(level) + 1 :]:
        state[f"region_{lower}"] = ""


def _region_widgets(db: Path, lang: str, principal: Principal) -> str:
    """Cascading selects 区县 → 街镇 → 村社区 → 网格 from the principal's scope down (no select above
    it); each is searchable by typing."""
    state = st.session_state
    parent = principal.scope
    region = parent
    for level, length in zip(LEVEL_KEYS, (6, 9, 12, 15), strict=True):
        if length <= len(parent):
            continue
        options = ask(principal, "children", db, region)
        if options.empty:
            break
        names = dict(zip(options["code"], options["name"], strict=True))
        key = f"region_{level}"
        if state.get(key) not in names:
            state[key] = ""
        choice = st.selectbox(
            level_label(level, lang),
            [""] + list(names),
            format_func=lambda c, names=names: names.get(c) or f"— {t('all', lang)} —",
            key=key,
            on_change=_clear_below,
            args=(level,),
        )
        if not choice:
            break
        region = choice
    return region


def shared_filters(db: Path) -> Filters:
    """Draw the sidebar filters (not in kiosk mode) and return the filters the page applies."""
    state = st.session_state
    principal: Principal | None = state.get("principal")
    if principal is None:  # nobody signed in: the router shows the sign-in instead of any page
        st.stop()
    scope = principal.scope
    _, kiosk, rotate = url_flags()
    lang = language()
    latest = ask(principal, "default_period", db).end
    if not state.get("_seeded"):
        _seed_from_url(db, latest, scope)
    if "_drill_to" in state:
        _set_region_keys(state.pop("_drill_to"))
        state["_url_region"] = None
    if state.get("_lang_drawn", lang) != lang:
        _relabel_choices()
    state["_lang_drawn"] = lang

    if kiosk:
        region = _param("region") or scope
        start, end = _date_param("from"), _date_param("to")
        period = Period(start, end) if start and end and start <= end else twelve_months_ending(latest)
        year = _int_param("year") or period.end.year
        compare = _param("compare") or COMPARE_MODES[0]
    else:
        with st.sidebar:
            st.segmented_control(
                t("language", lang),
                LANGS,
                format_func=lambda code: {"zh": "中文", "en": "English"}[code],
                key="lang_choice",
                required=True,
            )
            st.markdown(f"**{t('region', lang)}**")
            region = _region_widgets(db, lang, principal)
            # A URL region the selects cannot show (unknown, or outside the scope) is kept: the page says so.
            url_region = state.get("_url_region")
            if url_region and url_region != region and _region_problem(db, url_region, principal):
                region = url_region
            preset = st.selectbox(t("period", lang), PRESETS, format_func=lambda p: t(p, lang), key="preset")
            period = preset_period(preset, latest)
            if period is None:
                default = state.get("custom_range") or (latest - dt.timedelta(days=364), latest)
                picked = st.date_input(t("date_range", lang), value=default, key="custom_range")
                if isinstance(picked, tuple) and len(picked) == 2:
                    period = Period(*picked)
                else:
                    period = Period(default[0], default[1])
            compare = (
                st.segmented_control(
                    t("compare", lang),
                    COMPARE_MODES,
                    format_func=lambda mode: t(f"compare_{mode}", lang),
                    key="compare_choice",
                    help=t("compare_help", lang),
                )
                or COMPARE_MODES[0]
            )
            years = ask(principal, "economy_years", db)
            default_year = period.end.year
            choices = sorted(set(years) | {default_year}, reverse=True)
            if state.get("economy_year") not in choices:
                state["economy_year"] = default_year
            year = st.selectbox(t("economy_year", lang), choices, key="economy_year")

    problem = _region_problem(db, region, principal)
    filters = Filters(
        db,
        region,
        period.start,
        period.end,
        int(year),
        lang,
        kiosk,
        rotate,
        principal,
        problem,
        compare=compare,
    )
    _write_url(filters)
    return filters


def _region_problem(db: Path, code: str, principal: Principal) -> str | None:
    """Why `code` cannot be shown to the principal (a label key), or None when it can."""
    try:
        ask(principal, "region", db, code)
    except OutOfScope:
        return "out_of_scope"
    except QueryError:
        return "unknown_region"
    return None


def _write_url(filters: Filters) -> None:
    """Write the filters back to the URL, keeping kiosk, rotate and page parameters."""
    wanted = {
        "region": filters.region,
        "from": filters.start.isoformat(),
        "to": filters.end.isoformat(),
        "year": str(filters.year),
        "lang": filters.lang,
        "compare": filters.compare,
    }
    if filters.kiosk:
        wanted["kiosk"] = "1"
    if filters.rotate:
        wanted["rotate"] = str(filters.rotate)
    for key, value in st.query_params.to_dict().items():
        if key not in wanted and key not in (
            "region",
            "from",
            "to",
            "year",
            "lang",
            "compare",
            "kiosk",
            "rotate",
        ):
            wanted[key] = value
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def page_choice(name: str, label: str, options: list[str], format_func, lang: str) -> str:
    """A page's own filter (category, source ...) that lives in the URL like the shared ones."""
    key = f"page_{name}"
    if key not in st.session_state:
        st.session_state[key] = _param(name) if _param(name) in options else options[0]
    choice = st.selectbox(label, options, format_func=format_func, key=key)
    if choice == options[0]:
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != choice:
        st.query_params[name] = choice
    return choice

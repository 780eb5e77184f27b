"""The pages' way to the data: through the gate, with the principal, cached.

    current, previous = ask(principal, "kpis_with_previous", db, code, start, end, year=year)

Every question passes the gate (dashboard/queries/gate.py): the region is checked against the
principal's scope before anything is read, and small counts are hidden in what comes back. Results
are cached by the scope, the parameters and the identity of the published file, so a new publish is
read at once while repeated views cost nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.access import Principal
from dashboard.queries import gate, read_publication

DEFAULT_DB = Path("data/yiping.duckdb")


def database_path() -> Path:
    """The database the dashboard reads: YIPING_DB, or the default under data/."""
    return Path(os.environ.get("YIPING_DB") or DEFAULT_DB)


def access_scope() -> str | None:
    """The region this installation is confined to (YIPING_SCOPE): the scope of the open demo principal."""
    scope = os.environ.get("YIPING_SCOPE", "").strip()
    return scope or None


@st.cache_data(ttl=3600, max_entries=1024, show_spinner=False)
def _cached(scope: str, name: str, published: tuple[int, int], args: tuple, kwargs: tuple) -> Any:
    return gate.ask_within(scope, name, *args, **dict(kwargs))


def _scope_of(principal: Principal | None) -> str:
    if not isinstance(principal, Principal):
        raise gate.OutOfScope("无权查看：未登录")
    return principal.scope


def ask(principal: Principal | None, name: str, *args: Any, **kwargs: Any) -> Any:
    """The answer to `queries.<name>(db, ...)` that `principal` may see, cached; the first argument
    after the name is the database path. Raises OutOfScope for a region outside the scope."""
    scope = _scope_of(principal)
    db = args[0]
    return _cached(
        scope,
        name,
        read_publication(db),  # the publish this run reads: one for the whole page
        tuple(str(a) if isinstance(a, Path) else a for a in args),
        tuple(sorted(kwargs.items())),
    )

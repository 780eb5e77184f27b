"""Cached access to the query layer for the pages.

Results are cached by their parameters and by the identity of the published file, so a new
publish is read at once while repeated views cost nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import queries

DEFAULT_DB = Path("data/yiping.duckdb")


def database_path() -> Path:
    """The database the dashboard reads: YIPING_DB, or the default under data/."""
    return Path(os.environ.get("YIPING_DB") or DEFAULT_DB)


def access_scope() -> str | None:
    """The region this installation is confined to (YIPING_SCOPE), enforced in the query layer."""
    scope = os.environ.get("YIPING_SCOPE", "").strip()
    return scope or None


@st.cache_data(ttl=3600, max_entries=1024, show_spinner=False)
def _cached(name: str, publication: tuple[int, int], args: tuple, kwargs: tuple) -> Any:
    return getattr(queries, name)(*args, **dict(kwargs))


def ask(name: str, *args: Any, **kwargs: Any) -> Any:
    """Call `queries.<name>(db, ...)` through the cache; the first argument is the database path."""
    db = args[0]
    return _cached(
        name,
        queries.publication(db),
        tuple(str(a) if isinstance(a, Path) else a for a in args),
        tuple(sorted(kwargs.items())),
    )

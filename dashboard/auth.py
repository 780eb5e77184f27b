"""Who is on this page: the principal of the session, and the audit trail of what they do.

`principal()` is read once per run by the router (app.py) and put in `st.session_state["principal"]`;
pages take it from there and pass it to every query. `record()` writes one audit row.
"""

from __future__ import annotations

import streamlit as st

from dashboard.access import Principal, open_demo
from dashboard.data import access_scope


def principal() -> Principal | None:
    """The principal of this session, or None when nobody is signed in."""
    return open_demo(access_scope())


def record(action: str, target: str = "", outcome: str = "ok") -> None:
    """One row in the audit log for what the signed-in principal just did (download, report ...)."""
    who = st.session_state.get("principal")
    del who, action, target, outcome  # written to the accounts store once it exists

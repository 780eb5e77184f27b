"""Who is on this page: the principal of the session, the sign-in screen, and the audit trail.

The router (app.py) asks `principal()` on every run and puts the answer in
`st.session_state["principal"]`; pages pass it to every query. The session itself lives on the
server (dashboard/accounts.py), found by the HttpOnly cookie that dashboard/server.py sets, or,
with single sign-on, by the identity Streamlit's OIDC support (`st.login`) vouches for.
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import streamlit as st

from dashboard.access import Principal, open_demo
from dashboard.accounts import Accounts, accounts_path
from dashboard.data import access_scope
from dashboard.labels import t
from dashboard.server import SESSION_COOKIE, SIGN_IN_PATH, SIGN_OUT_PATH, safe_next
from dashboard.text import literal

LOCAL_ADDRESS = "127.0.0.1"


@st.cache_resource(show_spinner=False)
def _store(path: str) -> Accounts:
    return Accounts(path)


def store() -> Accounts:
    """The accounts store (YIPING_ACCOUNTS, else data/accounts.sqlite)."""
    return _store(str(accounts_path()))


def address() -> str:
    """The client's address as Streamlit sees it (none is given for a browser on this machine)."""
    ip = st.context.ip_address
    return ip if isinstance(ip, str) and ip else LOCAL_ADDRESS


def sso_provider() -> str | None:
    """The OIDC provider to sign in with, when `[auth]` is configured in secrets.toml; None otherwise.

    A bare `[auth]` with client_id is the default provider (""); `[auth.NAME]` sections are named ones.
    """
    try:
        auth = st.secrets.get("auth")
    except Exception:  # no secrets file at all, or one that does not parse
        return None
    if not auth:
        return None
    if "client_id" in auth:
        return ""
    named = [name for name, value in auth.items() if isinstance(value, Mapping) and "client_id" in value]
    return named[0] if named else None


def _sso_identity() -> str | None:
    if sso_provider() is None:
        return None
    try:
        if not st.user.is_logged_in:
            return None
        # An address the provider has not verified names nobody: anyone could have typed it.
        email = st.user.get("email") if st.user.get("email_verified") is not False else None
        return str(email or st.user.get("sub") or "") or None
    except Exception:  # Streamlit's identity cookie is missing or no longer valid
        return None


def principal(*, touch: bool = True) -> Principal | None:
    """The principal of this session: a password or display session, else a mapped SSO identity.
    `touch=False` re-checks without counting as use (the timer of `watch_session`)."""
    accounts = store()
    session_id = st.context.cookies.get(SESSION_COOKIE)
    if isinstance(session_id, str) and session_id:
        # A wall display is meant to run unattended: its timer keeps it signed in.
        who = accounts.session_principal(session_id, touch=touch)
        if who is not None and not touch and who.via == "display":
            who = accounts.session_principal(session_id)
        if who is not None:
            return who
    identity = _sso_identity()
    if identity:
        who = _sso_principal(accounts, identity)
        st.session_state["_sso_unmapped"] = who is None
        return who
    st.session_state["_sso_unmapped"] = False
    return None


def _sso_principal(accounts: Accounts, identity: str) -> Principal | None:
    """The account an SSO identity maps to, signed in once per browser session: later runs find the
    session it opened, so the audit log holds one sign-in, and a refusal is not retried on every run."""
    state = st.session_state
    remembered = state.get("_sso_session")
    if remembered and remembered[0] == identity:
        if remembered[1] is None:
            return None
        who = accounts.session_principal(remembered[1])
        if who is not None:
            return who
    who = accounts.identity_principal(identity, address())
    state["_sso_session"] = (identity, who.session if who else None)
    return who


def sso_without_account() -> bool:
    """True when single sign-on vouched for an identity that has no account here."""
    return bool(st.session_state.get("_sso_unmapped"))


def open_principal() -> Principal:
    """The principal of an installation without accounts, showing demo data."""
    return open_demo(access_scope())


def is_demo(db) -> bool:
    """True when the database was built from the demo generator's output; a file that cannot be
    read stops the page with the reason."""
    from dashboard import queries
    from dashboard.text import literal

    try:
        return bool(queries.build_info(db).get("is_demo"))
    except queries.QueryError as exc:
        st.error(literal(f"{t('data_error', 'zh')}{exc}"))
        st.caption(literal(t("data_error", "en") + str(exc)))
        st.stop()
        raise


def scope_name(db, who: Principal) -> str:
    """The name of the region a principal is confined to."""
    from dashboard import queries

    try:
        return str(queries.region(db, who.scope)["name"])
    except queries.QueryError:
        return who.scope


def sign_in_required() -> bool:
    """Once any account exists, nothing is shown without sign-in."""
    return store().has_users()


def record(action: str, target: str = "", outcome: str = "ok") -> None:
    """One row in the audit log for what the signed-in principal just did (page view, download, report)."""
    who: Principal | None = st.session_state.get("principal")
    store().record(action, account=who.name if who else "", address=address(), target=target, outcome=outcome)


def record_page_view(page: str, region: str) -> None:
    """A page view, once per page and region a session shows (not on every rerun)."""
    key = (page, region)
    if st.session_state.get("_viewed") == key:
        return
    st.session_state["_viewed"] = key
    record("page_view", target=f"{page}:{region}")


# --------------------------------------------------------------------------- what the visitor sees

SIGN_IN_CSS = """
<style>
  .yp-signin { max-width: 420px; margin: 8vh auto 0 auto; background: #0f1f36; border: 1px solid #1f3a5c;
      border-radius: 8px; padding: 28px 32px; }
  .yp-signin h2 { margin: 0 0 4px 0; font-size: 1.5rem; color: #e2ecf7; }
  .yp-signin .yp-sub { color: #8aa4c2; margin-bottom: 18px; }
  .yp-signin label { display: block; color: #8aa4c2; margin: 12px 0 4px 0; font-size: 0.95rem; }
  .yp-signin input { width: 100%; box-sizing: border-box; padding: 9px 10px; font-size: 1rem; color: #e2ecf7;
      background: #0a1628; border: 1px solid #1f3a5c; border-radius: 4px; }
  .yp-signin input:focus { outline: 2px solid #22d3ee; }
  .yp-signin button { margin-top: 20px; width: 100%; padding: 10px; font-size: 1.05rem; font-weight: 600;
      color: #0a1628; background: #22d3ee; border: 0; border-radius: 4px; cursor: pointer; }
  .yp-signin .yp-error { background: #3b1220; border: 1px solid #7f1d1d; color: #fecaca; border-radius: 4px;
      padding: 8px 10px; margin-bottom: 8px; font-size: 0.95rem; }
</style>
"""


def _current_path() -> str:
    """This page's path and query, to come back to after signing in."""
    url = st.context.url if isinstance(st.context.url, str) else "/"
    parts = urlsplit(url)
    query = "&".join(
        f"{k}={v}" for k, v in st.query_params.to_dict().items() if k not in ("signin", "display")
    )
    path = parts.path or "/"
    return safe_next(path + (f"?{query}" if query else ""))


def sign_in_screen(lang: str) -> None:
    """The sign-in form (posted to the server, which sets the session cookie), and SSO where configured."""
    failed = st.query_params.get("signin")
    error = ""
    if failed == "failed":
        error = t("sign_in_failed", lang)
    elif failed == "display_failed":
        error = t("display_failed", lang)
    next_path = html.escape(_current_path(), quote=True)
    st.html(
        SIGN_IN_CSS + '<div class="yp-signin">'
        f"<h2>{html.escape(t('app_title', lang))}</h2>"
        f'<div class="yp-sub">{html.escape(t("sign_in_title", lang))}</div>'
        + (f'<div class="yp-error" role="alert">{html.escape(error)}</div>' if error else "")
        + f'<form method="post" action="{SIGN_IN_PATH}" autocomplete="on">'
        f'<label for="yp-username">{html.escape(t("username", lang))}</label>'
        '<input id="yp-username" name="username" autocomplete="username" maxlength="64" required autofocus>'
        f'<label for="yp-password">{html.escape(t("password", lang))}</label>'
        '<input id="yp-password" name="password" type="password" autocomplete="current-password" '
        'maxlength="256" required>'
        f'<input type="hidden" name="next" value="{next_path}">'
        f'<button type="submit">{html.escape(t("sign_in", lang))}</button>'
        "</form></div>"
    )
    provider = sso_provider()
    if provider is not None:
        left, middle, right = st.columns([1, 1, 1])
        if middle.button(t("sign_in_sso", lang), key="sso_sign_in", width="stretch"):
            st.login(provider) if provider else st.login()


def no_account_screen(lang: str) -> None:
    """An SSO identity that maps to no account: no figure, a way out."""
    st.error(t("no_account_for_identity", lang))
    if st.button(t("sign_out", lang), key="sso_sign_out"):
        st.logout()


def first_admin_screen(lang: str) -> None:
    """A real database and no account yet: say how to create the first administrator, show nothing else."""
    st.subheader(t("first_admin_title", lang))
    st.write(t("first_admin_note", lang))
    st.code("python -m pipelines users add admin --role admin --scope 50", language="bash")


def open_banner(lang: str) -> None:
    """The visible mark of an installation that shows demo data to anyone."""
    st.html(
        '<div style="background:#7c2d12;color:#ffedd5;border-radius:4px;padding:3px 12px;margin-bottom:4px;'
        'font-size:0.95rem"><b>'
        + html.escape(t("login_disabled", lang))
        + "</b> · "
        + html.escape(t("login_disabled_note", lang))
        + " <code>python -m pipelines users add admin --role admin --scope 50</code></div>"
    )


def account_box(who: Principal, region_name: str, lang: str) -> None:
    """In the sidebar: who is signed in, their role and scope, and the way out."""
    role = t(f"role_{who.role}", lang)
    st.caption(literal(f"{t('signed_in_as', lang)}：{who.name} · {role} · {region_name}"))
    if who.via == "oidc":
        if st.button(t("sign_out", lang), key="sign_out"):
            store().sign_out(who.session, address())
            st.session_state.pop("_sso_session", None)
            st.logout()
        return
    action = SIGN_OUT_PATH + ("?lang=en" if lang == "en" else "")
    st.html(
        f'<form method="post" action="{action}" style="margin:0">'
        '<button type="submit" style="background:none;border:1px solid #1f3a5c;color:#e2ecf7;'
        f'border-radius:4px;padding:4px 14px;cursor:pointer">{html.escape(t("sign_out", lang))}</button></form>'
    )


def watch_session(seconds: int) -> None:
    """Re-check the session every `seconds`: a sign-out elsewhere, a disabled account or a revoked
    display ends what this page shows at its next refresh, not at the next click."""
    started = st.session_state.get("principal")

    @st.fragment(run_every=seconds)
    def _check() -> None:
        if sign_in_required() and principal(touch=False) != started:
            st.session_state["_session_changed_at"] = time.time()
            st.rerun(scope="app")

    _check()

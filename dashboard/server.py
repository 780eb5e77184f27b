"""The HTTP side of sign-in, around Streamlit's own server: routes that set and clear the session
cookie, and the exchange of a wall display's token for a session.

A Streamlit script cannot set a cookie, and the session id must live in an HttpOnly cookie that no
script on the page can read. So the password form posts here, to a route of the ASGI app that
`streamlit run app.py` serves (`st.App`), and the script only reads the cookie back through
`st.context.cookies`. Everything else about who may see what is decided in the script and the
query layer, from the session row this sets up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from dashboard.accounts import Accounts, accounts_path
from pipelines.contract import CITY_CODE

SESSION_COOKIE = "yiping_session"
UPLOAD_PATH = "/_stcore/upload_file"
SIGN_IN_PATH = "/account/signin"
SIGN_OUT_PATH = "/account/signout"
# Bounds on what the form may carry: Argon2 would hash a megabyte as patiently as ten characters.
MAX_FORM_BYTES = 4096
MAX_NAME = 64
MAX_PASSWORD = 256
NO_STORE = {"cache-control": "no-store"}
# Paths that are Streamlit's own machinery or files, never a page a display token opens.
_NOT_PAGES = ("/_stcore", "/static", "/app/static", "/media", "/component", "/account", "/auth", "/oauth2")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

log = logging.getLogger("yiping.server")
# Each sign-in costs an Argon2id check (64 MiB, three passes): at most this many at once, so that a
# flood of posts queues instead of taking every core and gigabytes of memory.
_HASHING = asyncio.Semaphore(max(1, (os.cpu_count() or 2) // 2))
_stores: dict[str, Accounts] = {}


def store() -> Accounts:
    """The accounts store named by YIPING_ACCOUNTS (read at each call, so tests may point elsewhere)."""
    path = str(accounts_path())
    if path not in _stores:
        _stores[path] = Accounts(path)
    return _stores[path]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this server only, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("signin", "display")
    ]
    return parts.path + (f"?{urlencode(query)}" if query else "")


def _with_param(target: str, key: str, value: str) -> str:
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != key]
    return parts.path + "?" + urlencode([*query, (key, value)])


def same_origin(request: Request) -> bool:
    """A form post from a page of this server, not from another site (login CSRF)."""
    origin = request.headers.get("origin")
    if origin is not None:
        host = request.headers.get("host", "")
        return urlsplit(origin).netloc == host
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"


def set_session_cookie(response: Response, session_id: str, secure: bool) -> None:
    # No max-age: the server-side row holds the expiry; the cookie lasts the browser session and
    # is shared by its tabs, and a reload sends it again.
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="strict", secure=secure, path="/")


async def sign_in(request: Request) -> Response:
    """The password form posts here: a session cookie and back to the page, or back with signin=failed."""
    if not same_origin(request):
        return PlainTextResponse("cross-site sign-in refused", status_code=403)
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        return PlainTextResponse("form too large", status_code=413)
    form = await request.form(max_files=0, max_fields=8)
    name = str(form.get("username") or "")[: MAX_NAME + 1]
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or "/"))
    session_id = None
    if name.strip() and password and len(password) <= MAX_PASSWORD and len(name) <= MAX_NAME:
        async with _HASHING:
            session_id = await run_in_threadpool(store().sign_in, name, password, client_address(request))
    else:
        await run_in_threadpool(
            store().record, "sign_in_failed", account="", address=client_address(request),
            target=name[:MAX_NAME], outcome="failed",
        )  # fmt: skip
    if session_id is None:
        return RedirectResponse(_with_param(target, "signin", "failed"), status_code=303, headers=NO_STORE)
    response = RedirectResponse(target, status_code=303, headers=NO_STORE)
    set_session_cookie(response, session_id, _is_https(request))
    return response


async def sign_out(request: Request) -> Response:
    """Ends the session on the server and forgets the cookie."""
    if not same_origin(request):
        return PlainTextResponse("cross-site sign-out refused", status_code=403)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await run_in_threadpool(store().sign_out, session_id, client_address(request))
    lang = request.query_params.get("lang")
    response = RedirectResponse("/?lang=en" if lang == "en" else "/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def routes() -> list[Route]:
    return [
        Route(SIGN_IN_PATH, sign_in, methods=["POST"]),
        Route(SIGN_OUT_PATH, sign_out, methods=["POST"]),
    ]


class DisplayTokenMiddleware:
    """`?display=TOKEN` on a page signs the wall screen in once: the token is exchanged for a
    session cookie and leaves the address bar through a redirect, before any page code runs."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "GET"
            or b"display=" not in scope.get("query_string", b"")
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if request.url.path.startswith(_NOT_PAGES):
            await self.app(scope, receive, send)
            return
        pairs = parse_qsl(request.url.query, keep_blank_values=True)
        token = next((v for k, v in reversed(pairs) if k == "display"), "")
        rest = [(k, v) for k, v in pairs if k not in ("display", "signin")]
        target = safe_next(request.url.path + (f"?{urlencode(rest)}" if rest else ""))
        current = request.cookies.get(SESSION_COOKIE)
        if current and await run_in_threadpool(store().session_principal, current):
            # Already signed in: a link with someone else's token must not replace this session.
            response: Response = RedirectResponse(target, status_code=303)
            response.headers["referrer-policy"] = "no-referrer"
            await response(scope, receive, send)
            return
        session_id = None
        if 0 < len(token) <= 256:
            session_id = await run_in_threadpool(store().display_sign_in, token, client_address(request))
        if session_id is None:
            response: Response = RedirectResponse(
                _with_param(target, "signin", "display_failed"), status_code=303
            )
        else:
            response = RedirectResponse(target, status_code=303)
            set_session_cookie(response, session_id, _is_https(request))
        response.headers["referrer-policy"] = "no-referrer"
        await response(scope, receive, send)


class SignedInFilesMiddleware:
    """Files a page made for its visitor (downloads, under /media/) are served only to a signed-in
    browser once sign-in is required: a copied link opens nothing for anyone without a session."""

    # Streamlit's own identity cookie, set by single sign-on; its session is checked by the page.
    SSO_COOKIE = "_streamlit_user"

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    def sso_identity(self, request: Request) -> str:
        """The e-mail or subject of Streamlit's signed SSO identity cookie, lower-cased; "" without one.

        The cookie is checked with Streamlit's own reader (signature and chunks) of the pinned version;
        a forged or unsigned cookie reads as nothing."""
        if self.SSO_COOKIE not in request.cookies:
            return ""
        try:
            from streamlit.web.server.starlette.starlette_auth_routes import _get_cookie_value_from_request

            raw = _get_cookie_value_from_request(request, self.SSO_COOKIE)
            info = json.loads(raw) if raw else {}
        except Exception:  # an unreadable or forged cookie is no identity
            return ""
        email = info.get("email") if info.get("email_verified") is not False else None
        return str(email or info.get("sub") or "").strip().lower()

    def sso_account(self, request: Request, accounts: Accounts) -> bool:
        """True when the request carries Streamlit's signed SSO identity of an enabled account."""
        identity = self.sso_identity(request)
        return bool(identity) and any(
            user["enabled"] and user["name"].lower() == identity for user in accounts.list_users()
        )

    def steward(self, request: Request, accounts: Accounts) -> bool:
        """True for a browser signed in as a steward (or above) whose scope is the city."""
        session_id = request.cookies.get(SESSION_COOKIE)
        who = accounts.session_principal(session_id) if session_id else None
        if who is not None:
            return who.can("steward") and who.scope == CITY_CODE
        name = self.sso_identity(request)
        return (
            any(
                user["enabled"]
                and user["name"].lower() == name
                and user["role"] in ("steward", "admin")
                and user["scope"] == CITY_CODE
                for user in accounts.list_users()
            )
            if name
            else False
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and path.startswith(UPLOAD_PATH):
            # Streamlit hands upload addresses to any session; only the import page's users may send files.
            if not await run_in_threadpool(self.steward, Request(scope), store()):
                await PlainTextResponse("uploads are for stewards", status_code=403)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http" or not path.startswith("/media/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        accounts = store()
        allowed = True
        if await run_in_threadpool(accounts.has_users):
            session_id = request.cookies.get(SESSION_COOKIE)
            signed_in = bool(session_id) and await run_in_threadpool(accounts.session_principal, session_id)
            allowed = bool(signed_in) or await run_in_threadpool(self.sso_account, request, accounts)
        if not allowed:
            await PlainTextResponse("sign in first", status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    """Headers every response carries: no framing by other sites, no type sniffing, no referrer."""

    HEADERS = (
        (b"x-frame-options", b"SAMEORIGIN"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    )

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in self.HEADERS if name not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def middleware() -> list[Middleware]:
    return [
        Middleware(SecurityHeadersMiddleware),
        Middleware(SignedInFilesMiddleware),
        Middleware(DisplayTokenMiddleware),
    ]


def on_script_error(exc: Exception) -> bool:
    """An uncaught error in a page: the detail goes to the server log, the visitor sees a plain message."""
    import streamlit as st

    log.error("page error", exc_info=exc)
    st.error(
        "页面出错，详情已记入服务器日志，请稍后重试。 This page hit an error; the details are in the server log."
    )
    return True

"""Sign-in, sessions, roles and scope in a real browser against a running server, tried as an
attacker would: no figure before sign-in, a guessed password, a replayed cookie, an edited URL,
a revoked display token. Every step leaves its row in the audit log."""

from __future__ import annotations

import re

import pytest

from dashboard import queries
from dashboard.accounts import Accounts
from dashboard.labels import t
from dashboard.server import SESSION_COOKIE

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"
REFRESH_SECONDS = 2
HOME = "500103"  # 渝中区: the scope of the district accounts
ELSEWHERE = "500153"  # 荣昌区: outside it

METRIC = '[data-testid="stMetric"]'


@pytest.fixture(scope="module")
def accounts_file(tmp_path_factory) -> str:
    """The accounts store the module's server reads, with one account per role."""
    path = tmp_path_factory.mktemp("auth") / "accounts.sqlite"
    store = Accounts(path)
    store.add_user("admin", PASSWORD, "admin", "50")
    for name, role in (("zhang", "analyst"), ("li", "viewer"), ("wang", "analyst"), ("locky", "analyst")):
        store.add_user(name, PASSWORD, role, HOME)
    store.add_user("zhao", PASSWORD, "analyst", HOME)
    return str(path)


@pytest.fixture(scope="module")
def store(accounts_file) -> Accounts:
    return Accounts(accounts_file)


@pytest.fixture(scope="module")
def server_url(demo_db, streamlit_server, accounts_file) -> str:
    return streamlit_server(
        demo_db, env={"YIPING_ACCOUNTS": accounts_file, "YIPING_REFRESH_SECONDS": str(REFRESH_SECONDS)}
    )


def settle(page) -> None:
    """Until Streamlit has stopped running the script."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        '!document.querySelector(\'[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]\')',
        timeout=30_000,
    )


def sign_in_form_shown(page, timeout: float = 20_000) -> None:
    page.get_by_label("用户名").wait_for(timeout=timeout)
    page.get_by_label("密码").wait_for(timeout=timeout)


def sign_in(page, server_url: str, name: str, password: str = PASSWORD, path: str = "/") -> None:
    page.goto(server_url + path)
    sign_in_form_shown(page)
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def wait_for_figures(page) -> None:
    page.wait_for_selector(METRIC, timeout=30_000)
    settle(page)


def figures(page) -> int:
    return page.locator(METRIC).count()


def audit(store: Accounts, action: str, **match: str) -> list[dict]:
    return [
        row
        for row in store.audit_rows()
        if row["action"] == action and all(str(row[k]).startswith(v) for k, v in match.items())
    ]


@pytest.mark.parametrize(
    "path",
    ["/", f"/?region={HOME}", "/population", "/events?region=500153", "/report", "/audit", "/?kiosk=1"],
)
def test_no_figure_before_sign_in(path, server_url, page):
    page.goto(server_url + path)
    sign_in_form_shown(page)
    settle(page)
    assert figures(page) == 0
    assert page.locator('[data-testid="stDeckGlJsonChart"], [data-testid="stPlotlyChart"]').count() == 0
    assert page.locator('[data-testid="stDataFrame"]').count() == 0
    assert page.get_by_role("button", name="登录").is_visible()


def test_wrong_password_is_refused_without_saying_whether_the_name_exists(server_url, page, store):
    sign_in(page, server_url, "zhang", "not-the-password")
    sign_in_form_shown(page)
    known = page.get_by_role("alert").inner_text()
    assert figures(page) == 0
    sign_in(page, server_url, "nobody-by-this-name", "not-the-password")
    sign_in_form_shown(page)
    assert page.get_by_role("alert").inner_text() == known == t("sign_in_failed")
    assert audit(store, "sign_in_failed", target="zhang")
    assert audit(store, "sign_in_failed", target="nobody-by-this-name")


def test_five_failures_lock_the_account_whatever_the_next_password(server_url, page, store):
    for _ in range(5):
        sign_in(page, server_url, "locky", "guess-" + "x" * 8)
    sign_in(page, server_url, "locky", PASSWORD)
    sign_in_form_shown(page)
    settle(page)
    assert figures(page) == 0
    assert page.get_by_role("alert").inner_text() == t("sign_in_failed")
    assert audit(store, "lock", target="locky") or audit(store, "lock", account="locky")
    assert [r for r in store.audit_rows() if r["action"] == "sign_in_failed" and r["outcome"] == "locked"]


def test_a_session_survives_reload_and_new_tab_and_no_script_can_read_it(server_url, page, context, store):
    sign_in(page, server_url, "zhang", path=f"/?region={HOME}")
    wait_for_figures(page)
    assert "region=" + HOME in page.url
    cookie = next(c for c in context.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert SESSION_COOKIE not in page.evaluate("document.cookie")
    page.reload()
    wait_for_figures(page)
    other = context.new_page()
    other.goto(server_url + "/population")
    wait_for_figures(other)
    assert audit(store, "sign_in", account="zhang")
    assert audit(store, "page_view", account="zhang", target="overview:" + HOME)


def test_sign_out_ends_the_session_everywhere_and_a_replayed_cookie_is_refused(server_url, browser, store):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    first, second = context.new_page(), context.new_page()
    sign_in(first, server_url, "zhao")
    wait_for_figures(first)
    stolen = next(c for c in context.cookies() if c["name"] == SESSION_COOKIE)
    second.goto(server_url + "/")
    wait_for_figures(second)
    first.get_by_role("button", name=t("sign_out")).click()
    sign_in_form_shown(first)
    second.bring_to_front()
    # The other tab loses its figures at its next refresh, without a click.
    sign_in_form_shown(second, timeout=(REFRESH_SECONDS + 30) * 1000)
    assert figures(second) == 0
    # The session id copied before sign-out opens nothing afterwards.
    replay = browser.new_context()
    replay.add_cookies([stolen])
    thief = replay.new_page()
    thief.goto(server_url + "/")
    sign_in_form_shown(thief)
    assert figures(thief) == 0
    assert audit(store, "sign_out", account="zhao")
    context.close()
    replay.close()


def test_disabling_or_a_new_password_ends_the_session_at_once(server_url, page, store):
    sign_in(page, server_url, "wang")
    wait_for_figures(page)
    page.bring_to_front()
    store.set_enabled("wang", False, by="admin")
    sign_in_form_shown(page, timeout=(REFRESH_SECONDS + 30) * 1000)
    # and stays: a timer's tick queued before the session ended must not draw over the form
    page.wait_for_timeout(2 * REFRESH_SECONDS * 1000)
    settle(page)
    sign_in_form_shown(page, timeout=1_000)
    store.set_enabled("wang", True, by="admin")
    sign_in(page, server_url, "wang")
    wait_for_figures(page)
    page.bring_to_front()
    store.set_password("wang", PASSWORD + "-new", by="admin")
    sign_in_form_shown(page, timeout=(REFRESH_SECONDS + 30) * 1000)
    sign_in(page, server_url, "wang", PASSWORD)
    assert page.get_by_role("alert").inner_text() == t("sign_in_failed")
    assert audit(store, "account_disable", target="wang") and audit(store, "account_passwd", target="wang")


@pytest.mark.parametrize("path", ["/", "/population", "/housing", "/events", "/economy", "/report"])
def test_a_scoped_analyst_editing_the_url_sees_nothing_of_another_region(path, demo_db, server_url, page):
    sign_in(page, server_url, "zhang")
    wait_for_figures(page)
    page.goto(f"{server_url}{path}?region={ELSEWHERE}")
    page.get_by_text(t("not_authorised")).first.wait_for(timeout=30_000)
    settle(page)
    assert figures(page) == 0
    assert page.locator('[data-testid="stDownloadButton"]').count() == 0
    body = page.inner_text("body")
    assert queries.region(demo_db, ELSEWHERE)["name"] not in body


def test_a_district_official_drills_from_their_district_and_climbs_no_higher(server_url, page):
    sign_in(page, server_url, "zhang", path="/")
    wait_for_figures(page)
    # Opened without a region, the page shows the scope's region, not the city.
    assert "region=" + HOME in page.url
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "街镇" in sidebar and "区县" not in sidebar
    # The breadcrumb starts at the scope: no way up to the city.
    assert page.get_by_role("button", name="重庆市").count() == 0


def test_a_viewer_has_no_download_and_no_route_to_reports(server_url, page):
    sign_in(page, server_url, "li", path=f"/?region={HOME}")
    wait_for_figures(page)
    assert page.locator('[data-testid="stDownloadButton"], [data-testid="stPopover"]').count() == 0
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert t("report_page") not in nav and t("audit_page") not in nav
    page.goto(server_url + "/report")
    settle(page)
    assert page.locator('[data-testid="stDownloadButton"]').count() == 0
    assert page.get_by_role("button", name=re.compile("PDF")).count() == 0


def test_an_analyst_download_is_in_the_audit_log_and_its_link_is_no_use_to_others(
    server_url, page, browser, store
):
    sign_in(page, server_url, "zhang", path=f"/?region={HOME}")
    wait_for_figures(page)
    page.locator('[data-testid="stPopover"]').first.locator("button").click(timeout=30_000)
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name=t("download_csv")).click()
    assert download.value.suggested_filename
    page.wait_for_timeout(500)
    assert audit(store, "download", account="zhang")
    # The file's link, copied to a browser without a session, opens nothing.
    link = download.value.url
    assert "/media/" in link
    # (Streamlit may drop the file at the page's next run: the stranger's 403 comes before that check.)
    stranger = browser.new_context()
    assert stranger.request.get(link).status == 403
    # Nor does a made-up single sign-on cookie.
    host = link.split("/")[2].split(":")[0]
    stranger.add_cookies([{"name": "_streamlit_user", "value": "forged", "domain": host, "path": "/"}])
    assert stranger.request.get(link).status == 403
    stranger.close()


def test_a_display_token_signs_the_wall_in_once_and_revoking_it_ends_the_display(server_url, browser, store):
    token = store.add_display("wall-yuzhong", HOME, by="admin")
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    wall = context.new_page()
    wall.goto(f"{server_url}/?kiosk=1&display={token}")
    wait_for_figures(wall)
    assert "display=" not in wall.url and token not in wall.url
    assert "kiosk=1" in wall.url
    assert audit(store, "display_sign_in", account="wall-yuzhong")
    store.revoke_display("wall-yuzhong", by="admin")
    wall.bring_to_front()  # the page's refresh timer runs in the browser: keep it unthrottled
    sign_in_form_shown(wall, timeout=(REFRESH_SECONDS + 30) * 1000)
    assert figures(wall) == 0
    # The same token, replayed, opens nothing.
    wall.goto(f"{server_url}/?kiosk=1&display={token}")
    sign_in_form_shown(wall)
    assert wall.get_by_role("alert").inner_text() == t("display_failed")
    assert token not in wall.url
    context.close()


def test_the_admin_reads_the_audit_log(server_url, page, store):
    sign_in(page, server_url, "admin")
    wait_for_figures(page)
    page.goto(server_url + "/audit")
    page.get_by_text(t("audit_rows")).wait_for(timeout=30_000)
    page.locator('[data-testid="stDataFrame"]').wait_for(timeout=30_000)
    settle(page)
    assert page.get_by_role("button", name=t("audit_download")).count() == 1


def test_the_accounts_file_holds_no_clear_password_or_session(accounts_file, context):
    raw = b"".join(
        open(path, "rb").read()
        for path in (accounts_file, accounts_file + "-wal")
        if __import__("os").path.exists(path)
    )
    assert PASSWORD.encode() not in raw
    for cookie in context.cookies():
        assert cookie["value"].encode() not in raw


def test_real_data_without_accounts_shows_how_to_create_the_first_admin(
    small_real_db, streamlit_server, page
):
    base = streamlit_server(small_real_db)
    page.goto(base + "/")
    page.get_by_text(t("first_admin_title")).wait_for(timeout=30_000)
    settle(page)
    assert figures(page) == 0
    assert "users add admin --role admin" in page.inner_text("body")


def test_the_demo_without_accounts_is_open_and_says_so(demo_db, streamlit_server, page):
    base = streamlit_server(demo_db)
    page.goto(base + "/")
    wait_for_figures(page)
    assert page.get_by_text(t("login_disabled")).count() >= 1


# --- single sign-on against a real OpenID Connect provider -----------------------------------------


@pytest.fixture(scope="module")
def sso(tmp_path_factory, demo_db, streamlit_server):
    """A provider process, and a dashboard whose `[auth]` points at it, with one mapped account."""
    from oidc import oidc_provider, secrets_env, write_secrets

    folder = tmp_path_factory.mktemp("sso")
    accounts = folder / "accounts.sqlite"
    Accounts(accounts).add_user("sso.analyst@cq.example", PASSWORD, "analyst", HOME)
    with oidc_provider(folder) as provider:
        secrets = write_secrets(folder, provider)
        base = streamlit_server(demo_db, env={"YIPING_ACCOUNTS": str(accounts), **secrets_env(secrets)})
        yield base, Accounts(accounts)


def test_single_sign_on_signs_in_a_mapped_identity(sso, page):
    from oidc import sign_in_with_oidc

    base, store = sso
    page.goto(base + "/")
    sign_in_form_shown(page)
    page.get_by_role("button", name=t("sign_in_sso")).wait_for(timeout=20_000)
    sign_in_with_oidc(page, base, "SSO.Analyst@cq.example")
    wait_for_figures(page)
    assert audit(store, "sign_in", account="sso.analyst@cq.example", target="oidc")
    # Its downloads are served to it: Streamlit's signed identity names an enabled account.
    page.locator('[data-testid="stPopover"]').first.locator("button").click(timeout=30_000)
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name=t("download_csv")).click()
    assert page.request.get(download.value.url).status != 403
    page.goto(f"{base}/?region={ELSEWHERE}")
    page.get_by_text(t("not_authorised")).first.wait_for(timeout=30_000)
    settle(page)
    assert figures(page) == 0


def test_single_sign_on_refuses_an_identity_without_an_account(sso, page):
    from oidc import sign_in_with_oidc

    base, store = sso
    page.goto(base + "/")
    sign_in_with_oidc(page, base, "stranger@elsewhere.example")
    page.get_by_text(t("no_account_for_identity")).wait_for(timeout=30_000)
    settle(page)
    assert figures(page) == 0
    assert len(audit(store, "sign_in_failed", target="stranger@elsewhere.example")) == 1


def test_uploads_are_refused_to_all_but_a_city_steward(server_url, browser, store):
    """Streamlit hands upload addresses to any session: the server itself refuses the files."""
    stranger = browser.new_context()
    assert stranger.request.put(server_url + "/_stcore/upload_file/session/file", multipart={}).status == 403
    stranger.close()
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server_url, "zhang")  # an analyst
    wait_for_figures(page)
    assert context.request.put(server_url + "/_stcore/upload_file/session/file", multipart={}).status == 403
    context.close()


def test_a_display_link_does_not_replace_a_signed_in_session(server_url, page, context, store):
    token = store.add_display("wall-link", ELSEWHERE, by="admin")
    sign_in(page, server_url, "zhang")
    wait_for_figures(page)
    page.goto(f"{server_url}/?display={token}")
    wait_for_figures(page)
    assert token not in page.url
    assert "zhang" in page.locator('[data-testid="stSidebar"]').inner_text()
    assert not audit(store, "display_sign_in", account="wall-link")

"""A real OpenID Connect provider for the single sign-on tests, and the browser's part of signing in."""

# The provider issues `sub` and `email` (the subject itself unless other claims were set), signs its
# ID tokens with RS256 and accepts any client id and secret, so a test registers nothing first.
# Streamlit reads `[auth]` from the file `secrets_env()` names (its `secrets.files` option) instead of
# the project's own secrets, and asks the provider for its endpoints only when 统一身份认证 is clicked.

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from bench import server

SIGN_IN_LABEL = "统一身份认证"
CLIENT_ID = "yiping-tests"
CLIENT_SECRET = "yiping-tests-secret"
START_TIMEOUT_S = 30
BROWSER_TIMEOUT_MS = 30_000
SECRETS_FILES_ENV = "STREAMLIT_SECRETS_FILES"
# Streamlit puts its own server.port in place of {port}, so the file can be written before the
# server has picked its port.
ANY_LOCAL_PORT = "http://127.0.0.1:{port}"
# The provider's pages link their stylesheet from a CDN; the tests stay offline and the page does
# not wait on it.
PROVIDER_CDN = re.compile(r"^https://cdn\.jsdelivr\.net/")


@dataclass(frozen=True)
class Provider:
    """A running provider: its base URL (also the issuer) and its log."""

    url: str
    log_path: Path

    @property
    def metadata_url(self) -> str:
        """The discovery document Streamlit reads the endpoints and keys from."""
        return f"{self.url}/.well-known/openid-configuration"


def _answers(provider_url: str) -> bool:
    try:
        with urllib.request.urlopen(
            f"{provider_url}/.well-known/openid-configuration", timeout=2
        ) as response:
            return response.status == 200 and json.load(response).get("issuer") == provider_url
    except (OSError, ValueError):
        return False


@contextmanager
def oidc_provider(log_dir: Path, timeout_s: float = START_TIMEOUT_S) -> Iterator[Provider]:
    """The provider, once it serves its discovery document; stopped on leaving the block."""
    port = server.free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = Path(log_dir) / f"oidc-provider-{port}.log"
    command = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        # Own process group, so that bench.server.stop() ends it the way it ends a Streamlit server.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise server.ServerError(
                    f"oidc-provider-mock did not serve {url}/.well-known/openid-configuration "
                    f"(exit code {process.poll()}):\n{tail}"
                )
            time.sleep(0.1)
        yield Provider(url, log_path)
    finally:
        server.stop(process)


def write_secrets(folder: Path, provider: Provider, base_url: str = ANY_LOCAL_PORT) -> Path:
    """A secrets.toml in `folder` whose `[auth]` signs in to `provider` and returns to `base_url`."""
    # The browser must open the app at this very host: the sign-in state travels in a cookie that
    # 127.0.0.1 and localhost do not share.
    auth = {
        "redirect_uri": f"{base_url.rstrip('/')}/oauth2callback",
        "cookie_secret": secrets.token_hex(32),
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "server_metadata_url": provider.metadata_url,
    }
    path = Path(folder) / "secrets.toml"
    # A JSON string is a valid TOML basic string.
    path.write_text("[auth]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in auth.items()))
    return path


def _at(url: str, base_url: str) -> bool:
    return url == base_url or url.startswith((f"{base_url}/", f"{base_url}?"))


def secrets_env(secrets_path: Path) -> dict[str, str]:
    """The environment that makes `streamlit run` read this secrets file and no other."""
    return {SECRETS_FILES_ENV: str(Path(secrets_path).resolve())}


def sign_in_with_oidc(page, base_url: str, identity: str | Mapping[str, object]) -> dict[str, object]:
    """Click 统一身份认证, sign in at the provider as `identity`, wait to be back; the claims it vouches for."""
    # A bare subject is also the e-mail, as the provider has it; other claims must include `sub`.
    claims = {"sub": identity, "email": identity} if isinstance(identity, str) else dict(identity)
    subject = str(claims["sub"])
    base_url = base_url.rstrip("/")
    page.route(PROVIDER_CDN, lambda route: route.abort())
    if not _at(page.url, base_url):
        page.goto(base_url)
    page.get_by_role("button", name=SIGN_IN_LABEL).click(timeout=BROWSER_TIMEOUT_MS)
    page.wait_for_url(
        lambda url: not _at(url, base_url) and "/oauth2/authorize" in url,
        wait_until="domcontentloaded",
        timeout=BROWSER_TIMEOUT_MS,
    )
    # A redirect_uri on another host than the page's would lose the sign-in state on the way back.
    redirect_uri = parse_qs(urlsplit(page.url).query).get("redirect_uri", [""])[0]
    assert _at(redirect_uri, base_url), (
        f"the app asks the provider to return to {redirect_uri}, not to {base_url}"
    )
    if claims != {"sub": subject, "email": subject}:
        # Other claims than its default are set on the provider before its form is answered.
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
        response = page.request.put(
            f"{origin}/users/{quote(subject, safe='')}",
            data={key: value for key, value in claims.items() if key != "sub"},
            timeout=BROWSER_TIMEOUT_MS,
        )
        assert response.ok, (
            f"the provider refused the claims of {subject}: {response.status} {response.text()}"
        )
    page.locator('input[name="sub"]').fill(subject)
    page.get_by_role("button", name="Authorize", exact=True).click()
    # Streamlit's callback sets the identity cookie and sends the browser on to the app.
    page.wait_for_url(
        lambda url: _at(url, base_url) and "/oauth2callback" not in url,
        wait_until="domcontentloaded",
        timeout=BROWSER_TIMEOUT_MS,
    )
    return claims


def finish_sign_out(page, base_url: str) -> None:
    """After the app's `st.logout()`: confirm at the provider's end-session page and wait to be back."""
    base_url = base_url.rstrip("/")
    page.route(PROVIDER_CDN, lambda route: route.abort())
    page.wait_for_url(
        lambda url: "/oauth2/end_session" in url, wait_until="domcontentloaded", timeout=BROWSER_TIMEOUT_MS
    )
    page.get_by_role("button", name="End session", exact=True).click()
    # The provider returns to /oauth2callback, which finds no sign-in under way and sends the
    # browser on to the app.
    page.wait_for_url(
        lambda url: _at(url, base_url) and "/oauth2callback" not in url,
        wait_until="domcontentloaded",
        timeout=BROWSER_TIMEOUT_MS,
    )

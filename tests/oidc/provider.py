"""The real OpenID Connect provider of the tests (LemonLDAP::NG, started by scripts/oidc.sh)
and what a person or a client does with it: sign in through its login form, get tokens."""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import httpx

REPO = Path(__file__).resolve().parents[2]
OIDC_HOME = Path(os.environ.get("GEOTRANQUIL_OIDC_HOME", "/var/lib/geotranquil-oidc"))
ISSUER = f"http://127.0.0.1:{os.environ.get('GEOTRANQUIL_OIDC_PORT', '8480')}"
#: the port the provider lets geotranquil send people back to in the tests (scripts/oidc.sh)
APP_PORT = 8481


@dataclass(frozen=True)
class ProviderInfo:
    issuer: str
    client_id: str
    client_secret: str

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/oauth2/token"


def _ready() -> bool:
    try:
        response = httpx.get(f"{ISSUER}/.well-known/openid-configuration", timeout=5)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.json().get("issuer") == ISSUER


def start_provider() -> ProviderInfo:
    """The provider, started by ``scripts/oidc.sh`` when it is not answering (idempotent)."""
    env_file = OIDC_HOME / "geotranquil.env"
    if not (_ready() and env_file.is_file()):
        done = subprocess.run(
            ["bash", str(REPO / "scripts" / "oidc.sh")],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0 or not _ready():
            raise RuntimeError(
                f"scripts/oidc.sh did not start the provider:\n{done.stdout}\n{done.stderr}"
            )
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    return ProviderInfo(
        issuer=values["GEOTRANQUIL_OIDC_ISSUER"],
        client_id=values["GEOTRANQUIL_OIDC_CLIENT_ID"],
        client_secret=values["GEOTRANQUIL_OIDC_CLIENT_SECRET"],
    )


def password_token(provider: ProviderInfo, user: str, *, client_id: str | None = None) -> dict:
    """Tokens the provider issues for ``user`` (password = login in its Demo directory)."""
    response = httpx.post(
        provider.token_url,
        auth=(client_id or provider.client_id, provider.client_secret),
        data={
            "grant_type": "password",
            "username": user,
            "password": user,
            "scope": "openid profile email groups",
        },
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def _inputs(form: str) -> dict[str, str]:
    out = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="checkbox"' not in tag:
            out[name.group(1)] = unescape(value.group(1)) if value else ""
    return out


def sign_in(client: httpx.Client, start_url: str, user: str, *, password: str | None = None):
    """Follow geotranquil's sign-in to the provider, fill in its login form as a person would,
    and follow the redirects back; returns the last response (the page signed in, or not)."""
    response = client.get(start_url)
    posted = False
    for _ in range(20):
        if response.is_redirect:
            response = client.get(urljoin(str(response.url), response.headers["location"]))
            continue
        form = re.search(r'<form[^>]*id="lform".*?</form>', response.text, re.S)
        if form is None or posted:  # signed in, or the provider refused the password
            return response
        posted = True
        fields = _inputs(form.group(0))
        fields.update(user=user, password=password if password is not None else user)
        response = client.post(str(response.url), data=fields)
    raise AssertionError("too many redirects during the sign-in")


def wait_until(condition, timeout: float = 30.0, step: float = 0.1) -> None:
    """Wait until ``condition()`` is true (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(step)

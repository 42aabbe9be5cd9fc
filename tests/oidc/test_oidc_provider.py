"""scripts/oidc.sh is idempotent: run again on a running provider, it changes nothing."""

from __future__ import annotations

import subprocess

import httpx

from tests.oidc.provider import OIDC_HOME, REPO, ProviderInfo


def _state() -> dict[str, str]:
    files = ("run/llng-fastcgi.pid", "run/nginx.pid", "client.secret", "signing.kid")
    out = {name: (OIDC_HOME / name).read_text().strip() for name in files}
    out["conf"] = (OIDC_HOME / "conf" / "lmConf-1.json").read_text()
    return out


def test_running_the_script_again_changes_nothing(provider: ProviderInfo) -> None:
    before = _state()
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "oidc.sh")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "fournisseur OpenID Connect prêt" in done.stdout
    assert "démarrage" not in done.stdout  # nothing was (re)started
    assert _state() == before
    assert provider.client_secret == before["client.secret"]


def test_the_provider_publishes_the_generated_key(provider: ProviderInfo) -> None:
    metadata = httpx.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=10).json()
    assert metadata["issuer"] == provider.issuer
    assert "S256" in metadata["code_challenge_methods_supported"]
    keys = httpx.get(metadata["jwks_uri"], timeout=10).json()["keys"]
    assert [k["kid"] for k in keys] == [(OIDC_HOME / "signing.kid").read_text().strip()]
    assert keys[0]["kty"] == "RSA"

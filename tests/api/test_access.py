"""Access roles: every endpoint declares its access, and every role is tried on every endpoint.

The walk reads the OpenAPI document (what the application really routes), fills each path's
parameters with sample values (every collection for the per-collection routes), and checks
that each role gets in exactly where its access allows: 401 for the anonymous public, 403 for
a key of the wrong role, anything but 401/403/5xx otherwise.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from geotranquil.errors import NotAuthenticated
from geotranquil.features.catalogue import load_catalogue
from geotranquil.roles import (
    ADMINISTRATION,
    AGGREGATES,
    ALERTS,
    BULLETINS,
    EVERYONE,
    INGESTION,
    RAW_EVENTS,
    REPORTING,
    RESIDENT_REPORTS,
    Access,
    Role,
)
from geotranquil.services.access import KeyResolver
from tests.api.conftest import headers_for
from tests.api.served import Served

ACCESS_BY_NAME = {
    a.name: a
    for a in (
        EVERYONE,
        AGGREGATES,
        RAW_EVENTS,
        INGESTION,
        ADMINISTRATION,
        REPORTING,
        RESIDENT_REPORTS,
        BULLETINS,
        ALERTS,
    )
}
ROLES = [r.value for r in Role]
# rue de Rome at zoom 13 (x, y) and the same tile in OGC order (row = y, col = x)
TILE = {
    "z": "13",
    "x": "4218",
    "y": "3000",
    "tileMatrix": "13",
    "tileRow": "3000",
    "tileCol": "4218",
}
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[5.37, 43.29], [5.39, 43.29], [5.39, 43.30], [5.37, 43.30], [5.37, 43.29]]],
}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/reports"): {"geometry": SQUARE, "start": "2025-01-06", "end": "2025-07-06"},
    ("post", "/zones"): {"name": "zone du test d'accès", "geometry": SQUARE},
}


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_every_operation_declares_its_access(http: httpx.Client) -> None:
    spec = http.get("/api").json()
    missing = [f"{m.upper()} {p}" for m, p, op in _operations(spec) if "x-access" not in op]
    unknown = [
        f"{m.upper()} {p}: {op['x-access']}"
        for m, p, op in _operations(spec)
        if op.get("x-access") not in ACCESS_BY_NAME and "x-access" in op
    ]
    assert missing == [] and unknown == []
    assert len(_operations(spec)) >= 20


def _urls(path: str, collection_ids: list[str]) -> list[tuple[str, str | None]]:
    """Concrete URLs for a templated path, with the collection each one reads (if any)."""
    names = re.findall(r"{(\w+)}", path)
    if "collection_id" in names or "layer" in names:
        key = "collection_id" if "collection_id" in names else "layer"
        ids = collection_ids + (["basemap"] if key == "layer" else [])
        out = []
        for cid in ids:
            url = path.replace("{" + key + "}", cid)
            for name in names:
                url = url.replace("{" + name + "}", TILE.get(name, "999999"))
            out.append((url, None if cid == "basemap" else cid))
        return out
    url = path
    for name in names:
        url = url.replace("{" + name + "}", TILE.get(name, "999999"))
    return [(url, None)]


def _expected_ok(access: Access, role: str) -> bool:
    return access.allows(Role(role))


@pytest.mark.parametrize("role", ROLES)
def test_each_role_on_each_endpoint(
    role: str,
    http: httpx.Client,
    served: Served,
    loaded_engine: Engine,
    api_keys: dict[str, str],
) -> None:
    spec = http.get("/api").json()
    with loaded_engine.connect() as conn:
        catalogue = load_catalogue(conn=conn)
    ids = [*catalogue.collections, f"run-{served.gi_run}"]
    headers = headers_for(role, api_keys)
    wrong: list[str] = []
    tried = 0
    for method, path, op in _operations(spec):
        route_access = ACCESS_BY_NAME[op["x-access"]]
        for url, cid in _urls(path, ids):
            access = route_access
            if cid is not None and op.get("x-access-per-collection"):
                access = (
                    catalogue.collections[cid].access
                    if cid in catalogue.collections
                    else (AGGREGATES)
                )
            body = BODIES.get((method, path))
            response = http.request(method.upper(), url, headers=headers, json=body)
            tried += 1
            status = response.status_code
            if status >= 500:
                wrong.append(f"{method.upper()} {url}: {status} {response.text[:200]}")
            elif _expected_ok(access, role):
                if status in (401, 403):
                    wrong.append(f"{method.upper()} {url}: refused ({status}) to {role}")
            elif status != (401 if role == "public" else 403):
                wrong.append(f"{method.upper()} {url}: {status} for {role}, expected a refusal")
    with loaded_engine.begin() as conn:
        conn.execute(
            text("DELETE FROM areas WHERE kind = 'zone' AND name = :n"),
            {"n": "zone du test d'accès"},
        )
    assert wrong == []
    assert tried > 100


def test_an_unknown_or_revoked_key_is_401(http: httpx.Client, loaded_engine: Engine) -> None:
    from geotranquil.db.keys import create_key, revoke_key

    assert http.get("/collections", headers={"X-API-Key": "gtq_nope"}).status_code == 401
    with loaded_engine.begin() as conn:
        key, info = create_key(conn=conn, name="to revoke", role="analyst")
    assert http.get("/collections/events", headers={"X-API-Key": key}).status_code == 200
    with loaded_engine.begin() as conn:
        revoke_key(conn=conn, key_id=info.id)
    # a running server trusts a resolved key for 30 s; a new resolver refuses it at once
    with pytest.raises(NotAuthenticated, match="révoquée"):
        KeyResolver(loaded_engine).caller(key)


def test_keys_are_stored_hashed(loaded_engine: Engine, api_keys: dict[str, str]) -> None:
    with loaded_engine.connect() as conn:
        stored = " ".join(
            str(v) for row in conn.execute(text("SELECT * FROM api_keys")) for v in row
        )
    assert all(key not in stored for key in api_keys.values())


def test_bearer_and_query_parameter_keys(http: httpx.Client, api_keys: dict[str, str]) -> None:
    bearer = {"Authorization": f"Bearer {api_keys['analyst']}"}
    assert http.get("/collections/events/items?limit=1", headers=bearer).status_code == 200
    assert (
        http.get(f"/collections/events/items?limit=1&api_key={api_keys['analyst']}").status_code
        == 200
    )
    refused = http.get("/collections/events/items?limit=1")
    assert refused.status_code == 401
    assert "X-API-Key" in refused.json()["description"]
    assert refused.headers["WWW-Authenticate"].startswith("ApiKey")

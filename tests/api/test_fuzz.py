"""schemathesis over the whole OpenAPI document, as public, planner and analyst (issue 14 §6).

A bounded run (``FUZZ_EXAMPLES`` valid and as many invalid cases per operation, each sent once
per role) against the real server and database with the served data set: no answer may be a
server error, and every answer must match the document (status, media type, headers, body).
``benchmarks/fuzz_api.py`` runs the same fuzzing longer.
"""

from __future__ import annotations

import httpx
import pytest
from benchmarks.fuzz_api import run_fuzz

from tests.api.served import Served

FUZZ_EXAMPLES = 8


@pytest.mark.timeout(900)
def test_the_whole_api_survives_fuzzing_and_matches_its_document(
    server_url: str, served: Served, api_keys: dict[str, str]
) -> None:
    report = run_fuzz(server_url, api_keys, examples=FUZZ_EXAMPLES)
    shown = "\n".join(
        f"{f.kind} {f.operation} as {f.role}: {f.status}\n  {f.request[:300]}\n  {f.detail[:400]}"
        for f in report.failures[:10]
    )
    assert report.server_errors == 0, shown
    assert report.schema_violations == 0, shown
    documented = httpx.get(f"{server_url}/api").json()
    operations = sum(
        1
        for methods in documented["paths"].values()
        for m in methods
        if m in ("get", "post", "patch", "delete", "put")
    )
    assert report.operations == operations >= 40
    assert report.cases >= operations * FUZZ_EXAMPLES  # every operation, positive cases at least
    assert report.requests + report.too_long_for_http == 3 * report.cases
    # the fuzzing reached the application, not only its error paths
    assert report.statuses[200] > 100 and report.statuses[400] > 100


def test_limit_is_advertised_with_its_default_and_maximum(server_url: str, served: Served) -> None:
    """GDAL's OAPIF driver sizes its pages from the document's ``limit``."""
    document = httpx.get(f"{server_url}/api").json()
    parameters = document["paths"]["/collections/{collection_id}/items"]["get"]["parameters"]
    by_name = {p["name"]: p for p in parameters}
    assert by_name["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 10_000,
        "default": 100,
    }
    assert by_name["offset"]["schema"]["maximum"] == 1_000_000_000
    expected = {
        "limit",
        "offset",
        "after",
        "bbox",
        "bbox-crs",
        "datetime",
        "filter",
        "filter-lang",
        "filter-crs",
        "sortby",
        "properties",
        "crs",
        "f",
        "categories",
        "collection_id",
    }
    assert set(by_name) == expected
    responses = document["paths"]["/collections/{collection_id}/items"]["get"]["responses"]
    assert {"200", "400", "401", "403", "404", "503"} <= set(responses)
    error = responses["400"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
    assert document["components"]["schemas"]["Error"]["required"] == ["code", "description"]
    open311 = document["paths"]["/open311/v2/requests.{fmt}"]["post"]["responses"]
    assert {"201", "400", "401", "403", "404", "413", "429"} <= set(open311)
    assert open311["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Open311Errors"
    }

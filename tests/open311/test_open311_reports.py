"""Duplicates, the staff workflow seen by the resident, photos without metadata, rate limits,
and the purge of personal data."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from PIL import Image
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from geotranquil.cli.main import app as cli
from geotranquil.config import Settings
from tests.live_server import live_server
from tests.open311.conftest import (
    BASE,
    Places,
    as_role,
    file_report,
    jpeg_with_gps,
)

METRES_PER_DEGREE_LAT = 111_195.0


def _north(lat: float, metres: float) -> float:
    return round(lat + metres / METRES_PER_DEGREE_LAT, 7)


def _sid(response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    return str(response.json()[0]["service_request_id"])


def test_a_report_near_an_open_one_is_linked_as_duplicate(
    client: httpx.Client, keys: dict[str, str], places: Places
) -> None:
    lon, lat = places.next()
    first = _sid(
        file_report(client, keys["partner"], service_code="depot_sauvage", lat=lat, long=lon)
    )
    near = file_report(
        client, keys["partner"], service_code="depot_sauvage", lat=_north(lat, 30), long=lon
    )
    assert near.json()[0]["duplicate_of"] == first
    assert first in near.json()[0]["service_notice"]
    third = file_report(
        client, keys["partner"], service_code="depot_sauvage", lat=_north(lat, 40), long=lon
    )
    assert third.json()[0]["duplicate_of"] == first  # linked to the original, not the duplicate
    other_service = file_report(
        client, keys["partner"], service_code="tag_graffiti", lat=_north(lat, 10), long=lon
    )
    assert other_service.json()[0]["duplicate_of"] is None
    far = file_report(  # far enough that the public's 50 m squares keep it out of 60 m
        client, keys["partner"], service_code="depot_sauvage", lat=_north(lat, -200), long=lon
    )
    assert far.json()[0]["duplicate_of"] is None
    shown = client.get(f"{BASE}/requests/{_sid(near)}.json").json()[0]
    assert shown["duplicate_of"] == first

    nearby = client.get(
        f"{BASE}/requests.json", params={"lat": lat, "long": lon, "radius": 60}
    ).json()
    ids = [x["service_request_id"] for x in nearby]
    assert first in ids and _sid(near) in ids and _sid(far) not in ids
    assert all(x["status"] == "open" for x in nearby)
    assert not any({"email", "first_name", "last_name", "phone", "token"} & set(x) for x in nearby)


def test_a_report_after_48_hours_or_once_closed_is_not_a_duplicate(
    client: httpx.Client, keys: dict[str, str], places: Places, loaded_engine: Engine
) -> None:
    lon, lat = places.next()
    first = _sid(
        file_report(client, keys["partner"], service_code="nuisance_sonore", lat=lat, long=lon)
    )
    with loaded_engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE service_requests SET requested_at = now() - interval '49 hours' "
                "WHERE service_request_id = :s"
            ),
            {"s": first},
        )
    late = file_report(client, keys["partner"], service_code="nuisance_sonore", lat=lat, long=lon)
    assert late.json()[0]["duplicate_of"] is None
    patched = client.patch(
        f"/signalements/{_sid(late)}", json={"state": "resolved"}, headers=as_role("agent", keys)
    )
    assert patched.status_code == 200
    after_close = file_report(
        client, keys["partner"], service_code="nuisance_sonore", lat=lat, long=lon
    )
    assert after_close.json()[0]["duplicate_of"] is None


def test_workflow_changes_are_visible_to_the_resident(
    client: httpx.Client, keys: dict[str, str], places: Places, loaded_engine: Engine
) -> None:
    lon, lat = places.next()
    sid = _sid(
        file_report(
            client,
            keys["partner"],
            service_code="voirie_degradee",
            lat=lat,
            long=lon,
            email="resident@example.org",
        )
    )
    agent = as_role("agent", keys)
    note = "Équipe voirie prévenue, intervention prévue cette semaine."
    r = client.patch(
        f"/signalements/{sid}",
        json={
            "state": "in_progress",
            "notes": note,
            "expected_datetime": "2030-06-01T12:00:00+02:00",
        },
        headers=agent,
    )
    assert r.status_code == 200, r.text
    seen = client.get(f"{BASE}/requests/{sid}.json").json()[0]
    assert seen["status"] == "open" and seen["status_notes"] == note
    assert seen["workflow_state"] == "in_progress"
    assert datetime.fromisoformat(seen["expected_datetime"]) == datetime(2030, 6, 1, 10, tzinfo=UTC)
    done = "Nid-de-poule rebouché."
    r = client.patch(
        f"/signalements/{sid}", json={"state": "resolved", "notes": done}, headers=agent
    )
    seen = client.get(f"{BASE}/requests/{sid}.xml")
    assert "<status>closed</status>" in seen.text and done in seen.text
    staff = client.get(f"/signalements/{sid}", headers=agent).json()
    assert [h["to_state"] for h in staff["history"]] == ["received", "in_progress", "resolved"]
    assert staff["history"][1]["changed_by"] == "test agent"
    assert staff["contact"]["email"] == "resident@example.org"
    # a move the workflow does not allow, and roles that may not move reports
    refused = client.patch(f"/signalements/{sid}", json={"state": "received"}, headers=agent)
    assert refused.status_code == 400
    assert (
        client.patch(
            f"/signalements/{sid}", json={"state": "in_progress"}, headers=as_role("planner", keys)
        ).status_code
        == 403
    )
    assert client.get(f"/signalements/{sid}").status_code == 401


def test_an_abusive_report_leaves_the_analyses_and_its_text_is_hidden(
    client: httpx.Client, keys: dict[str, str], places: Places, loaded_engine: Engine
) -> None:
    lon, lat = places.next()
    sid = _sid(
        file_report(
            client,
            keys["partner"],
            service_code="tag_graffiti",
            lat=lat,
            long=lon,
            description="texte injurieux",
        )
    )
    with loaded_engine.connect() as conn:
        event_id = conn.execute(
            text("SELECT event_id FROM service_requests WHERE service_request_id = :s"), {"s": sid}
        ).scalar_one()
    assert event_id is not None
    r = client.patch(
        f"/signalements/{sid}",
        json={"state": "rejected_abuse", "notes": "Signalement abusif."},
        headers=as_role("analyst", keys),
    )
    assert r.status_code == 200
    seen = client.get(f"{BASE}/requests/{sid}.json").json()[0]
    assert seen["status"] == "closed" and seen["description"] is None
    with loaded_engine.connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM events WHERE id = :e"), {"e": event_id}
        ).scalar_one()
    assert left == 0


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_photos_come_back_re_encoded_without_metadata(
    fmt: str, client: httpx.Client, keys: dict[str, str], places: Places
) -> None:
    original = jpeg_with_gps()
    if fmt != "JPEG":  # the same picture, with its EXIF, in another accepted format
        image = Image.open(io.BytesIO(original))
        out = io.BytesIO()
        image.save(out, format=fmt, exif=image.getexif())
        original = out.getvalue()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # GPS is there
    assert b"MarqueSecreteXYZ" in original
    lon, lat = places.next()
    sid = _sid(
        file_report(
            client,
            keys["partner"],
            files={"media": (f"photo.{fmt.lower()}", original, f"image/{fmt.lower()}")},
            service_code="degradation_bien_public",
            lat=lat,
            long=lon,
        )
    )
    staff = as_role("agent", keys)
    photo = client.get(f"/signalements/{sid}/photo", headers=staff)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(photo.content))
    assert image.size == (640, 480)
    assert dict(image.getexif()) == {} and image.getexif().get_ifd(0x8825) == {}
    assert "exif" not in image.info and "icc_profile" not in image.info
    for secret in (b"MarqueSecreteXYZ", b"LogicielSecretXYZ", b"Exif\x00\x00"):
        assert secret not in photo.content
    assert image.getpixel((2, 100))[2] > 150  # the picture itself survives (a blue stripe)
    assert (
        client.get(f"/signalements/{sid}/photo", headers=as_role("planner", keys)).status_code
        == 403
    )
    assert client.get(f"/signalements/{sid}/photo").status_code == 401
    assert client.get(f"{BASE}/requests/{sid}.json").json()[0]["media_url"] is None


@pytest.fixture
def strict_server(o311_settings: Settings) -> Iterator[str]:
    limited = o311_settings.model_copy(
        update={
            "open311_rate_client_per_minute": 1.0,
            "open311_rate_client_burst": 2,
            "open311_rate_key_per_minute": 1.0,
            "open311_rate_key_burst": 3,
        }
    )
    with live_server(limited) as url:
        yield url


def test_rate_limits_answer_429_with_a_retry_time(
    strict_server: str, keys: dict[str, str], places: Places, loaded_engine: Engine
) -> None:
    lon, lat = places.next()
    fields = {"service_code": "depot_sauvage", "lat": lat, "long": lon, "description": "limite"}
    with httpx.Client(base_url=strict_server, timeout=30) as c:
        statuses = [file_report(c, keys["partner"], **fields).status_code for _ in range(2)]
        refused = file_report(c, keys["partner"], fmt="xml", **fields)
        assert statuses == [201, 201]
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert "<code>429</code>" in refused.text
    # the refused report was not stored
    with loaded_engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT count(*) FROM service_requests WHERE description = 'limite' "
                "AND ST_Y(geom) = :lat"
            ),
            {"lat": lat},
        ).scalar_one()
    assert stored == 2


def test_per_key_buckets_are_separate() -> None:
    from geotranquil.errors import TooManyRequests
    from geotranquil.services.open311_ratelimit import ReportLimits, TokenBuckets

    now = [0.0]
    limits = ReportLimits(
        per_key=TokenBuckets(60.0, 2, clock=lambda: now[0]),
        per_client=TokenBuckets(6000.0, 100, clock=lambda: now[0]),
    )
    limits.check(key_id=1, client="a")
    limits.check(key_id=1, client="b")
    with pytest.raises(TooManyRequests) as refused:
        limits.check(key_id=1, client="c")
    assert refused.value.retry_after == 1
    limits.check(key_id=2, client="c")  # another key has its own bucket
    now[0] += 1.0  # one token back after a second at 60 per minute
    limits.check(key_id=1, client="d")


def test_purge_deletes_personal_data_after_retention(
    client: httpx.Client,
    keys: dict[str, str],
    places: Places,
    loaded_engine: Engine,
    settings: Settings,
) -> None:
    lon, lat = places.next()
    old = _sid(
        file_report(
            client,
            keys["partner"],
            files={"media": ("p.jpg", jpeg_with_gps(), "image/jpeg")},
            service_code="depot_sauvage",
            lat=lat,
            long=lon,
            email="ancien@example.org",
            phone="0611223344",
        )
    )
    lon, lat = places.next()
    recent = _sid(
        file_report(
            client,
            keys["partner"],
            service_code="depot_sauvage",
            lat=lat,
            long=lon,
            email="r@example.org",
        )
    )
    with loaded_engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE service_requests SET requested_at = now() - interval '400 days' "
                "WHERE service_request_id = :s"
            ),
            {"s": old},
        )
    result = CliRunner().invoke(
        cli,
        ["reports", "purge"],
        env={"GEOTRANQUIL_DATABASE_URL": settings.database_url, "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "coordonnée" in result.output
    staff = as_role("admin", keys)
    purged = client.get(f"/signalements/{old}", headers=staff).json()
    assert purged["contact"]["email"] is None and purged["photo"] is None
    assert client.get(f"/signalements/{old}/photo", headers=staff).status_code == 404
    assert client.get(f"{BASE}/requests/{old}.json").status_code == 200  # the report stays
    kept = client.get(f"/signalements/{recent}", headers=staff).json()
    assert kept["contact"]["email"] == "r@example.org"
    with loaded_engine.connect() as conn:
        delete_after = conn.execute(
            text(
                "SELECT c.delete_after - r.requested_at FROM service_request_contacts c "
                "JOIN service_requests r ON r.id = c.request_id WHERE r.service_request_id = :s"
            ),
            {"s": recent},
        ).scalar_one()
    assert delete_after == timedelta(days=365)  # the packaged policy's contact rule

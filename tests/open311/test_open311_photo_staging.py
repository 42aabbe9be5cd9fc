"""A report's photo is committed on its own before the report (so that its megabyte of WAL is
not flushed while other reports wait), then attached: never lost, never left behind, never
stored twice."""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.db import open311 as db
from geotranquil.db.retention import abandoned_photos
from geotranquil.services.open311_media import jpeg_metadata_free
from geotranquil.services.photo_store import PhotoStore, photo_dir
from geotranquil.services.retention import purge
from tests.open311.conftest import BASE, Places, jpeg_with_gps


def _staged(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT id FROM service_request_media WHERE request_id IS NULL ORDER BY id")
            ).scalars()
        )


def _photos_of(engine: Engine, description: str) -> list[tuple[int, datetime, str | None]]:
    with engine.connect() as conn:
        return [
            (r.size, r.delete_after, r.file)
            for r in conn.execute(
                text(
                    "SELECT m.size, m.delete_after, m.file, m.content IS NULL AS no_bytes "
                    "FROM service_request_media m "
                    "JOIN service_requests r ON r.id = m.request_id WHERE r.description = :d"
                ),
                {"d": description},
            )
            if r.no_bytes  # the photo's bytes are in its file, not in the database
        ]


def _files(settings: Settings) -> set[str]:
    root = photo_dir(settings)
    return {f"{p.parent.name}/{p.name}" for p in root.glob("*/*")} if root.is_dir() else set()


def _post(
    client: httpx.Client, key: str, lon: float, lat: float, description: str, **headers: str
) -> httpx.Response:
    return client.post(
        f"{BASE}/requests.json",
        data={
            "api_key": key,
            "service_code": "depot_sauvage",
            "lat": str(lat),
            "long": str(lon),
            "description": description,
        },
        files={"media": ("photo.jpg", jpeg_with_gps(), "image/jpeg")},
        headers=headers,
    )


def test_a_photo_is_attached_to_its_report_and_nothing_stays_staged(
    client: httpx.Client,
    keys: dict[str, str],
    places: Places,
    loaded_engine: Engine,
    o311_settings: Settings,
) -> None:
    before, files = _staged(loaded_engine), _files(o311_settings)
    lon, lat = places.next()
    description = f"Dépôt avec photo {uuid.uuid4().hex[:8]}"
    answer = _post(client, keys["partner"], lon, lat, description)
    assert answer.status_code == 201, answer.text
    photos = _photos_of(loaded_engine, description)
    assert len(photos) == 1 and photos[0][0] > 0
    # the photo's own retention date, not the one hour a staged photo is given
    assert photos[0][1] - datetime.now(UTC) > timedelta(days=1)
    assert _staged(loaded_engine) == before
    # its bytes are one new file, the one its row names, without metadata
    assert _files(o311_settings) - files == {photos[0][2]}
    stored = (photo_dir(o311_settings) / str(photos[0][2])).read_bytes()
    assert len(stored) == photos[0][0] and jpeg_metadata_free(stored)


def test_a_refused_report_leaves_no_photo_behind(
    client: httpx.Client, keys: dict[str, str], loaded_engine: Engine, o311_settings: Settings
) -> None:
    before, files = _staged(loaded_engine), _files(o311_settings)
    with loaded_engine.connect() as conn:
        photos = conn.execute(text("SELECT count(*) FROM service_request_media")).scalar_one()
    answer = _post(client, keys["partner"], 2.3522, 48.8566, "À Paris")  # outside the commune
    assert answer.status_code == 400
    assert "hors de la commune" in answer.text
    assert _staged(loaded_engine) == before
    with loaded_engine.connect() as conn:
        after = conn.execute(text("SELECT count(*) FROM service_request_media")).scalar_one()
    assert after == photos
    assert _files(o311_settings) == files


def test_retries_of_a_report_with_a_photo_store_one_photo(
    keys: dict[str, str], places: Places, loaded_engine: Engine, o311_url: str
) -> None:
    before = _staged(loaded_engine)
    lon, lat = places.next()
    description = f"Dépôt, essais répétés {uuid.uuid4().hex[:8]}"
    key = str(uuid.uuid4())

    def attempt(_: int) -> int:
        with httpx.Client(base_url=o311_url, timeout=60) as c:
            return _post(
                c, keys["partner"], lon, lat, description, **{"Idempotency-Key": key}
            ).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(attempt, range(5))) == [201] * 5
    assert len(_photos_of(loaded_engine, description)) == 1
    assert _staged(loaded_engine) == before


def test_an_abandoned_staged_photo_is_purged_once_due(loaded_engine: Engine) -> None:
    """A photo staged by a server that died before its report committed: the retention purge
    (:func:`geotranquil.services.retention.purge`, photo rules) deletes it at its
    ``delete_after``, not before."""
    now = datetime(2031, 3, 4, 12, 0, tzinfo=UTC)
    media = {"mime_type": "image/jpeg", "size": 3, "width": 1, "height": 1, "content": b"abc"}
    with loaded_engine.begin() as conn:
        due = db.stage_media(conn=conn, media={**media, "delete_after": now})
        later = db.stage_media(
            conn=conn, media={**media, "delete_after": now + timedelta(seconds=1)}
        )
    try:
        with loaded_engine.begin() as conn:
            assert abandoned_photos(conn=conn, now=now, apply=False) == 1
            assert abandoned_photos(conn=conn, now=now, apply=True) == 1
            assert abandoned_photos(conn=conn, now=now, apply=True) == 0
        staged = _staged(loaded_engine)
        assert due not in staged and later in staged
    finally:
        with loaded_engine.begin() as conn:
            db.drop_staged_media(conn=conn, media_id=later)
            db.drop_staged_media(conn=conn, media_id=due)


def test_the_purge_removes_the_files_of_the_photos_it_deletes(
    loaded_engine: Engine, settings: Settings
) -> None:
    """A staged photo whose report never came (its server died) is due after an hour: the
    purge deletes its row, then its file; an orphan file (no row: the server died between
    the file and the row) goes once an hour old; a recent one stays."""
    store = PhotoStore.of(settings)
    abandoned = store.save(b"\xff\xd8 abandoned \xff\xd9")
    orphan_old = store.save(b"\xff\xd8 orphan \xff\xd9")
    orphan_new = store.save(b"\xff\xd8 orphan, recent \xff\xd9")
    hours_ago = time.time() - 2 * 3600
    os.utime(photo_dir(settings) / orphan_old, (hours_ago, hours_ago))
    media = {"mime_type": "image/jpeg", "size": 3, "width": 1, "height": 1}
    with loaded_engine.begin() as conn:
        due = db.stage_media(
            conn=conn,
            media={
                **media,
                "file": abandoned,
                "delete_after": datetime.now(UTC) - timedelta(days=1),
            },
        )
    try:
        purge(loaded_engine, settings, kinds={"photo"})  # today: only what is due today goes
        assert due not in _staged(loaded_engine)
        files = _files(settings)
        assert abandoned not in files and orphan_old not in files and orphan_new in files
    finally:
        with loaded_engine.begin() as conn:
            db.drop_staged_media(conn=conn, media_id=due)
        store.remove([orphan_new])

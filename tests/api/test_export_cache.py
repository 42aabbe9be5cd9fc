"""File exports carry a strong ETag and are kept, so range reads do not run the export again."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from tests.api.conftest import headers_for
from tests.api.served import Served

URL = "/collections/quartiers/export?f=fgb"


def _cached_files(settings: Settings) -> list[str]:
    folder = settings.data_dir / "export-cache"
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_a_file_export_is_served_from_its_cache_by_ranges(
    http: httpx.Client, served: Served, settings: Settings
) -> None:
    whole = http.get(URL)
    assert whole.status_code == 200, whole.text
    etag = whole.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert whole.headers["Accept-Ranges"] == "bytes"
    key = etag.strip('"')
    cached = [name for name in _cached_files(settings) if name.startswith(key)]
    assert len(cached) == 1
    # plant: if the export ran again, these bytes would not come back
    path = settings.data_dir / "export-cache" / cached[0]
    planted = b"fgb" + whole.content[3:]
    path.write_bytes(planted)
    part = http.get(URL, headers={"Range": "bytes=0-7"})
    assert part.status_code == 206
    assert part.content == planted[:8]
    assert part.headers["ETag"] == etag
    assert part.headers["Content-Range"] == f"bytes 0-7/{len(planted)}"
    later = http.get(URL, headers={"Range": "bytes=8-", "If-Range": etag})
    assert later.status_code == 206 and later.content == planted[8:]
    assert http.get(URL, headers={"If-None-Match": etag}).status_code == 304
    path.write_bytes(whole.content)


def test_a_new_data_version_or_another_role_is_another_file(
    http: httpx.Client,
    served: Served,
    settings: Settings,
    api_keys: dict[str, str],
    loaded_engine: Engine,
) -> None:
    first = http.get(URL).headers["ETag"]
    assert http.get(URL).headers["ETag"] == first
    planner = http.get(URL, headers=headers_for("planner", api_keys))
    assert planner.status_code == 200 and planner.headers["ETag"] != first
    assert planner.headers["Cache-Control"].startswith("private")
    with loaded_engine.begin() as conn:  # touch an area: the data version moves
        conn.execute(
            text(
                "UPDATE areas SET name = name WHERE kind = 'quartier' AND id = "
                "(SELECT min(id) FROM areas WHERE kind = 'quartier')"
            )
        )
    assert http.get(URL).headers["ETag"] != first


def test_parquet_pages_of_items_are_cached_too(http: httpx.Client, served: Served) -> None:
    one = http.get("/collections/quartiers/items?f=parquet&limit=5")
    two = http.get("/collections/quartiers/items?f=parquet&limit=5")
    other = http.get("/collections/quartiers/items?f=parquet&limit=5&offset=5")
    assert one.status_code == two.status_code == other.status_code == 200
    assert one.headers["ETag"] == two.headers["ETag"] != other.headers["ETag"]
    assert one.content == two.content

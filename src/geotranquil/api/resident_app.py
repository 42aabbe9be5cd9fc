"""The residents' mobile web app at ``/habitants/``: report, follow, see (French, installable).

The page is plain HTML, CSS and ES modules (``geotranquil/web/habitants``) with a web app
manifest and a service worker (scope ``/habitants/``) that keeps the app usable offline;
MapLibre GL JS is the npm package the web map also uses (``/carte/vendor/``). The app reads
the public API only (Open311 ``GET requests`` for "my reports" and the open reports nearby,
the public counts tiles for the neighbourhood) and files reports through
``POST /habitants/signalements``: the city's own app needs no API key, the per-client rate
limit applies, and the ``Idempotency-Key`` the app sends with every attempt makes a report
queued offline and retried arrive once.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from geotranquil.api.deps import ServicesDep, access
from geotranquil.api.open311 import file_from_form, filed_body, replay_headers
from geotranquil.api.web import basemap_config, page_needing_maplibre, static_file, static_in
from geotranquil.roles import EVERYONE
from geotranquil.services import open311 as svc
from geotranquil.services.retention import resident_retention_days

APP_DIR = Path(__file__).resolve().parents[1] / "web" / "habitants"
BASE = "/habitants"
router = APIRouter(tags=["Application des habitants"])


@router.get(
    f"{BASE}/",
    summary="The residents' app (HTML, French)",
    response_class=HTMLResponse,
    **access(EVERYONE),
)
def page(services: ServicesDep) -> Response:
    return page_needing_maplibre(services.settings, APP_DIR / "index.html")


@router.get(BASE, include_in_schema=False, **access(EVERYONE))
def page_no_slash() -> RedirectResponse:
    return RedirectResponse(f"{BASE}/", status_code=308)


@router.get(f"{BASE}/sw.js", include_in_schema=False, **access(EVERYONE))
def service_worker() -> FileResponse:
    return static_file(APP_DIR / "sw.js", {"Service-Worker-Allowed": f"{BASE}/"})


@router.get(f"{BASE}/manifest.webmanifest", include_in_schema=False, **access(EVERYONE))
def manifest() -> FileResponse:
    return static_file(APP_DIR / "manifest.webmanifest")


@router.get(f"{BASE}/static/{{name}}", include_in_schema=False, **access(EVERYONE))
def static(name: str) -> FileResponse:
    return static_in(APP_DIR, name)


@router.get(f"{BASE}/config.json", summary="Settings of the residents' app", **access(EVERYONE))
def config(services: ServicesDep) -> JSONResponse:
    """What the app shows and checks: the services, the privacy rules, the map's extent."""
    settings = services.settings
    _, catalogue = services.catalogue.get()
    reportable = [
        {
            "service_code": s.code,
            "service_name": s.name,
            "description": s.description,
            "group": s.group,
            "attributes": [
                {
                    "code": a.code,
                    "datatype": a.datatype,
                    "required": a.required,
                    "description": a.description,
                    "values": [{"key": k, "name": n} for k, n in a.values],
                }
                for a in s.attributes
            ],
        }
        for s in svc.services().values()
    ]
    public = [{"code": c.code, "label": c.label} for c in catalogue.categories if c.public]
    return JSONResponse(
        {
            "services": reportable,
            "public_categories": public,
            "bounds": list(catalogue.bbox) if catalogue.bbox else None,
            **basemap_config(services),
            "retention_days": resident_retention_days(settings),
            "photo_max_bytes": settings.open311_photo_max_bytes,
            "description_max": svc.DESCRIPTION_MAX,
            "duplicate_radius_m": settings.open311_duplicate_radius_m,
            "duplicate_hours": settings.open311_duplicate_hours,
            "public_resolution": min(8, settings.public_max_resolution),
            "public_min_count": settings.public_min_count,
            "public_rounding_base": settings.public_rounding_base,
            "public_delay_days": settings.public_delay_days,
            "agency": settings.open311_agency,
        },
        headers={"Cache-Control": "no-cache"},
    )


@router.post(
    f"{BASE}/signalements",
    summary="File a report from the residents' app (multipart, as Open311 POST requests)",
    status_code=201,
    **access(EVERYONE),
)
async def file_report(request: Request, services: ServicesDep) -> JSONResponse:
    filed = await file_from_form(request, services, key_id=None)
    return JSONResponse(filed_body(filed), status_code=201, headers=replay_headers(filed))

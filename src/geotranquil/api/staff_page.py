"""The staff's page at ``/traitement``: residents' reports handled by agents (HTML, French).

Plain HTML, CSS and an ES module (``geotranquil/web/traitement``); it reuses the residents'
app's shared module and MapLibre from ``/carte/vendor/``. The page itself is public; every
call it makes carries the key typed in, and the staff routes check the role
(``/signalements``: agent, analyst, admin).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from geotranquil.api.deps import ServicesDep, access
from geotranquil.api.web import page_needing_maplibre, static_in
from geotranquil.roles import EVERYONE

PAGE_DIR = Path(__file__).resolve().parents[1] / "web" / "traitement"
router = APIRouter(tags=["Traitement des signalements"])


@router.get(
    "/traitement",
    summary="The staff's page for residents' reports (HTML, French)",
    response_class=HTMLResponse,
    **access(EVERYONE),
)
def page(services: ServicesDep) -> Response:
    return page_needing_maplibre(services.settings, PAGE_DIR / "index.html")


@router.get("/traitement/", include_in_schema=False, **access(EVERYONE))
def page_slash() -> RedirectResponse:
    return RedirectResponse("/traitement", status_code=308)


@router.get("/traitement/static/{name}", include_in_schema=False, **access(EVERYONE))
def static(name: str) -> FileResponse:
    return static_in(PAGE_DIR, name)

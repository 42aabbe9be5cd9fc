"""The staff's page at ``/traitement``: residents' reports handled by agents (HTML, French).

Plain HTML, CSS and an ES module (``geotranquil/web/traitement``); it reuses the residents'
app's shared module and MapLibre from ``/carte/vendor/``. The page itself is public; every
call it makes carries the key typed in, and the staff routes check the role
(``/signalements``: agent, analyst, admin).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from geotranquil.api.deps import ServicesDep, access
from geotranquil.api.web import MISSING_VENDOR
from geotranquil.errors import NotFound
from geotranquil.roles import EVERYONE

PAGE_DIR = Path(__file__).resolve().parents[1] / "web" / "traitement"
router = APIRouter(tags=["Traitement des signalements"])
NO_CACHE = {"Cache-Control": "no-cache"}


def _file(path: Path) -> FileResponse:
    media_type = "text/javascript" if path.suffix == ".js" else mimetypes.guess_type(path.name)[0]
    return FileResponse(path, media_type=media_type, headers=NO_CACHE)


@router.get(
    "/traitement",
    summary="The staff's page for residents' reports (HTML, French)",
    response_class=HTMLResponse,
    **access(EVERYONE),
)
def page(services: ServicesDep) -> Response:
    vendor = services.settings.web_vendor_dir
    if not (vendor / "maplibre-gl.js").is_file():
        return HTMLResponse(MISSING_VENDOR.format(path=vendor), status_code=503)
    return _file(PAGE_DIR / "index.html")


@router.get("/traitement/", include_in_schema=False, **access(EVERYONE))
def page_slash() -> RedirectResponse:
    return RedirectResponse("/traitement", status_code=308)


@router.get("/traitement/static/{name}", include_in_schema=False, **access(EVERYONE))
def static(name: str) -> FileResponse:
    path = PAGE_DIR / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise NotFound(f"fichier « {name} » introuvable")
    return _file(path)

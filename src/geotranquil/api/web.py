"""The analysts' and planners' web map at ``/carte``: our page, MapLibre from ``web/``.

The page is plain HTML, CSS and ES modules (``geotranquil/web/static``); MapLibre GL JS is the
npm package installed by ``scripts/setup.sh`` and served from ``/carte/vendor/``. The page reads
only the public HTTP API, with the visitor's API key if they signed in.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from geotranquil.api.deps import CallerDep, Services, ServicesDep, access
from geotranquil.config import Settings
from geotranquil.errors import NotFound
from geotranquil.features.catalogue import RESOLUTIONS
from geotranquil.roles import EVERYONE
from geotranquil.services.basemap import BasemapChecker
from geotranquil.services.features import visible_time_range
from geotranquil.stats.registry import STATISTICS
from geotranquil.tiles.glyphs import glyph_range

STATIC_DIR = Path(__file__).resolve().parents[1] / "web" / "static"
VENDOR_FILES = ("maplibre-gl.js", "maplibre-gl.css", "maplibre-gl.js.map", "LICENSE.txt")
router = APIRouter(tags=["Carte web"])

MISSING_VENDOR = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Carte indisponible — geotranquil</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>Carte indisponible</h1>
<p>La bibliothèque cartographique MapLibre GL JS n'est pas installée sur ce serveur
(dossier attendu : <code>{path}</code>).</p>
<p>Lancez <code>bash scripts/setup.sh</code> (qui exécute <code>npm ci</code> dans
<code>web/</code>), ou indiquez son dossier avec la variable
<code>GEOTRANQUIL_WEB_VENDOR_DIR</code>, puis rechargez la page.</p>
</body></html>
"""

NO_CACHE = {"Cache-Control": "no-cache"}
#: the longest file name a file system holds (ext4, NAME_MAX)
MAX_NAME_BYTES = 255


MEDIA_TYPES = {".js": "text/javascript", ".webmanifest": "application/manifest+json"}


def static_file(path: Path, headers: dict[str, str] | None = None) -> FileResponse:
    """One of our own page files, revalidated on each load (``no-cache``)."""
    media_type = MEDIA_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    return FileResponse(path, media_type=media_type, headers={**NO_CACHE, **(headers or {})})


def static_in(directory: Path, name: str) -> FileResponse:
    """The file ``name`` of a page's folder (no sub-folders, no hidden files), or a 404."""
    if "/" in name or name.startswith(".") or len(name.encode()) > MAX_NAME_BYTES:
        raise NotFound(f"fichier « {name[:80]} » introuvable")
    path = directory / name
    try:
        found = path.is_file()
    except (OSError, ValueError):  # a name the file system cannot hold
        found = False
    if not found:
        raise NotFound(f"fichier « {name[:80]} » introuvable")
    return static_file(path)


def basemap_config(services: Services) -> dict[str, str | None]:
    """The base map the pages may use now (none when it cannot be reached): see
    :mod:`geotranquil.services.basemap`."""
    checker = services.basemap or BasemapChecker(services.settings)
    return checker.current().as_config()


def page_needing_maplibre(settings: Settings, page: Path) -> Response:
    """A page that draws maps, or a 503 saying how to install MapLibre when it is missing."""
    vendor = settings.web_vendor_dir
    if not (vendor / "maplibre-gl.js").is_file():
        return HTMLResponse(MISSING_VENDOR.format(path=vendor), status_code=503)
    return static_file(page)


@router.get(
    "/carte", summary="The web map (HTML, French)", response_class=HTMLResponse, **access(EVERYONE)
)
def page(services: ServicesDep) -> Response:
    return page_needing_maplibre(services.settings, STATIC_DIR / "index.html")


@router.get("/carte/", include_in_schema=False, **access(EVERYONE))
def page_slash() -> RedirectResponse:
    return RedirectResponse("/carte", status_code=308)


@router.get("/carte/config.json", summary="Settings of the web map", **access(EVERYONE))
def config(services: ServicesDep, caller: CallerDep) -> JSONResponse:
    settings = services.settings
    _, catalogue = services.catalogue.get()
    # the public's data stop at the public delay: the latest events' days are not shown either
    first, last = visible_time_range(catalogue.time_range, caller.role, settings)
    zone = ZoneInfo(settings.timezone)
    return JSONResponse(
        {
            **basemap_config(services),
            "bounds": list(catalogue.bbox) if catalogue.bbox else None,
            "time_range": [
                first.astimezone(zone).date().isoformat() if first else None,
                last.astimezone(zone).date().isoformat() if last else None,
            ],
            "resolutions": list(RESOLUTIONS),
            "public_max_resolution": settings.public_max_resolution,
            "timezone": settings.timezone,
            # the statistics' map layers: layer id = collection of the latest run, run kind,
            # French name, how to paint it (palettes.js), whether the run shown follows the
            # chosen time bin (space-time statistics)
            "statistics": [
                {
                    "layer": s.collection,
                    "kind": s.name,
                    "label": s.map_label or s.title,
                    "title": s.title,
                    "style": s.map_style,
                    "follows_bin": s.space_time,
                }
                for s in STATISTICS.values()
                if s.map_style is not None
            ],
        },
        headers=NO_CACHE,
    )


@router.get("/carte/static/{name}", include_in_schema=False, **access(EVERYONE))
def static(name: str) -> FileResponse:
    return static_in(STATIC_DIR, name)


@router.get("/carte/vendor/{name}", include_in_schema=False, **access(EVERYONE))
def vendor(name: str, services: ServicesDep) -> Response:
    if name not in VENDOR_FILES:
        raise NotFound(f"fichier « {name[:80]} » introuvable")
    path = services.settings.web_vendor_dir / name
    if not path.is_file():
        return HTMLResponse(
            MISSING_VENDOR.format(path=services.settings.web_vendor_dir), status_code=503
        )
    return FileResponse(
        path,
        media_type="text/javascript" if name.endswith(".js") else mimetypes.guess_type(name)[0],
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get(
    "/carte/glyphs/{fontstack}/{span}.pbf",
    summary="Glyphs of the maps' labels (MapLibre's protocol-buffer ranges of 256 characters)",
    **access(EVERYONE),
)
def glyphs(fontstack: str, span: str, services: ServicesDep) -> Response:
    """Any font name is answered with the one font of ``GEOTRANQUIL_WEB_GLYPH_FONT``."""
    start, _, end = span.partition("-")
    known = len(span) <= 11 and start.isdigit() and end.isdigit()
    if not known or int(start) % 256 or int(end) != int(start) + 255 or int(start) > 0xFFFF:
        raise NotFound(f"plage de caractères « {span[:40]} » inconnue")
    font = services.settings.web_glyph_font
    if not font.is_file():
        raise NotFound(f"police des étiquettes absente : {font}")
    return Response(
        glyph_range(font, fontstack[:100], int(start)),
        media_type="application/x-protobuf",
        headers={"Cache-Control": "public, max-age=86400"},
    )

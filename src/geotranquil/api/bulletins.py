"""``GET /bulletins`` and ``GET /bulletins/{week}``: the weekly bulletins for analysts and
administrators (issue 16 §5); a missing bulletin of an ended week is built on demand."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from geotranquil.api.deps import ServicesDep, access
from geotranquil.roles import BULLETINS
from geotranquil.services import bulletin

router = APIRouter(tags=["bulletins"])


@router.get(
    "/bulletins",
    summary="The weekly bulletins built so far, newest week first",
    description="Each item: week (ISO, AAAA-Snn), week_start (its Monday), built_at, sha256 "
    "and size of the PDF, emailed_at, and href (the PDF).",
    **access(BULLETINS),
)
def bulletin_list(services: ServicesDep, request: Request) -> JSONResponse:
    items = bulletin.listing(services.engine)
    return JSONResponse(
        {
            "items": [
                {
                    "week": b.week,
                    "week_start": b.week_start.isoformat(),
                    "built_at": b.built_at.isoformat(),
                    "sha256": b.sha256,
                    "size": b.size,
                    "emailed_at": None if b.emailed_at is None else b.emailed_at.isoformat(),
                    "href": str(request.url_for("bulletin_pdf", week=b.week)),
                }
                for b in items
            ]
        }
    )


@router.get(
    "/bulletins/{week}",
    summary="The bulletin of one ISO week (AAAA-Snn), as a PDF",
    description="Built on demand when the week has ended and no bulletin is stored yet. "
    "400: the week is malformed; 404: the week has not ended.",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    **access(BULLETINS),
)
async def bulletin_pdf(services: ServicesDep, week: str) -> Response:
    wanted = bulletin.resolve_week(services.settings, week)
    found = await run_in_threadpool(
        bulletin.get_or_build, services.engine, services.settings, wanted
    )
    return Response(
        found.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{bulletin.file_name(found.week)}"',
            "ETag": f'"{found.sha256}"',
        },
    )

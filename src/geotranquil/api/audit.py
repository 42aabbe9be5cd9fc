"""The audit trail over HTTP: recording a request (:func:`record_request`) and
``GET /admin/audit`` for administrators (filters, paging, JSON or CSV)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from geotranquil.api.deps import CallerDep, Services, ServicesDep, access
from geotranquil.errors import InvalidInput
from geotranquil.roles import ADMINISTRATION
from geotranquil.services import audit
from geotranquil.services.access import Caller

router = APIRouter(tags=["administration"])
PAGE_DEFAULT = 100
PAGE_MAX = 1000


def route_of(request: Request) -> audit.Route:
    """The request's method, route template (``/collections/{collection_id}/items``) and path."""
    found = request.scope.get("route")
    template = getattr(found, "path", None) or request.url.path
    return audit.Route(request.method, template, request.url.path)


def client_of(request: Request) -> str | None:
    """The client's address as the server sees it."""
    return request.client.host if request.client else None


def record_request(
    request: Request,
    services: Services,
    caller: Caller,
    action: str,
    *,
    rows: int | None,
    bbox: Sequence[float] | str | None = None,
) -> None:
    """Record a request in the audit trail: its route, query parameters (no key), client."""
    audit.record_read(
        services.engine,
        caller=caller,
        action=action,
        route=route_of(request),
        filters=request.query_params.multi_items(),
        bbox=bbox,
        rows=rows,
        client=client_of(request),
    )


@router.get(
    "/admin/audit",
    summary="The audit trail: who read raw events or personal data, exported, changed access",
    description="Filters: who (key:ID, sso:SUBJECT, cli:USER, public), role, action, since "
    "(inclusive) and until (exclusive) as dates or ISO 8601 instants, route (template or "
    "path). JSON pages (limit, offset) or f=csv (every matching row unless limit is given).",
    **access(ADMINISTRATION),
)
def audit_log(
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    who: str | None = None,
    role: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    route: str | None = None,
    limit: Annotated[int | None, Query(ge=1, le=PAGE_MAX)] = None,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    f: str = "json",
) -> Response:
    if f not in ("json", "csv"):
        raise InvalidInput(f"paramètre f : « {f[:20]} » inconnu ; json ou csv")
    for name, value in (("who", who), ("role", role), ("action", action), ("route", route)):
        if value is not None and ("\x00" in value or len(value) > 500):
            raise InvalidInput(f"paramètre {name} : caractère nul ou plus de 500 caractères")
    tz = services.settings.timezone
    query = audit.AuditQuery(
        who=who,
        role=role,
        action=action,
        since=audit.parse_instant(since, tz, name="since") if since else None,
        until=audit.parse_instant(until, tz, name="until") if until else None,
        route=route,
    )
    if f == "csv" and limit is None and offset == 0:
        return StreamingResponse(
            audit.csv_lines(_counted(audit.every_row(services.engine, query), request, caller)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )
    page = audit.search(services.engine, query, limit=limit or PAGE_DEFAULT, offset=offset)
    record_request(request, services, caller, audit.READ_AUDIT, rows=len(page.rows))
    if f == "csv":
        return Response("".join(audit.csv_lines(page.rows)), media_type="text/csv; charset=utf-8")
    return JSONResponse(
        {
            "total": page.total,
            "limit": limit or PAGE_DEFAULT,
            "offset": offset,
            "items": [r.as_dict() for r in page.rows],
        }
    )


def _counted(
    rows: Iterator[audit.AuditRow], request: Request, caller: Caller
) -> Iterator[audit.AuditRow]:
    """``rows`` passed through; once streamed, the read is recorded with their number."""
    n = 0
    try:
        for row in rows:
            n += 1
            yield row
    finally:
        record_request(request, request.app.state.services, caller, audit.READ_AUDIT, rows=n)

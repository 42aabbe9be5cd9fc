"""Open311 GeoReport v2 at ``/open311/v2/`` (``.json`` and ``.xml``), and the staff routes.

- ``services``, ``services/{code}``, ``requests`` (GET, POST), ``requests/{id}``,
  ``tokens/{token}``: the specification, for residents' apps; ``POST requests`` needs an
  ``api_key`` (any valid key: the mobile app and civic apps use ``partner`` keys). Extensions:
  ``duplicate_of`` and ``workflow_state`` on requests; an ``Idempotency-Key`` header (or
  ``idempotency_key`` field) on ``POST requests`` so that retries are filed once; ``lat``,
  ``long``, ``radius`` on ``GET requests`` (open reports near a point).
- ``/signalements`` (GET: the staff's list, by state and service),
  ``/signalements/{id}`` (GET with the author's data, PATCH to move it through the workflow),
  ``/signalements/{id}/photo``: staff only (``agent``, ``analyst``, ``admin``).

Personal data (contact, photo) never appear in the Open311 responses.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from geotranquil.api.audit import record_request
from geotranquil.api.client_address import client_address
from geotranquil.api.deps import (
    KEY_HEADER,
    CallerDep,
    Services,
    ServicesDep,
    access,
    get_services,
)
from geotranquil.api.guards import reject_nul
from geotranquil.api.open311_format import FORMATS, respond
from geotranquil.config import Settings
from geotranquil.errors import InvalidInput, NotFound, TooLarge
from geotranquil.roles import EVERYONE, REPORTING, RESIDENT_REPORTS
from geotranquil.services import audit
from geotranquil.services import open311 as svc
from geotranquil.services.open311_ratelimit import ReportLimits

router = APIRouter(tags=["open311"])
staff = APIRouter(tags=["signalements"])
BASE = "/open311/v2"
PHOTO_FIELDS = ("media", "photo")
#: room for the text fields of a multipart report beside its photo
FORM_OVERHEAD = 256 * 1024


def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        raise NotFound(f"format « {fmt} » inconnu : json ou xml")
    return fmt


def limits_of(request: Request) -> ReportLimits:
    """The rate limits of the application (built by ``create_app``, shared through Redis)."""
    found: ReportLimits = request.app.state.open311_limits
    return found


async def _form_key(request: Request) -> None:
    """Open311 sends ``api_key`` in the POST body: resolve it before the access check."""
    services = get_services(request)
    check_length(request, services.settings)
    if request.headers.get(KEY_HEADER) or request.query_params.get("api_key"):
        return
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return
    form = await request.form(max_files=2, max_fields=200, max_part_size=64 * 1024)
    key = form.get("api_key")
    if isinstance(key, str) and key.strip():
        reject_nul(key, "api_key")
        request.state.caller = await run_in_threadpool(services.keys.caller, key.strip())


def _reporting() -> dict[str, Any]:
    spec = access(REPORTING)
    spec["dependencies"] = [Depends(_form_key), *spec["dependencies"]]
    return spec


def _service_body(service: Any) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "service_name": service.name,
        "description": service.description,
        "metadata": bool(service.attributes),
        "type": "realtime",
        "keywords": service.keywords,
        "group": service.group,
    }


@router.get(f"{BASE}/services.{{fmt}}", summary="Open311: reportable services", **access(EVERYONE))
def list_services(fmt: str) -> Response:
    body = [_service_body(s) for s in svc.services().values()]
    return respond(_fmt(fmt), "services", "service", body)


@router.get(
    f"{BASE}/services/{{service_code}}.{{fmt}}",
    summary="Open311: a service definition (its attributes)",
    **access(EVERYONE),
)
def service_definition(service_code: str, fmt: str) -> Response:
    fmt = _fmt(fmt)
    service = svc.service(service_code)
    attributes = [
        {
            "variable": True,
            "code": a.code,
            "datatype": a.datatype,
            "required": a.required,
            "datatype_description": None,
            "order": a.order,
            "description": a.description,
            **({"values": [{"key": k, "name": n} for k, n in a.values]} if a.values else {}),
        }
        for a in service.attributes
    ]
    body = {"service_code": service.code, "attributes": attributes}
    return respond(fmt, "service_definition", "attribute", body)


@router.get(
    f"{BASE}/requests.{{fmt}}",
    summary="Open311: service requests (90 days by default, at most 1,000)",
    **access(EVERYONE),
)
def list_requests(fmt: str, request: Request, services: ServicesDep) -> Response:
    fmt = _fmt(fmt)
    rows = svc.list_requests(services.engine, services.settings, request.query_params)
    return respond(fmt, "service_requests", "request", rows)


@router.post(
    f"{BASE}/requests.{{fmt}}",
    summary="Open311: file a service request (api_key required)",
    status_code=201,
    **_reporting(),
)
async def create_request(
    fmt: str, request: Request, services: ServicesDep, caller: CallerDep
) -> Response:
    fmt = _fmt(fmt)
    filed = await file_from_form(request, services, key_id=caller.key_id)
    return respond(
        fmt,
        "service_requests",
        "request",
        [filed_body(filed)],
        status_code=201,
        headers=replay_headers(filed),
    )


def check_length(request: Request, settings: Settings) -> None:
    """413 before reading a body larger than a photo and its fields may be."""
    length = request.headers.get("content-length", "")
    limit = settings.open311_photo_max_bytes + FORM_OVERHEAD
    if length.isdigit() and int(length) > limit:
        raise TooLarge(
            "requête trop lourde : photo de "
            f"{settings.open311_photo_max_bytes / 1e6:.1f} Mo au plus"
        )


async def file_from_form(request: Request, services: Services, *, key_id: int | None) -> svc.Filed:
    """Rate limits, then the multipart (or urlencoded) report read, checked and filed.

    Shared by ``POST requests`` (partners' apps, with their key) and the residents' own app.
    The ``Idempotency-Key`` header (or ``idempotency_key`` field) makes retries file once.
    """
    check_length(request, services.settings)
    await run_in_threadpool(limits_of(request).check, key_id=key_id, client=client_address(request))
    form = await request.form(max_files=2, max_fields=200, max_part_size=64 * 1024)
    fields: dict[str, list[str]] = {}
    photo: bytes | None = None
    max_bytes = services.settings.open311_photo_max_bytes
    for name, value in form.multi_items():
        if isinstance(value, str):
            reject_nul(name, "un nom de champ")
            fields.setdefault(name, []).append(reject_nul(value, f"le champ {name[:40]}"))
        elif name in PHOTO_FIELDS and photo is None:
            data = await value.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise TooLarge(f"photo trop lourde : {max_bytes / 1e6:.1f} Mo au plus")
            photo = data
        else:
            raise InvalidInput(f"fichier inattendu dans le champ {name} : une photo dans « media »")
    submission = svc.parse_submission(
        fields, photo, idempotency_key=request.headers.get("Idempotency-Key")
    )
    return await run_in_threadpool(
        svc.file_request, services.engine, services.settings, submission, key_id=key_id
    )


def filed_body(filed: svc.Filed) -> dict[str, Any]:
    """What ``POST requests`` answers (plus the ``duplicate_of`` extension)."""
    return {
        "service_request_id": filed.service_request_id,
        "token": filed.token,
        "service_notice": filed.service_notice,
        "account_id": None,
        "duplicate_of": filed.duplicate_of,
    }


def replay_headers(filed: svc.Filed) -> dict[str, str]:
    """``Idempotent-Replayed: true`` when the answer is the one of an earlier attempt."""
    return {"Idempotent-Replayed": "true"} if filed.replayed else {}


@router.get(
    f"{BASE}/requests/{{service_request_id}}.{{fmt}}",
    summary="Open311: one service request",
    **access(EVERYONE),
)
def get_request(service_request_id: str, fmt: str, services: ServicesDep) -> Response:
    fmt = _fmt(fmt)
    row = svc.get_request(services.engine, services.settings, service_request_id)
    return respond(fmt, "service_requests", "request", [row])


@router.get(
    f"{BASE}/tokens/{{token}}.{{fmt}}",
    summary="Open311: the request a token stands for",
    **access(EVERYONE),
)
def get_token(token: str, fmt: str, services: ServicesDep) -> Response:
    fmt = _fmt(fmt)
    row = svc.request_of_token(services.engine, token)
    return respond(fmt, "service_requests", "request", [row])


class StateChange(BaseModel):
    """A workflow move by staff; ``notes`` are shown to the resident as ``status_notes``."""

    state: str = Field(
        description="received, in_progress, resolved, rejected_duplicate, rejected_abuse"
    )
    notes: str | None = Field(None, max_length=2000)
    expected_datetime: str | None = Field(
        None, description="W3C date-time, e.g. 2025-06-01T12:00:00+02:00"
    )
    publish_description: bool | None = Field(
        None,
        description="true: the public may read the description from now on (as in "
        "public_description, or as filed); false: withdraw it; absent: unchanged",
    )
    public_description: str | None = Field(
        None,
        max_length=4000,
        description="The description as the public will read it (personal details removed)",
    )


@staff.get(
    "/signalements",
    summary="Residents' reports for staff: filter by state and service, newest first",
    **access(RESIDENT_REPORTS),
)
def staff_list(request: Request, services: ServicesDep, caller: CallerDep) -> JSONResponse:
    page = svc.staff_list(services.engine, services.settings, request.query_params)
    record_request(request, services, caller, audit.READ_PERSONAL_DATA, rows=len(page["items"]))
    return JSONResponse({**page, "role": caller.role.value})


@staff.get(
    "/signalements/{service_request_id}",
    summary="A resident's report with its author's data and history (staff)",
    **access(RESIDENT_REPORTS),
)
def staff_get(
    service_request_id: str, request: Request, services: ServicesDep, caller: CallerDep
) -> JSONResponse:
    view = svc.staff_view(services.engine, services.settings, service_request_id)
    record_request(request, services, caller, audit.READ_PERSONAL_DATA, rows=1)
    return JSONResponse(view)


@staff.patch(
    "/signalements/{service_request_id}",
    summary="Move a resident's report through the workflow (staff)",
    **access(RESIDENT_REPORTS),
)
def staff_patch(
    service_request_id: str,
    change: StateChange,
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
) -> JSONResponse:
    view = svc.change_state(
        services.engine,
        services.settings,
        service_request_id,
        state=change.state,
        notes=change.notes,
        expected_datetime=change.expected_datetime,
        who=caller.key_name or caller.subject,  # a key's name, or the signed-in person
        key_id=caller.key_id,
        publish_description=change.publish_description,
        public_description=change.public_description,
    )
    # the answer carries the author's contact, like GET
    record_request(request, services, caller, audit.REPORT_STATE_CHANGED, rows=1)
    return JSONResponse(view)


@staff.get(
    "/signalements/{service_request_id}/photo",
    summary="A report's photo, re-encoded without metadata (staff)",
    **access(RESIDENT_REPORTS),
)
def staff_photo(
    service_request_id: str, request: Request, services: ServicesDep, caller: CallerDep
) -> Response:
    mime, content = svc.photo_of(services.engine, services.settings, service_request_id)
    record_request(request, services, caller, audit.READ_PERSONAL_DATA, rows=1)
    return Response(content, media_type=mime, headers={"Cache-Control": "private, no-store"})

"""Partners push data (issue 16 §1): ``POST /sources/{source}/batches`` and the batches' state.

A partner key pushes to its own source only; an admin key to any. The body streams to the
spool (:mod:`geotranquil.api.push_upload`); the batch's row and its ``ingest_batch`` job are
stored in one transaction and the answer is ``202 Accepted`` with the batch's ``Location``.
``Idempotency-Key``: a retry returns the first batch and stores nothing twice.
"""

from __future__ import annotations

from typing import Annotated, Any

import procrastinate
from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from geotranquil.api.deps import CallerDep, ServicesDep, access
from geotranquil.api.push_upload import spool_body
from geotranquil.errors import InvalidInput
from geotranquil.jobs import build_app
from geotranquil.jobs.ingest import defer_batch
from geotranquil.roles import INGESTION
from geotranquil.services import push
from geotranquil.services.push import PushRow

router = APIRouter(tags=["partners"])


class CanonicalAddress(BaseModel):
    """A postal address, for events without coordinates (geocoded later)."""

    number: str | None = Field(None, examples=["12"])
    street: str = Field(examples=["rue de Rome"])
    postcode: str | None = Field(None, examples=["13001"])
    city: str | None = Field(None, examples=["Marseille"])


class CanonicalEvent(BaseModel):
    """One event in the platform's canonical schema: ``lon``/``lat`` (WGS84) or ``address``."""

    id: str = Field(description="The partner's identifier, unique within the source.")
    occurred_at: str = Field(
        description="ISO 8601 with an offset (a value without one is local time, Europe/Paris).",
        examples=["2026-03-02T22:14:00+01:00"],
    )
    category: str = Field(description="A canonical category code (GET /categories).")
    lon: float | None = Field(None, examples=[5.3811])
    lat: float | None = Field(None, examples=[43.2965])
    address: CanonicalAddress | None = None
    reported_at: str | None = Field(None, description="ISO 8601, optional.")
    attributes: dict[str, Any] | None = Field(None, description="Free attributes, kept.")


def _request_body() -> dict[str, Any]:
    schema = CanonicalEvent.model_json_schema(ref_template="#/components/schemas/{model}")
    event = {k: v for k, v in schema.items() if k != "$defs"}
    address = schema["$defs"]["CanonicalAddress"]
    event["properties"]["address"] = {"anyOf": [address, {"type": "null"}]}
    return {
        "required": True,
        "description": "A file in the source's declared mapping format (multipart field "
        "``file``), or events in the canonical schema: a JSON array, or NDJSON (one per line).",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
            "application/json": {"schema": {"type": "array", "items": event}},
            "application/x-ndjson": {"schema": event},
        },
    }


def _batch_json(row: PushRow, reasons: dict[str, int] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id,
        "source": row.source,
        "state": row.state,
        "format": row.format,
        "media_type": row.media_type,
        "bytes": row.bytes,
        "sha256": row.sha256,
        "idempotency_key": row.idempotency_key,
        "counts": {k: v for k, v in row.counts.items()},
        "error": row.error,
        "created_at": row.created_at.isoformat(),
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "links": {
            "self": _location(row),
            "rejections": _location(row) + "/rejections?f=csv",
        },
    }
    if reasons is not None:
        body["rejections_by_reason"] = reasons
    return body


def _location(row: PushRow) -> str:
    return f"/sources/{row.source}/batches/{row.id}"


def _jobs(request: Request) -> procrastinate.App:
    jobs = getattr(request.app.state, "jobs", None)
    if jobs is None:
        jobs = request.app.state.jobs = build_app(request.app.state.settings)
    return jobs


_PUSH_ACCESS = access(INGESTION)
_PUSH_ACCESS["openapi_extra"] = _PUSH_ACCESS["openapi_extra"] | {"requestBody": _request_body()}

SourcePath = Annotated[str, Path(max_length=200, description="The source's slug.")]
BatchPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post(
    "/sources/{source}/batches",
    status_code=202,
    summary="Push a batch of events for a source (ingested by a worker)",
    description="A partner key pushes to its own source only. Answers 202 with the batch and "
    "its Location; poll it until ``state`` is ``done`` or ``failed``. Same validation and "
    "rejection codes as file ingestion. ``Idempotency-Key``: a retry with the same key "
    "returns the first batch (200) and stores nothing twice.",
    responses={
        200: {"description": "A retry: the batch first pushed with this Idempotency-Key."},
        413: {"description": "Body larger than push_max_bytes."},
        415: {"description": "Not multipart/form-data, application/json or x-ndjson."},
    },
    **_PUSH_ACCESS,
)
async def push_batch(
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    source: SourcePath,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=200,
            description="8 to 200 characters; a retry with the same key returns the first batch.",
        ),
    ] = None,
) -> JSONResponse:
    settings = services.settings
    key = push.parse_idempotency_key(idempotency_key)
    target = await run_in_threadpool(push.target_source, services.engine, caller, source)
    before = await run_in_threadpool(push.retried, services.engine, target, caller, key)
    if before is not None:  # the first push arrived: nothing is read, nothing stored
        return _accepted(before, 200)
    spooled = await spool_body(request, push.new_spool_path(settings), settings.push_max_bytes)
    jobs = _jobs(request)

    def defer(conn: Connection, batch_id: int) -> None:
        defer_batch(jobs, conn.connection.driver_connection, batch_id)

    row, created = await run_in_threadpool(
        lambda: push.record(
            services.engine,
            source=target,
            caller=caller,
            key=key,
            spooled=spooled,
            defer=defer,
        )
    )
    return _accepted(row, 202 if created else 200)


def _accepted(row: PushRow, status: int) -> JSONResponse:
    return JSONResponse(_batch_json(row), status_code=status, headers={"Location": _location(row)})


@router.get(
    "/sources/{source}/batches",
    summary="The batches pushed for a source, newest first",
    **access(INGESTION),
)
def list_batches(
    services: ServicesDep,
    caller: CallerDep,
    source: SourcePath,
    limit: Annotated[int, Query(ge=1, le=push.LIST_MAX)] = 50,
) -> JSONResponse:
    target = push.target_source(services.engine, caller, source)
    rows = push.batches_of(services.engine, target, limit)
    return JSONResponse({"source": target.slug, "items": [_batch_json(r) for r in rows]})


@router.get(
    "/sources/{source}/batches/{batch_id}",
    summary="A pushed batch: state, counts, rejections by reason",
    description="``state``: queued, running, done or failed (``error`` says why, in French). "
    "``counts``: received, inserted, updated, unchanged, rejected (and unlocated: accepted "
    "with an address only, waiting for the geocoder).",
    **access(INGESTION),
)
def get_batch(
    services: ServicesDep, caller: CallerDep, source: SourcePath, batch_id: BatchPath
) -> JSONResponse:
    target = push.target_source(services.engine, caller, source)
    row = push.batch_of(services.engine, target, batch_id)
    return JSONResponse(_batch_json(row, push.rejections_by_reason(services.engine, row)))


@router.get(
    "/sources/{source}/batches/{batch_id}/rejections",
    summary="The rejected records of a batch (CSV)",
    description="Columns: ligne (a CSV file: the physical line, the header being line 1) or "
    "enregistrement (JSON: the element of the array, the line of NDJSON, from 1), code, message "
    "(French), contenu (the record as received).",
    responses={200: {"content": {"text/csv": {}}}},
    **access(INGESTION),
)
def get_rejections(
    services: ServicesDep,
    caller: CallerDep,
    source: SourcePath,
    batch_id: BatchPath,
    f: Annotated[str, Query(description="Format: csv.")] = "csv",
) -> StreamingResponse:
    if f != "csv":
        raise InvalidInput(f"format « {f[:20]} » inconnu ; attendu : csv")
    target = push.target_source(services.engine, caller, source)
    row = push.batch_of(services.engine, target, batch_id)
    return StreamingResponse(
        push.rejections_csv(services.engine, row),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="rejets-{row.source}-lot-{row.id}.csv"'
        },
    )

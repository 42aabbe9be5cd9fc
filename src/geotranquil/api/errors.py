"""The one place where domain errors become HTTP responses."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from geotranquil.errors import (
    Forbidden,
    GeotranquilError,
    InvalidGeometry,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    NotReady,
)

log = logging.getLogger("geotranquil.api")

#: Domain error -> HTTP status. The most specific class listed first wins.
STATUS_BY_ERROR: dict[type[Exception], int] = {
    NotFound: 404,
    NotAuthenticated: 401,
    InvalidGeometry: 422,
    InvalidInput: 400,
    Forbidden: 403,
    NotReady: 503,
    GeotranquilError: 400,
}


def _status_for(exc: Exception) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers: every error is JSON ``{"code", "description"}``, no traceback."""

    async def domain(_: Request, exc: Exception) -> JSONResponse:
        status = _status_for(exc)
        headers = {"WWW-Authenticate": 'ApiKey header="X-API-Key"'} if status == 401 else None
        return JSONResponse(
            {"code": type(exc).__name__, "description": str(exc)},
            status_code=status,
            headers=headers,
        )

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return JSONResponse(
            {"code": "InvalidParameterValue", "description": problems}, status_code=400
        )

    async def database(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"code": "ServiceUnavailable", "description": "database unreachable, retry later"},
            status_code=503,
        )

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        reference = uuid.uuid4().hex[:12]
        log.error(
            "unexpected error %s on %s %s",
            reference,
            request.method,
            request.url.path,
            exc_info=exc,
        )
        return JSONResponse(
            {
                "code": "InternalError",
                "description": f"erreur interne, signalez la référence {reference} "
                "à l'équipe geotranquil",
            },
            status_code=500,
        )

    app.add_exception_handler(GeotranquilError, domain)
    app.add_exception_handler(Exception, unexpected)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(OperationalError, database)

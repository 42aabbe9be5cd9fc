"""The one place where domain errors become HTTP responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from geotranquil.errors import (
    Forbidden,
    GeotranquilError,
    InvalidGeometry,
    InvalidInput,
    NotFound,
    NotReady,
)

#: Domain error -> HTTP status. The most specific class listed first wins.
STATUS_BY_ERROR: dict[type[Exception], int] = {
    NotFound: 404,
    InvalidGeometry: 400,
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
        return JSONResponse(
            {"code": type(exc).__name__, "description": str(exc)}, status_code=status
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

    app.add_exception_handler(GeotranquilError, domain)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(OperationalError, database)

"""The one place where domain errors become HTTP responses."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg import DataError as PsycopgDataError
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from geotranquil.api.open311_format import PREFIX as OPEN311_PREFIX
from geotranquil.api.open311_format import error_response as open311_error
from geotranquil.api.validation_fr import describe
from geotranquil.errors import (
    Conflict,
    Forbidden,
    GeotranquilError,
    InvalidGeometry,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    NotReady,
    TooLarge,
    TooManyRequests,
    UnsupportedMediaType,
)

log = logging.getLogger("geotranquil.api")

#: Domain error -> HTTP status. The most specific class listed first wins.
STATUS_BY_ERROR: dict[type[Exception], int] = {
    NotFound: 404,
    TooManyRequests: 429,
    TooLarge: 413,
    UnsupportedMediaType: 415,
    NotAuthenticated: 401,
    InvalidGeometry: 422,
    InvalidInput: 400,
    Forbidden: 403,
    NotReady: 503,
    Conflict: 409,
    GeotranquilError: 400,
}


#: errors raised by the framework itself (unknown path, method, unreadable body), in French
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("InvalidParameterValue", "corps de la requête illisible : JSON ou formulaire attendu"),
    404: ("NotFound", "ressource inconnue : voir la liste des chemins dans /api"),
    405: ("MethodNotAllowed", "méthode HTTP non permise sur ce chemin (voir /api)"),
    413: ("TooLarge", "requête trop lourde"),
    415: ("UnsupportedMediaType", "type de contenu non pris en charge"),
}


def status_for(exc: Exception) -> int:
    """The HTTP status of an error, from the table above."""
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def _open311(request: Request) -> bool:
    """Whether a request is Open311's: its errors are the specification's error list."""
    return request.url.path.startswith(OPEN311_PREFIX)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers: every error is JSON ``{"code", "description"}``, no traceback.

    Under ``/open311/`` the same errors are Open311 GeoReport v2 error lists
    (``[{"code": 400, "description": ...}]``, or ``<errors>`` for ``.xml`` paths).
    """

    async def domain(request: Request, exc: Exception) -> Response:
        status = status_for(exc)
        # an API key, or an access token of the City's single sign-on
        challenge = 'ApiKey header="X-API-Key", Bearer realm="geotranquil"'
        headers = {"WWW-Authenticate": challenge} if status == 401 else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        if _open311(request):
            return open311_error(request.url.path, status, str(exc), headers)
        return JSONResponse(
            {"code": type(exc).__name__, "description": str(exc)},
            status_code=status,
            headers=headers,
        )

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = describe(exc.errors())
        if _open311(request):
            return open311_error(request.url.path, 400, problems)
        return JSONResponse(
            {"code": "InvalidParameterValue", "description": problems}, status_code=400
        )

    async def database(request: Request, exc: Exception) -> Response:
        if _open311(request):
            return open311_error(request.url.path, 503, "base de données indisponible, réessayez")
        return JSONResponse(
            {
                "code": "ServiceUnavailable",
                "description": "base de données injoignable : réessayez dans un instant",
            },
            status_code=503,
            headers={"Retry-After": "1"},
        )

    async def refused_value(request: Request, exc: Exception) -> Response:
        # a value PostgreSQL cannot hold (a NUL, a number or a date out of range) that no
        # check caught before: the client's input, so a 400, logged to add the missing check
        log.warning(
            "value refused by the database on %s %s: %s",
            request.method,
            request.url.path,
            type(getattr(exc, "orig", exc)).__name__,
        )
        description = (
            "valeur refusée par la base de données (caractère nul, nombre ou date hors "
            "limites) : corrigez les paramètres de la requête"
        )
        if _open311(request):
            return open311_error(request.url.path, 400, description)
        return JSONResponse({"code": "InvalidParameterValue", "description": description}, 400)

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if _open311(request):
            description = {404: "ressource Open311 inconnue", 405: "méthode non permise"}.get(
                exc.status_code, str(exc.detail)
            )
            return open311_error(request.url.path, exc.status_code, description, exc.headers)
        if exc.status_code in (204, 304) or exc.status_code < 400:
            return await http_exception_handler(request, exc)
        code, description = HTTP_ERRORS.get(
            exc.status_code, ("HTTPError", "requête refusée par le serveur")
        )
        return JSONResponse(
            {"code": code, "description": description},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    async def unexpected(request: Request, exc: Exception) -> Response:
        reference = uuid.uuid4().hex[:12]
        log.error(
            "unexpected error %s on %s %s",
            reference,
            request.method,
            request.url.path,
            exc_info=exc,
        )
        if _open311(request):
            return open311_error(request.url.path, 500, f"erreur interne, référence {reference}")
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
    app.add_exception_handler(DataError, refused_value)
    app.add_exception_handler(PsycopgDataError, refused_value)
    app.add_exception_handler(StarletteHTTPException, http)

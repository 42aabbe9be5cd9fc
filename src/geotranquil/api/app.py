"""The HTTP application: ``create_app(settings)`` builds it; nothing is read at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartParser

from geotranquil import __version__
from geotranquil.api import (
    alerts,
    analysis,
    audit,
    bulletins,
    exports,
    geocoding,
    jobs,
    ogc_features,
    open311,
    push,
    refresh,
    reports,
    resident_app,
    sso,
    staff_page,
    tiles,
    web,
)
from geotranquil.api.deps import CallerDep, Reader, Services, access
from geotranquil.api.errors import install_error_handlers
from geotranquil.api.guards import install_guards
from geotranquil.api.openapi_doc import install_openapi
from geotranquil.api.read_limit import read_limit
from geotranquil.api.workers import install_headers, install_shared_state
from geotranquil.config import Settings
from geotranquil.db.engine import make_engine, make_read_engine
from geotranquil.roles import EVERYONE, is_restricted
from geotranquil.services.basemap import BasemapChecker
from geotranquil.services.catalogue import CatalogueCache
from geotranquil.services.database import warm_pool
from geotranquil.services.retention import current_policy
from geotranquil.services.status import health_of, replication_status

log = logging.getLogger(__name__)


def _lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the pool's connections opened and warmed before the first request, not during it
        try:
            await run_in_threadpool(warm_pool, app.state.engine, settings.db_pool_size)
            if app.state.read_engine is not app.state.engine:  # the replica's pool too
                await run_in_threadpool(warm_pool, app.state.read_engine, settings.db_pool_size)
        except (OperationalError, ProgrammingError) as exc:  # served anyway: /health says why
            log.warning("database connections not warmed at start: %s", type(exc).__name__)
        yield

    return lifespan


def create_app(settings: Settings) -> FastAPI:
    """Build the application for ``settings`` (OpenAPI 3 at ``/api``, docs at ``/api/docs``)."""
    app = FastAPI(
        lifespan=_lifespan(settings),
        title="geotranquil",
        version=__version__,
        description="Public-tranquillity analytics for Marseille: events on an H3 grid, "
        "hot spots, forecasts, map services.",
        openapi_url="/api",
        docs_url="/api/docs",
        redoc_url=None,
        dependencies=[Depends(read_limit)],  # the public's and partners' GETs, per client
    )
    engine = make_engine(settings)
    current_policy(settings)  # retention (issue 14 §4): a bad policy file stops the start here
    # residents' photos (their size is checked before the body is read) are parsed in memory
    # rather than spilled to a temporary file past Starlette's default of 1 MiB
    MultiPartParser.spool_max_size = max(
        MultiPartParser.spool_max_size, settings.open311_photo_max_bytes + open311.FORM_OVERHEAD
    )
    app.state.settings = settings
    app.state.engine = engine
    # several workers, one behaviour (api/workers.py): limits, tiles and keys in Redis
    shared = install_shared_state(app, settings, engine)
    catalogue = CatalogueCache(engine, public_max_resolution=settings.public_max_resolution)
    # the read-only API reads on the replica when there is one (api/deps.py:get_reader)
    replica = None if settings.read_database_url is None else make_read_engine(settings)
    reader = (
        Reader(engine, catalogue)
        if replica is None
        else Reader(
            replica,
            CatalogueCache(replica, public_max_resolution=settings.public_max_resolution),
        )
    )
    app.state.read_engine = reader.engine
    app.state.services = Services(
        settings=settings,
        engine=engine,
        keys=shared.keys,
        catalogue=catalogue,
        tiles=shared.tiles,
        reader=reader,
        basemap=BasemapChecker(settings),
    )
    install_error_handlers(app)
    # staff sign-in with the City's account (OpenID Connect): session cookie, routes /auth/*
    app.state.services.sso = sso.install(app, settings)
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=4)
    install_guards(app)  # NUL characters refused, caching by caller (issue 14 §5)
    install_openapi(app, settings)  # every parameter and status in /api (issue 14 §6)
    install_headers(app, settings)
    # the routes a map client calls the most come first: each request is matched against the
    # routes in this order (route matching was 10 % of a cached tile's CPU behind 150 routes)
    app.include_router(tiles.router)
    app.include_router(ogc_features.router)
    app.include_router(exports.router)
    app.include_router(reports.router)
    app.include_router(geocoding.router)
    app.include_router(analysis.router)
    app.include_router(web.router)
    app.include_router(open311.router)
    app.include_router(open311.staff)
    app.include_router(resident_app.router)
    app.include_router(staff_page.router)
    app.include_router(audit.router)  # issue 14 §3: GET /admin/audit
    app.include_router(jobs.router)  # issue 16 §2: GET /admin/jobs
    app.include_router(bulletins.router)  # issue 16 §5: GET /bulletins
    app.include_router(alerts.router)  # issue 16 §4: alert rules and events
    app.include_router(push.router)  # issue 16 §1: partners push batches
    app.include_router(refresh.router)  # issue 16 §3: GET /freshness, POST /admin/refresh

    @app.get("/health", tags=["service"], summary="Service and database health", **access(EVERYONE))
    def health(request: Request, caller: CallerDep) -> JSONResponse:
        # live counts would tell the public when events arrive: staff only
        staff = not is_restricted(caller.role)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                state: dict[str, Any] = health_of(conn, events=staff)
        except Exception as exc:  # the health check reports, it does not fail
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable", "detail": type(exc).__name__},
                status_code=503,
            )
        body: dict[str, Any] = {
            "status": "ok",
            "version": __version__,
            "database": "ok",
            # without Redis each worker limits and caches on its own (README)
            "redis": "ok" if shared.state.available() else "unreachable",
            "schema_revision": state["revision"],
            "areas": state["areas"],
            "grid_cells": {str(k): v for k, v in state["grid"].items()},
            "replica": replication_status(engine, replica),
        }
        if staff:
            body["events"] = {
                s["slug"]: {"total": s["events"], "located": s["located"]} for s in state["sources"]
            }
        return JSONResponse(body)

    return app

"""Typed settings, read from ``GEOTRANQUIL_*`` environment variables, built once and passed down."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/geotranquil"
#: PgBouncer's port (``db_pooler="auto"`` takes a URL on it for one through PgBouncer)
PGBOUNCER_PORT = 6432


def shared_data_dir() -> Path | None:
    """The project's shared reference data (``shared/data``), or None when there is none.

    ``GEOTRANQUIL_SHARED_DIR`` (the ``shared`` folder) when set; otherwise ``../shared`` beside
    the checkout, or beside the working directory or one of its parents.
    """
    env = os.environ.get("GEOTRANQUIL_SHARED_DIR")
    bases = [Path(env)] if env else []
    repo = Path(__file__).resolve().parents[2]
    bases += [p.parent / "shared" for p in (repo, Path.cwd(), *Path.cwd().parents)]
    for base in bases:
        if (base / "data").is_dir():
            return base / "data"
    return None


def _default_web_vendor_dir() -> Path:
    """MapLibre GL JS as ``scripts/setup.sh`` installs it (``web/node_modules``)."""
    return Path(__file__).resolve().parents[2] / "web" / "node_modules" / "maplibre-gl" / "dist"


def _default_reference_dir() -> Path | None:
    """``shared/data/marseille`` (see :func:`shared_data_dir`), when it exists."""
    data = shared_data_dir()
    candidate = None if data is None else data / "marseille"
    return candidate if candidate is not None and candidate.is_dir() else None


class Settings(BaseSettings):
    """Every setting of the platform; each one is ``GEOTRANQUIL_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="GEOTRANQUIL_", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL of the PostgreSQL/PostGIS database (psycopg 3 driver).",
    )
    direct_database_url: str | None = Field(
        None,
        description="URL of the same database without a pooler in between, for what needs a "
        "session of its own: migrations, the job queue (LISTEN/NOTIFY), the locks held across "
        "transactions (ingest of a file, refresh, BAN load), COPY. Default: database_url. "
        "Required when database_url goes through PgBouncer.",
    )
    read_database_url: str | None = Field(
        None,
        description="URL of a streaming read replica of the database: the read-only API "
        "(collections, items, tiles, exports, reports, analysis layers) reads there. Default: "
        "none, everything reads on the primary.",
    )
    db_pooler: Literal["auto", "none", "pgbouncer"] = Field(
        "auto",
        description="Whether database_url goes through PgBouncer in transaction mode (no "
        "server-side prepared statements then): ``auto`` says yes when its port is 6432, "
        "PgBouncer's own.",
    )
    db_pool_size: int = Field(
        10,
        ge=1,
        le=100,
        description="Database connections each process keeps open (its pool). A request "
        "beyond them opens a connection it closes after use, and a new connection costs its "
        "server process a cold start (about 9 ms of planning for the first PostGIS statement).",
    )
    db_max_overflow: int = Field(
        10, ge=0, le=100, description="Connections a process may open beyond its pool."
    )
    reference_dir: Path | None = Field(
        default_factory=_default_reference_dir,
        description="Directory with the official boundary files; built-in geography otherwise.",
    )
    data_dir: Path = Field(
        Path("var/data"), description="Where the demo writes its synthetic silo files."
    )
    open311_photo_dir: Path | None = Field(
        None,
        description="Where residents' photos are kept as files (default: <data_dir>/photos).",
    )
    analysis_resolutions: tuple[int, ...] = Field(
        (7, 8, 9, 10), description="H3 resolutions of the grid and of the analyses (7 to 10)."
    )
    ingest_chunk_rows: int = Field(50_000, ge=100, description="Rows per committed ingest chunk.")
    study_area_buffer_m: float = Field(
        0.0, ge=0, description="Tolerance (metres) around the commune for accepting events."
    )
    timezone: str = Field(
        "Europe/Paris", description="Local time zone of the study area (time bins of analyses)."
    )
    geocode_min_score: float = Field(
        0.7,
        ge=0,
        le=1,
        description="Lowest geocoding score that places an address-only event (0 to 1).",
    )
    items_limit_default: int = Field(
        100, ge=1, description="Features per page when a client gives no ``limit``."
    )
    items_limit_max: int = Field(
        10_000, ge=1, description="Largest page; a larger ``limit`` is capped to it."
    )
    public_max_resolution: int = Field(
        8, ge=7, le=10, description="Finest H3 resolution the anonymous public may see."
    )
    public_min_count: int = Field(
        5, ge=1, description="Counts below this are suppressed in what the public sees."
    )
    public_rounding_base: int = Field(
        5,
        ge=2,
        le=100,
        description="The public's counts are sums of atoms (public hexagon x category x week) "
        "randomly rounded to a multiple of this (features/disclosure.py).",
    )
    public_delay_days: int = Field(
        7,
        ge=7,
        description="The public and partners only see events older than this many days: counts "
        "stop at the start of the local day (``timezone``) that many days before today.",
    )
    report_max_vertices: int = Field(
        10_000, ge=4, description="Most vertices accepted in a report or zone polygon."
    )
    report_max_years: int = Field(
        10,
        ge=1,
        le=100,
        description="Longest period of a polygon report, in years (ten years of history for "
        "the trends; the report reads the monthly partitions of the period only).",
    )
    report_max_area_km2: float = Field(
        1_000.0, gt=0, description="Largest polygon area (km²) accepted for a report or zone."
    )
    export_max_rows: int = Field(
        5_000_000, ge=1, description="Most features in one export (streamed formats included)."
    )
    # issue 14 §6: export files kept for HTTP range reads (under data_dir/export-cache)
    export_cache_entries: int = Field(
        32, ge=0, description="Export files (GeoParquet, GeoPackage, FlatGeobuf) kept on disk."
    )
    tile_cache_entries: int = Field(
        4_096, ge=0, description="Vector tiles kept in memory per process (0 disables)."
    )
    tile_max_points: int = Field(
        10_000, ge=1, description="Most event points in one tile (the most recent are kept)."
    )
    tile_max_age_s: int = Field(
        300, ge=0, description="``Cache-Control: max-age`` of tiles and tile metadata."
    )
    web_vendor_dir: Path = Field(
        default_factory=_default_web_vendor_dir,
        description="MapLibre GL JS files (``maplibre-gl/dist``) served to the web map.",
    )
    web_basemap_url: str | None = Field(
        None,
        description="Optional raster base map under the maps, an XYZ URL template "
        "(``https://…/{z}/{x}/{y}.png``); none by default: the map works offline.",
    )
    web_basemap_style_url: str | None = Field(
        None,
        description="Optional base map under the maps, a MapLibre style URL (Plan IGN: "
        "see the README); used instead of the raster template when both are set. When it "
        "cannot be reached the maps show their offline view.",
    )
    web_basemap_probe_s: float = Field(
        2.0,
        gt=0,
        description="How long the server waits for the base map before showing the offline "
        "view (seconds); the answer is kept for a minute.",
    )
    web_glyph_font: Path = Field(
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        description="TrueType font the maps' street names are drawn with (Debian's "
        "``fonts-dejavu-core``).",
    )
    web_basemap_attribution: str = Field(
        "", description="Attribution shown with the optional raster base map."
    )
    open311_photo_max_bytes: int = Field(
        8_000_000, ge=10_000, description="Largest photo accepted with a resident's report."
    )
    open311_photo_max_side: int = Field(
        2048, ge=256, description="Longest side (pixels) of a stored, re-encoded photo."
    )
    open311_photo_max_pixels: int = Field(
        50_000_000, ge=1_000_000, description="Largest decoded photo (pixels): bomb guard."
    )
    open311_rate_key_per_minute: float = Field(
        600.0, gt=0, description="Reports per minute one API key may file (token bucket)."
    )
    open311_rate_key_burst: int = Field(120, ge=1, description="Burst allowed per API key.")
    open311_rate_client_per_minute: float = Field(
        10.0, gt=0, description="Reports per minute one client address may file."
    )
    open311_rate_client_burst: int = Field(5, ge=1, description="Burst allowed per client.")
    open311_duplicate_radius_m: float = Field(
        50.0, ge=0, description="A new report this close to an open one of the same service..."
    )
    open311_duplicate_hours: float = Field(
        48.0, ge=0, description="...and this recent is linked to it as a duplicate."
    )
    open311_public_description: Literal["moderated", "always", "never"] = Field(
        "moderated",
        description="Residents' descriptions shown to the public: only once an agent has "
        "published them (moderated), as filed (always) or never.",
    )
    open311_public_time: Literal["day", "exact"] = Field(
        "day", description="Times of residents' reports shown to the public: to the day or exact."
    )
    open311_public_grid_m: float = Field(
        50.0,
        ge=0,
        le=1000,
        description="The public sees a report at the centre of the square of this side "
        "(metres, Lambert-93) it lies in; 0 shows the exact position.",
    )
    open311_agency: str = Field(
        "Ville de Marseille", description="``agency_responsible`` of residents' reports."
    )
    # Retention (issue 14 §4): the policy file; it replaces open311_retention_days.
    retention_file: Path | None = Field(
        None,
        description="TOML retention policy (how long free text, addresses, residents' contacts "
        "and photos, rejected rows are kept, by source and category); None: the packaged "
        "default ``geotranquil/retention.toml``.",
    )
    # --- durable jobs and the worker (issue 16 §2) ---
    jobs_max_attempts: int = Field(
        5, ge=1, le=50, description="Attempts of a failing job before it stays failed."
    )
    jobs_backoff_s: int = Field(
        5,
        ge=1,
        le=600,
        description="Base of the exponential backoff between attempts of a failing job "
        "(seconds): with 5, the retries wait 5, 25, 125, 625 s.",
    )
    jobs_heartbeat_s: float = Field(
        10.0, gt=0, le=600, description="Seconds between two heartbeats of a worker."
    )
    jobs_stalled_after_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="A worker silent for this long is dead (killed, machine lost): its "
        "running jobs go back to the queue. Keep it well above jobs_heartbeat_s.",
    )
    jobs_stalled_check_cron: str = Field(
        "* * * * *",
        description="When workers look for the jobs of dead workers (cron, a sixth field for "
        "seconds allowed: ``* * * * * */5``).",
    )
    retention_cron: str = Field(
        "15 2 * * *",
        description="When workers run the retention purge of the day (cron, read in UTC as "
        "procrastinate reads it: 02:15 UTC is 03:15 or 04:15 in Marseille).",
    )
    event_partitions_cron: str = Field(
        "45 1 * * *",
        description="When workers create the coming months' partitions of the events (cron, "
        "read in UTC).",
    )
    event_partitions_ahead_months: int = Field(
        3,
        ge=1,
        le=36,
        description="Months after the current one whose events' partition is kept ready.",
    )
    jobs_concurrency: int = Field(
        1, ge=1, le=32, description="Jobs one worker process runs at the same time."
    )
    # --- the weekly bulletin (issue 16 §5) ---
    bulletin_cron: str = Field(
        "0 6 * * 1",
        description="When workers build the bulletin of the past week (cron; default: Monday "
        "06:00, the worker's time zone).",
    )
    bulletin_recipients: str = Field(
        "",
        description="Who receives the bulletin by e-mail, comma-separated addresses; empty: "
        "nobody (the bulletin is still built and stored).",
    )
    # --- alerts ("veille", issue 16 §4) ---
    alerts_cron: str = Field(
        "7 * * * *",
        description="When workers evaluate every active alert rule besides the runs after a "
        "refresh (cron; hourly by default).",
    )
    alerts_max_attempts: int = Field(
        6,
        ge=1,
        le=50,
        description="Attempts of one alert delivery (e-mail, webhook) before it "
        "stays failed (visible in GET /alerts/events).",
    )
    alerts_backoff_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="Wait before the second attempt of a failed delivery (seconds); doubled at "
        "each further attempt (30, 60, 120 s... with the default).",
    )
    alerts_webhook_timeout_s: float = Field(
        10.0, gt=0, le=120, description="Seconds a webhook receiver has to answer."
    )
    smtp_host: str | None = Field(
        None,
        description="SMTP server of alert and bulletin e-mails; None: alert e-mails fail "
        "visibly and the bulletin is not e-mailed.",
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_from: str = Field(
        "veille@geotranquil.invalid", description="Sender address of alert and bulletin e-mails."
    )
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_user: str | None = Field(None, description="SMTP login, when the server asks for one.")
    smtp_password: str | None = Field(None, description="SMTP password (with smtp_user).")
    smtp_timeout_s: float = Field(20.0, gt=0, le=300, description="SMTP timeout (seconds).")
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="The address people reach the platform at: links in alert e-mails and "
        "webhooks (map view, unsubscribe).",
    )
    # --- batches pushed by partners (issue 16 §1) ---
    push_spool_dir: Path | None = Field(
        None,
        description="Where pushed batches wait for the worker, as files "
        "(default: <data_dir>/push-spool); deleted once ingested.",
    )
    push_max_bytes: int = Field(
        200 * 1024 * 1024,
        ge=1,
        description="Largest body a partner may push in one batch (bytes); beyond: 413.",
    )
    push_chunk_rows: int = Field(
        10_000,
        ge=100,
        description="Rows per committed chunk of a pushed batch (at most ingest_chunk_rows): "
        "a batch of a few chunks reads the next one while writing the current one.",
    )
    # --- analyses that refresh themselves (issue 16 §3) ---
    refresh_debounce_s: float = Field(
        60.0,
        ge=0,
        le=86400,
        description="Seconds a refresh of the analyses waits after data land: the pushes of "
        "that window give one refresh.",
    )
    refresh_cron: str = Field(
        "30 2 * * *",
        description="When the full refresh runs (cron, local time of ``timezone``; it recomputes "
        "even if no data changed).",
    )
    refresh_check_cron: str = Field(
        "* * * * *",
        description="When workers compare the events' version with the last refresh's (data "
        "changed outside a push) and look whether the full refresh is due (cron, UTC; a sixth "
        "field for seconds allowed).",
    )
    refresh_resolution: int = Field(
        9, ge=7, le=10, description="H3 resolution of the refreshed hot-spot and forecast runs."
    )
    refresh_permutations: int = Field(
        99,
        ge=0,
        le=9999,
        description="Permutations of the refreshed hot-spot runs (0: analytic p-values only).",
    )
    refresh_weeks: int = Field(
        52, ge=4, le=520, description="Whole weeks of data the refreshed hot-spot runs cover."
    )
    # --- staff sign-in through the City's single sign-on (OpenID Connect, issue 14 §2) ---
    oidc_issuer: str | None = Field(
        None,
        description="Issuer URL of the City's OpenID Connect provider (its discovery document is "
        "``<issuer>/.well-known/openid-configuration``); none: sign-in by API key only.",
    )
    oidc_client_id: str = Field("geotranquil", description="geotranquil's client id there.")
    oidc_client_secret: str | None = Field(None, description="geotranquil's client secret there.")
    oidc_audience: str | None = Field(
        None, description="Audience an access token must carry (default: the client id)."
    )
    oidc_scopes: str = Field(
        "openid profile email groups", description="Scopes asked for when a person signs in."
    )
    oidc_role_claim: str = Field(
        "groups",
        description="Claim holding the person's groups or roles (a dotted path for nested "
        "claims, e.g. ``realm_access.roles``).",
    )
    oidc_role_map: dict[str, str] = Field(
        default_factory=lambda: {
            "geotranquil-administrateurs": "admin",
            "geotranquil-analystes": "analyst",
            "geotranquil-agents": "agent",
            "geotranquil-urbanistes": "planner",
        },
        description="Group (value of the role claim) -> role, as JSON; the highest role of a "
        "person's groups applies; a person in none of them is refused (403).",
    )
    oidc_introspection: bool = Field(
        False,
        description="Also accept opaque (non-JWT) access tokens: checked at the provider's "
        "introspection endpoint, the groups read from its userinfo; a result is trusted "
        "``oidc_introspection_cache_s``.",
    )
    oidc_introspection_cache_s: float = Field(
        30.0, ge=0, description="How long an introspected token's answer is reused (seconds)."
    )
    oidc_redirect_url: str | None = Field(
        None,
        description="The sign-in callback as declared at the provider (``https://…/auth/retour``); "
        "default: built from the request.",
    )
    oidc_session_secret: str | None = Field(
        None,
        description="Key signing the session cookie (shared by all workers); default: derived "
        "from the client secret.",
    )
    oidc_session_max_age_s: int = Field(
        8 * 3600, ge=60, description="How long a sign-in lasts before signing in again."
    )
    oidc_cookie_secure: bool = Field(
        False, description="Send the session cookie over HTTPS only (set it in production)."
    )
    oidc_leeway_s: int = Field(
        30, ge=0, description="Clock skew tolerated when checking a token's times (seconds)."
    )
    oidc_timeout_s: float = Field(
        10.0, gt=0, description="Timeout of calls to the provider (discovery, keys, tokens)."
    )
    # --- analytics on a Dask cluster (issue 18 §2) ---
    dask_parent_resolution: int = Field(
        6,
        ge=0,
        le=10,
        description="H3 resolution of the parents that split the cells into a Dask cluster's "
        "tasks (--cluster): 6 is about 36 km², 343 cells at resolution 9 per task.",
    )
    dask_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Seconds to wait for a Dask scheduler (--cluster), then for a first worker.",
    )
    # --- several workers, one behaviour: shared state in Redis, proxies, read limit, CORS ---
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        description="Redis holding what every worker shares: rate limits, tiles, API keys. "
        "When it is unreachable each process falls back to its own memory (see README).",
    )
    redis_prefix: str = Field(
        "geotranquil",
        description="Prefix of our Redis keys (the database's name and identity are appended, "
        "so two databases never share state).",
    )
    tile_cache_ttl_s: int = Field(
        3_600, ge=0, description="Seconds a tile stays in the shared (Redis) cache (0 disables)."
    )
    read_rate_per_minute: float = Field(
        1_200.0,
        gt=0,
        description="GET requests per minute one client address may make without a staff key.",
    )
    read_rate_burst: int = Field(
        600, ge=1, description="Burst of GET requests allowed per client address."
    )
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Addresses or networks (CIDR) of the reverse proxies whose client-address "
        "header is believed, comma-separated; none by default.",
    )
    proxy_header: Literal["x-forwarded-for", "forwarded"] = Field(
        "x-forwarded-for",
        description="The header the trusted proxies set: X-Forwarded-For or Forwarded (RFC 7239).",
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Web origins allowed to call the API from a browser (CORS), comma-separated, "
        "e.g. https://kepler.gl,https://deck.gl; none by default.",
    )

    @property
    def through_pooler(self) -> bool:
        """Whether ``database_url`` goes through PgBouncer (``db_pooler``)."""
        if self.db_pooler == "auto":
            return urlsplit(self.database_url).port == PGBOUNCER_PORT
        return self.db_pooler == "pgbouncer"

    @property
    def direct_url(self) -> str:
        """The URL of a connection with a session of its own (``direct_database_url``)."""
        return self.direct_database_url or self.database_url

    @model_validator(mode="after")
    def _direct_behind_pooler(self) -> Settings:
        # through PgBouncer, the job queue's LISTEN and the session locks would break silently
        if self.through_pooler and self.direct_database_url is None:
            raise ValueError(
                "database_url goes through PgBouncer: set direct_database_url "
                "(GEOTRANQUIL_DIRECT_DATABASE_URL) to the database itself"
            )
        return self

    @model_validator(mode="after")
    def _heartbeats_before_death(self) -> Settings:
        # a live worker taken for dead would see its running jobs run a second time
        if self.jobs_stalled_after_s < 2 * self.jobs_heartbeat_s:
            raise ValueError(
                "jobs_stalled_after_s must be at least twice jobs_heartbeat_s "
                f"({self.jobs_stalled_after_s} < 2 × {self.jobs_heartbeat_s})"
            )
        return self

    @field_validator(
        "refresh_cron",
        "refresh_check_cron",
        "jobs_stalled_check_cron",
        "retention_cron",
        "event_partitions_cron",
        "bulletin_cron",
        "alerts_cron",
    )
    @classmethod
    def _cron(cls, value: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f"not a cron expression: {value!r}")
        return value

    @field_validator("trusted_proxies", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    access_log: bool = Field(
        True,
        description="Log one line per HTTP request (uvicorn's access log, query values masked): "
        "on in production; ``geotranquil demo`` turns it off unless it is set.",
    )

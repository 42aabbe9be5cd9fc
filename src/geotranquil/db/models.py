"""SQLAlchemy 2 + GeoAlchemy2 models: the schema of DESIGN.md §3.

Alembic migrations create the same schema; ``tests/integration/test_migrations.py`` proves
that the two do not drift.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

LOCATION_PRECISIONS = ("exact", "address", "street", "camera", "area")
SOURCE_KINDS = ("file", "api", "open311", "sensor")
AREA_KINDS = ("commune", "arrondissement", "quartier", "zone")
BATCH_STATUSES = ("running", "completed", "failed")
REFRESH_TRIGGERS = ("data", "schedule", "manual")
REFRESH_STATUSES = ("running", "succeeded", "skipped", "failed", "interrupted")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Category(Base):
    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    label: Mapped[str] = mapped_column(Text)
    family: Mapped[str] = mapped_column(Text)
    family_label: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    sort_order: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class Source(Base):
    __tablename__ = "sources"
    __table_args__ = (CheckConstraint(_in("kind", SOURCE_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    slug: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IngestBatch(Base):
    __tablename__ = "ingest_batches"
    __table_args__ = (
        CheckConstraint(_in("status", BATCH_STATUSES), name="status"),
        Index(None, "source_id", "file_sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(Text)
    mapping_sha256: Mapped[str | None] = mapped_column(Text)
    file_size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(Text, server_default=text("'running'"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rows_read: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    rows_committed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    inserted: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    updated: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    unchanged: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    rejected: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    unlocated: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    resumed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)


class IngestRejection(Base):
    __tablename__ = "ingest_rejections"
    __table_args__ = (UniqueConstraint("batch_id", "row_number"), Index(None, "reason"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batches.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)


class Event(Base):
    """One incident. The table is partitioned by RANGE (occurred_at), one partition per UTC
    month, created by the platform (:mod:`geotranquil.db.partitions`, migration 0024).

    A unique constraint of a partitioned table must hold the partition key, so the primary key
    is (id, occurred_at) (``id`` alone stays unique: one identity) and (source_id,
    external_id) is only a plain index here (one per partition): its global uniqueness is the
    primary key of :class:`EventKey` (migration 0026), which every writer of events fills in
    the same transaction. The references to ``events.id`` (geocoding, residents' reports, the
    keys) are kept by triggers, not foreign keys.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_source_id_external_id", "source_id", "external_id"),
        CheckConstraint(_in("location_precision", LOCATION_PRECISIONS), name="location_precision"),
        CheckConstraint("(geom IS NULL) = (h3_fine IS NULL)", name="located_consistently"),
        Index(None, "occurred_at"),
        Index(None, "category", "occurred_at"),
        Index(None, "h3_r9", "occurred_at"),
        Index(None, "h3_r10", "occurred_at"),
        Index(None, "geom", postgresql_using="gist"),
        Index("ix_events_unlocated", "source_id", postgresql_where=text("geom IS NULL")),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # source_id and category reference sources.id and categories.code (ON UPDATE CASCADE)
    # through statement-level triggers (migration 0028), not foreign keys: a foreign key
    # checks each written row (22 µs an event for the two), the triggers each statement once.
    source_id: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    native_category: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    geom: Mapped[Any] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=True
    )
    h3_fine: Mapped[int | None] = mapped_column(BigInteger)
    h3_r7: Mapped[int | None] = mapped_column(BigInteger)
    h3_r8: Mapped[int | None] = mapped_column(BigInteger)
    h3_r9: Mapped[int | None] = mapped_column(BigInteger)
    h3_r10: Mapped[int | None] = mapped_column(BigInteger)
    location_precision: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # Lineage, not a foreign key: a per-row FK check would cost about 10 % of the ingest
    # throughput. A trigger on ingest_batches (migration 0002) refuses to delete a batch that
    # events still come from, which keeps the reference valid at no cost to ingestion.
    batch_id: Mapped[int | None] = mapped_column(Integer)
    ingested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EventKey(Base):
    """The global key of an event: (source_id, external_id) is unique across every month of
    the partitioned ``events``; ``event_id`` and ``occurred_at`` (the partition key) lead to
    its one row. Written by the writers of events in their transaction (``db.ingest``,
    ``db.open311``), ``occurred_at`` follows an update; the statement-level triggers on
    ``events`` delete the keys of deleted events and empty the table on ``TRUNCATE events``.
    Looking identifiers up here is one index probe each, whatever the months stored.
    """

    __tablename__ = "event_keys"

    source_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(Text, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


#: The events' counts by UTC day of ``occurred_at``, source, category and location, as DELTA
#: rows kept by statement-level triggers on ``events`` (migrations 0027, 0029): insert-only, so
#: concurrent writers share no row lock; the count of a key is the sum of its rows, compacted daily
#: (``db.day_counts.compact_day_counts``). No primary key: a key has several rows until then.
event_day_counts = Table(
    "event_day_counts",
    Base.metadata,
    Column("day", Date, nullable=False),
    Column("source_id", Integer, nullable=False),  # no foreign key (migration 0029)
    Column("category", Text, nullable=False),
    Column("located", Boolean, nullable=False),
    Column("n", BigInteger, nullable=False),
    Index("ix_event_day_counts_day", "day"),
)


class Area(Base):
    __tablename__ = "areas"
    __table_args__ = (
        UniqueConstraint("kind", "code"),
        CheckConstraint(_in("kind", AREA_KINDS), name="kind"),
        Index(None, "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(Text)
    population: Mapped[int | None] = mapped_column(Integer)
    area_m2: Mapped[float] = mapped_column(Float)
    origin: Mapped[str] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))


class GridCell(Base):
    __tablename__ = "grid_cells"
    __table_args__ = (
        Index(None, "resolution"),
        Index(None, "geom", postgresql_using="gist"),
        Index(None, "arrondissement_code"),
    )

    h3: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    resolution: Mapped[int] = mapped_column(SmallInteger)
    geom: Mapped[Any] = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False))
    area_m2: Mapped[float] = mapped_column(Float)
    land_share: Mapped[float] = mapped_column(Float)
    population: Mapped[float | None] = mapped_column(Float)
    arrondissement_code: Mapped[str | None] = mapped_column(Text)
    quartier_code: Mapped[str | None] = mapped_column(Text)


KEY_ROLES = ("admin", "analyst", "agent", "planner", "partner")


class ApiKey(Base):
    """An API key: only its SHA-256 is stored; ``prefix`` identifies it in lists and logs."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_in("role", KEY_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiKeySource(Base):
    """The one source a ``partner`` key may push to (issue 16 §1)."""

    __tablename__ = "api_key_sources"

    key_id: Mapped[int] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True
    )
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))


PUSH_STATES = ("queued", "running", "done", "failed")
PUSH_FORMATS = ("mapping", "canonical")


class PushBatch(Base):
    """A batch pushed by a partner (``POST /sources/{source}/batches``): its spooled file and
    the ingest batch the ``ingest_batch`` job fills."""

    __tablename__ = "push_batches"
    __table_args__ = (
        CheckConstraint(_in("state", PUSH_STATES), name="state"),
        CheckConstraint(_in("format", PUSH_FORMATS), name="format"),
        UniqueConstraint("source_id", "key_id", "idempotency_key"),
        Index(None, "source_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    spool_path: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(Text)
    media_type: Mapped[str] = mapped_column(Text)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default=text("'queued'"))
    ingest_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("ingest_batches.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DataVersion(Base):
    """One counter bumped by triggers whenever served data change (ETags, caches)."""

    __tablename__ = "data_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # what the analyses read: bumped by changes of events' time, category or place only (not
    # by the runs the analyses write), so a refresh can tell whether its inputs moved
    events_version: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    events_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class AnalysisRefresh(Base):
    """One refresh of the served analyses (issue 16 §3): from which events version, why,
    which runs it produced, how long it took, or why it failed."""

    __tablename__ = "analysis_refreshes"
    __table_args__ = (
        CheckConstraint(_in("trigger", REFRESH_TRIGGERS), name="trigger"),
        CheckConstraint(_in("status", REFRESH_STATUSES), name="status"),
        Index(None, "status", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    trigger: Mapped[str] = mapped_column(Text)
    forced: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    status: Mapped[str] = mapped_column(Text)
    data_version: Mapped[int] = mapped_column(BigInteger)  # data_version.events_version read
    data_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_s: Mapped[float | None] = mapped_column(Float)
    runs: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    notes: Mapped[str | None] = mapped_column(Text)  # steps left out (not enough data...)
    error: Mapped[str | None] = mapped_column(Text)


class DisclosureSecret(Base):
    """The secret key of the public counts' random rounding (one row, never served)."""

    __tablename__ = "disclosure_secret"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    secret: Mapped[str] = mapped_column(
        Text,
        server_default=text("md5(gen_random_uuid()::text) || md5(gen_random_uuid()::text)"),
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HotspotRun(Base):
    """One computation of a statistic: its parameters, data window, code version and timings.

    ``kind`` names a statistic of ``geotranquil.stats.registry`` (checked by the service).
    """

    __tablename__ = "hotspot_runs"
    __table_args__ = (
        CheckConstraint("bin IN ('day', 'week', 'month')", name="bin"),
        Index(None, "kind", "resolution", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    resolution: Mapped[int] = mapped_column(SmallInteger)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    bin: Mapped[str] = mapped_column(Text)
    categories: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    value: Mapped[str] = mapped_column(Text)  # counts | rate | eb_rate
    neighbourhood: Mapped[dict[str, Any]] = mapped_column(JSONB)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    data_window: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    code_version: Mapped[str] = mapped_column(Text)
    timings: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    n_cells: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HotspotCell(Base):
    """The result of a run for one cell; columns unused by a statistic stay NULL.

    A statistic's outputs without a column here are in ``outputs`` (name -> value).
    """

    __tablename__ = "hotspot_cells"
    __table_args__ = (Index(None, "h3"),)

    run_id: Mapped[int] = mapped_column(
        ForeignKey("hotspot_runs.id", ondelete="CASCADE"), primary_key=True
    )
    h3: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    value: Mapped[float] = mapped_column(Float)  # what the statistic saw (count or rate)
    z: Mapped[float | None] = mapped_column(Float)
    p: Mapped[float | None] = mapped_column(Float)  # analytic p-value
    p_sim: Mapped[float | None] = mapped_column(Float)  # permutation pseudo p-value
    significant: Mapped[bool | None] = mapped_column(Boolean)  # after FDR when requested
    gi_bin: Mapped[int | None] = mapped_column(SmallInteger)  # -3 .. +3
    cluster: Mapped[str | None] = mapped_column(Text)  # Local Moran: HH, LL, HL, LH, ns
    pattern: Mapped[str | None] = mapped_column(Text)  # emerging hot spot pattern
    trend_z: Mapped[float | None] = mapped_column(Float)
    trend_p: Mapped[float | None] = mapped_column(Float)
    hot_bins: Mapped[int | None] = mapped_column(SmallInteger)
    cold_bins: Mapped[int | None] = mapped_column(SmallInteger)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class BanRelease(Base):
    """One load of a Base Adresse Nationale file (a commune or a département)."""

    __tablename__ = "ban_releases"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(Text)
    rows_read: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    inserted: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    updated: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    unchanged: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    rejected: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    communes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BanAddress(Base):
    """An address of the BAN: a house number (or a named place, numero 99999) of a street."""

    __tablename__ = "ban_addresses"
    __table_args__ = (
        Index(None, "street_key", "numero"),
        Index(None, "code_insee"),
        Index(None, "geom", postgresql_using="gist"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    street_key: Mapped[str] = mapped_column(Text)
    numero: Mapped[int] = mapped_column(Integer)
    rep: Mapped[str] = mapped_column(Text, server_default="")
    nom_voie: Mapped[str] = mapped_column(Text)
    code_postal: Mapped[str | None] = mapped_column(Text)
    code_insee: Mapped[str] = mapped_column(Text)
    nom_commune: Mapped[str] = mapped_column(Text)
    nom_ancienne_commune: Mapped[str | None] = mapped_column(Text)
    alias: Mapped[str | None] = mapped_column(Text)
    nom_ld: Mapped[str | None] = mapped_column(Text)
    type_position: Mapped[str | None] = mapped_column(Text)
    source_position: Mapped[str | None] = mapped_column(Text)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    release_id: Mapped[int] = mapped_column(ForeignKey("ban_releases.id"))


GEOCODING_STATUSES = ("placed", "unplaced")


class EventGeocoding(Base):
    """How an address-only event was (or could not be) placed: kept for review and retries."""

    __tablename__ = "event_geocoding"
    __table_args__ = (
        CheckConstraint(_in("status", GEOCODING_STATUSES), name="status"),
        Index(None, "status"),
    )

    #: an event's id; deleting the event deletes this row (a trigger on ``events``: a foreign
    #: key cannot reference the partitioned table by id alone)
    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    query: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)
    precision: Mapped[str | None] = mapped_column(Text)
    matched: Mapped[str | None] = mapped_column(Text)
    interpolated: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    reason: Mapped[str | None] = mapped_column(Text)
    geocoder: Mapped[str] = mapped_column(Text)
    ban_release_id: Mapped[int | None] = mapped_column(Integer)
    geocoded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    #: an unplaced event's best placements for an analyst: [{label, lon, lat, score, precision}]
    candidates: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)


class ForecastRun(Base):
    """One forecast: the method, the origin and horizon, what it was fitted on."""

    __tablename__ = "forecast_runs"
    __table_args__ = (Index(None, "method", "resolution", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    method: Mapped[str] = mapped_column(Text)
    resolution: Mapped[int] = mapped_column(SmallInteger)
    origin: Mapped[date] = mapped_column(Date)
    period_days: Mapped[int] = mapped_column(SmallInteger)
    horizon: Mapped[int] = mapped_column(SmallInteger)
    categories: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    data_window: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    code_version: Mapped[str] = mapped_column(Text)
    timings: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    n_cells: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ForecastCell(Base):
    """A cell's expected events for the forecast period, its rank and top-share class."""

    __tablename__ = "forecast_cells"
    __table_args__ = (Index(None, "h3"),)

    run_id: Mapped[int] = mapped_column(
        ForeignKey("forecast_runs.id", ondelete="CASCADE"), primary_key=True
    )
    h3: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    expected: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    area_share: Mapped[float] = mapped_column(Float)  # share of the area ranked at or above
    top_class: Mapped[int | None] = mapped_column(SmallInteger)  # 1, 5, 10 or 20 (%) or NULL


SERVICE_REQUEST_STATES = (
    "received",
    "in_progress",
    "resolved",
    "rejected_duplicate",
    "rejected_abuse",
)


class ServiceRequest(Base):
    """A resident's report (Open311 GeoReport v2 service request), without personal data."""

    __tablename__ = "service_requests"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        CheckConstraint(_in("state", SERVICE_REQUEST_STATES), name="state"),
        CheckConstraint("char_length(description) <= 4000", name="description_length"),
        CheckConstraint(
            "char_length(public_description) <= 4000", name="public_description_length"
        ),
        Index(None, "requested_at"),
        Index(None, "service_code", "status", "requested_at"),
        Index(None, "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    service_request_id: Mapped[str] = mapped_column(Text, unique=True)
    token: Mapped[str] = mapped_column(Text, unique=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("categories.code", onupdate="CASCADE"))
    #: the report's event; set to NULL when the event is deleted (a trigger on ``events``: a
    #: foreign key cannot reference the partitioned table by id alone)
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(Text, server_default=text("'open'"))
    state: Mapped[str] = mapped_column(Text, server_default=text("'received'"))
    status_notes: Mapped[str | None] = mapped_column(Text)
    service_notice: Mapped[str | None] = mapped_column(Text)
    agency_responsible: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    description: Mapped[str | None] = mapped_column(Text)
    public_description: Mapped[str | None] = mapped_column(Text)
    description_published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    address_string: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    location_precision: Mapped[str] = mapped_column(Text)
    media_url: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("service_requests.id", ondelete="SET NULL")
    )
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    #: the client's key for one report, so a retried submission is stored once
    idempotency_key: Mapped[str | None] = mapped_column(Text, unique=True)


class ServiceRequestContact(Base):
    """Personal data of a report's author, apart from the report; deleted after retention."""

    __tablename__ = "service_request_contacts"
    __table_args__ = (Index(None, "delete_after"),)

    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    email: Mapped[str | None] = mapped_column(Text)
    first_name: Mapped[str | None] = mapped_column(Text)
    last_name: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    delete_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ServiceRequestMedia(Base):
    """A report's photo, re-encoded without any metadata; served to staff only.

    Staged (``request_id`` NULL, committed on its own) before its report's transaction, which
    attaches it (migration 0014); a staged photo never attached is deleted when due."""

    __tablename__ = "service_request_media"
    __table_args__ = (
        Index(None, "delete_after"),
        Index(
            "ix_service_request_media_staged",
            "delete_after",
            postgresql_where=text("request_id IS NULL"),
        ),
        CheckConstraint("(content IS NULL) <> (file IS NULL)", name="content_or_file"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), unique=True
    )
    mime_type: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    #: the photo's bytes (rows written before migration 0017) or the name of its file
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    file: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    delete_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ServiceRequestHistory(Base):
    """Every state change of a report: from, to, the note shown to the resident, who."""

    __tablename__ = "service_request_history"
    __table_args__ = (Index(None, "request_id", "changed_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    from_state: Mapped[str | None] = mapped_column(Text)
    to_state: Mapped[str] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditLog(Base):
    """The audit trail: who read raw events or personal data, exported, or changed access.

    Append-only (migration 0012): an insert trigger sets ``id`` and ``at`` and queues the row in
    :class:`AuditPending`; UPDATE, DELETE and TRUNCATE are refused. Its hash chain is
    :class:`AuditChain` (migration 0013). Never a key, never personal data: ``filters`` are
    the query parameters without any key.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index(None, "at"),
        Index(None, "who", "at"),
        Index(None, "action", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    who: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    method: Mapped[str | None] = mapped_column(Text)
    route: Mapped[str | None] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(Text)
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    bbox: Mapped[str | None] = mapped_column(Text)
    rows: Mapped[int | None] = mapped_column(BigInteger)
    client: Mapped[str | None] = mapped_column(Text)


class AuditChain(Base):
    """The audit trail's hash chain, in seal order: ``hash = sha256(prev_hash ||
    canonical(audit row))``. Written only by the database function ``audit_seal``;
    append-only like the trail (migration 0013)."""

    __tablename__ = "audit_chain"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    audit_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(Text)


class AuditPending(Base):
    """Audit rows not chained yet: queued by the trail's insert trigger, taken by
    ``audit_seal`` (migration 0013)."""

    __tablename__ = "audit_pending"

    audit_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class Bulletin(Base):
    """The weekly bulletin of one ISO week (issue 16 §5): its PDF, built again on demand
    (one row per week, a rebuild replaces it)."""

    __tablename__ = "bulletins"

    week: Mapped[str] = mapped_column(Text, primary_key=True)  # 2026-S49
    week_start: Mapped[date] = mapped_column(Date, unique=True)  # its Monday
    built_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sha256: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    emailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


ALERT_CONDITIONS = (
    "new_hotspot",
    "intensifying_hotspot",
    "consecutive_hotspot",
    "forecast_top1",
    "count_exceeds",
)
ALERT_ZONE_KINDS = ("commune", "arrondissement", "quartier", "zone")
DELIVERY_CHANNELS = ("email", "webhook")
DELIVERY_STATES = ("pending", "sent", "failed")


class AlertRule(Base):
    """An analyst's alert rule ("veille"): a zone (an ``areas`` row by kind and code, so
    reloading the reference areas keeps it), categories (empty: all), one condition, and where
    to deliver (e-mail and/or a signed webhook)."""

    __tablename__ = "alert_rules"
    __table_args__ = (
        CheckConstraint(_in("condition", ALERT_CONDITIONS), name="condition"),
        CheckConstraint(_in("zone_kind", ALERT_ZONE_KINDS), name="zone_kind"),
        CheckConstraint("n_weeks BETWEEN 1 AND 104", name="n_weeks"),
        CheckConstraint("alpha > 0 AND alpha < 1", name="alpha"),
        CheckConstraint("email IS NOT NULL OR webhook_url IS NOT NULL", name="delivery"),
        CheckConstraint("(webhook_url IS NULL) = (webhook_secret IS NULL)", name="webhook_secret"),
        Index(None, "owner"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    owner: Mapped[str] = mapped_column(Text)  # Caller.who: key:ID or sso:SUBJECT
    name: Mapped[str] = mapped_column(Text)
    zone_kind: Mapped[str] = mapped_column(Text)
    zone_code: Mapped[str] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    condition: Mapped[str] = mapped_column(Text)
    n_weeks: Mapped[int] = mapped_column(SmallInteger, server_default=text("8"))
    alpha: Mapped[float] = mapped_column(Float, server_default=text("0.01"))
    email: Mapped[str | None] = mapped_column(Text)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    unsubscribe_token: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AlertEvent(Base):
    """A rule that fired: one per rule, condition and period (ISO week), whatever the re-runs."""

    __tablename__ = "alert_events"
    __table_args__ = (UniqueConstraint("rule_id", "condition", "period"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    condition: Mapped[str] = mapped_column(Text)
    period: Mapped[str] = mapped_column(Text)  # ISO week, 2026-W23
    cells: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), server_default=text("'{}'::bigint[]")
    )
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    fired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AlertDelivery(Base):
    """Sending one fired alert on one channel: pending until sent, retried with backoff,
    failed (and kept, visible) after the last attempt."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "channel"),
        CheckConstraint(_in("channel", DELIVERY_CHANNELS), name="channel"),
        CheckConstraint(_in("state", DELIVERY_STATES), name="state"),
        Index(None, "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_events.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

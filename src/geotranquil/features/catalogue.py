"""The collections the platform serves, each one a SQL source with typed properties.

A :class:`Collection` says what its features are (a SQL subquery over our tables with a
feature id ``fid``, a geometry ``geom`` in EPSG:4326 and one column per property), who may
read it (:class:`~geotranquil.roles.Access`) and which properties can be filtered and sorted.
Only the trusted SQL written here reaches the database as text; every value a client gives is
a bound parameter (see :mod:`geotranquil.features.query`).

Counts collections aggregate events per cell for the period and categories the request names;
for the public and partners they keep only public categories, count only events older than the
public delay (:attr:`SourceContext.public_until`) and suppress small counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from geotranquil.db.forecasts import latest_forecast
from geotranquil.db.runs import default_run, output_sql
from geotranquil.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from geotranquil.features.cql2 import Queryable
from geotranquil.features.disclosure import HASH_SPACE, public_window
from geotranquil.roles import AGGREGATES, EVERYONE, RAW_EVENTS, Access, Role, is_restricted
from geotranquil.stats.registry import (
    COMMON_OUTPUTS,
    STATISTICS,
    Output,
    Statistic,
    served_outputs,
)

RESOLUTIONS = (7, 8, 9, 10)
AREA_COLLECTIONS = {
    "commune": ("commune", "Commune"),
    "arrondissements": ("arrondissement", "Arrondissements"),
    "quartiers": ("quartier", "Quartiers"),
}


@dataclass(frozen=True)
class Property:
    """A feature property: a column of the source, its JSON type, its French title."""

    name: str
    type: str
    title: str

    @property
    def queryable(self) -> Queryable:
        return Queryable(self.name, f"s.{self.name}", self.type)


@dataclass(frozen=True)
class Category:
    """A canonical category as the catalogue needs it."""

    code: str
    label: str
    family: str
    public: bool


@dataclass(frozen=True)
class SourceContext:
    """What the source SQL of a collection may depend on."""

    role: Role
    start: datetime | None = None
    end: datetime | None = None
    categories: tuple[str, ...] | None = None
    public_min_count: int = 5
    # restricted roles: only events that occurred before this instant are counted (the start of
    # the local day ``public_delay_days`` before today); required for them, ignored for staff
    public_until: datetime | None = None
    envelope: str | None = None  # trusted SQL of an EPSG:4326 box (bound values) to cut to
    count_only: bool = False  # counts sources: the total only, no per-category columns
    # restricted roles' disclosure control (see features/disclosure.py): the atoms' resolution,
    # the rounding base and the local time zone of their weeks
    public_resolution: int = 8
    rounding_base: int = 5
    timezone: str = "Europe/Paris"


SourceFn = Callable[[SourceContext], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Collection:
    """One served collection."""

    id: str
    title: str
    description: str
    access: Access
    geometry_type: str
    properties: tuple[Property, ...]
    source: SourceFn
    id_type: str = "string"
    temporal: str | None = None  # property holding each feature's instant
    aggregates_time: bool = False  # ``datetime`` selects the events counted, not features
    resolution: int | None = None  # hexagon collections: their H3 resolution
    run_id: int | None = None
    run_kind: str | None = None
    default_sort: str = "fid"
    extra_parameters: tuple[str, ...] = ()
    keywords: tuple[str, ...] = field(default_factory=tuple)
    hidden_from_public: tuple[str, ...] = ()  # properties the public and partners never get

    def view_for(self, role: Role) -> Collection:
        """The collection as ``role`` sees it (restricted roles lose the hidden properties)."""
        if not self.hidden_from_public or not is_restricted(role):
            return self
        kept = tuple(p for p in self.properties if p.name not in self.hidden_from_public)
        return replace(self, properties=kept)

    @property
    def is_hexagons(self) -> bool:
        return self.resolution is not None

    def property(self, name: str) -> Property:
        for prop in self.properties:
            if prop.name == name:
                return prop
        known = ", ".join(p.name for p in self.properties)
        raise InvalidInput(
            f"propriété « {name} » inconnue dans « {self.id} » ; propriétés : {known}"
        )

    def queryables(self) -> dict[str, Queryable]:
        out = {p.name: p.queryable for p in self.properties}
        out["geometry"] = Queryable("geometry", "s.geom", "geometry")
        return out

    def check_access(self, role: Role) -> None:
        if self.access.allows(role):
            return
        if role is Role.PUBLIC:
            raise NotAuthenticated(
                f"la collection « {self.id} » demande une clé API (en-tête X-API-Key)"
            )
        raise Forbidden(f"la collection « {self.id} » n'est pas accessible au rôle {role.value}")


# --- sources -----------------------------------------------------------------------------------


def _events_source(ctx: SourceContext) -> tuple[str, dict[str, Any]]:
    return (
        "SELECT e.id AS fid, e.geom, e.id, src.slug AS source, e.category, "
        "c.label AS category_label, c.family, e.native_category, e.occurred_at, e.reported_at, "
        "e.location_precision, e.address, lower(to_hex(e.h3_r10)) AS hex_r10, e.batch_id "
        "FROM events e JOIN sources src ON src.id = e.source_id "
        "JOIN categories c ON c.code = e.category",
        {},
    )


_EVENT_PROPERTIES = (
    Property("id", "integer", "Identifiant de l'événement"),
    Property("source", "string", "Source (silo)"),
    Property("category", "string", "Catégorie (code)"),
    Property("category_label", "string", "Catégorie"),
    Property("family", "string", "Famille de catégories"),
    Property("native_category", "string", "Catégorie d'origine dans la source"),
    Property("occurred_at", "datetime", "Date et heure des faits"),
    Property("reported_at", "datetime", "Date et heure du signalement"),
    Property("location_precision", "string", "Précision de la localisation"),
    Property("address", "string", "Adresse (texte libre)"),
    Property("hex_r10", "string", "Hexagone H3 de résolution 10"),
    Property("batch_id", "integer", "Lot d'ingestion"),
)


def _counts_source(resolution: int, categories: Sequence[Category]) -> SourceFn:
    def source(ctx: SourceContext) -> tuple[str, dict[str, Any]]:
        restricted = is_restricted(ctx.role)
        allowed = [c.code for c in categories if c.public or not restricted]
        chosen = [c for c in ctx.categories if c in allowed] if ctx.categories else allowed
        params: dict[str, Any] = {"res": resolution, "min": ctx.public_min_count}
        filters = [f"h3_r{resolution} IS NOT NULL"]
        if len(chosen) < len(categories):
            filters.append("category = ANY(:cats)")
            params["cats"] = chosen
        start, end = ctx.start, ctx.end
        if restricted:  # whole weeks, ending before the public delay, whatever is asked
            if ctx.public_until is None:
                raise ValueError("a restricted role's source context needs public_until")
            start, end = public_window(start, end, ctx.public_until, ctx.timezone)
        if start is not None:
            filters.append("occurred_at >= :t0")
            params["t0"] = start
        if end is not None:
            filters.append("occurred_at < :t1")
            params["t1"] = end
        cells = "g.resolution = :res"
        if ctx.envelope is not None:
            filters.append(
                f"h3_r{resolution} IN (SELECT h3 FROM grid_cells WHERE resolution = :res "
                f"AND geom && {ctx.envelope})"
            )
            cells += f" AND g.geom && {ctx.envelope}"
        per_category = []
        outer = []
        for i, cat in enumerate(() if ctx.count_only else categories):
            tally = f"count(*) FILTER (WHERE category = :c{i})"
            if restricted:
                tally = f"(sum(n) FILTER (WHERE category = :c{i}))::bigint"
            per_category.append(f"{tally} AS n_{cat.code}")
            params[f"c{i}"] = cat.code
            visible = cat.public or not restricted
            outer.append(
                _suppress(f"coalesce(c.n_{cat.code}, 0)", restricted) if visible else "NULL::bigint"
            )
            outer[-1] += f" AS n_{cat.code}"
        outer_columns = "".join(", " + o for o in outer)
        inner_columns = "".join(", " + p for p in per_category)
        where = " AND ".join(filters)
        if restricted:  # sums of the rounded atoms
            atoms = _public_atoms_sql(resolution, ctx, where, params)
            per_cell = (
                f"SELECT h3, sum(n)::bigint AS n{inner_columns} FROM ({atoms}) AS a GROUP BY 1"
            )
        else:
            per_cell = (
                f"SELECT h3_r{resolution} AS h3, count(*) AS n{inner_columns} "
                f"FROM events WHERE {where} GROUP BY 1"
            )
        sql = (
            "SELECT lower(to_hex(g.h3)) AS fid, g.geom, lower(to_hex(g.h3)) AS hex_id, "
            "g.resolution, "
            f"{_suppress('coalesce(c.n, 0)', restricted)}::bigint AS count, "
            f"round((1000.0 * {_suppress('coalesce(c.n, 0)', restricted)} "
            "/ nullif(g.population, 0))::numeric, 3)::float8 AS rate_per_1000, "
            "round(g.population::numeric, 1)::float8 AS population, "
            f"g.arrondissement_code, g.quartier_code{outer_columns} "
            f"FROM grid_cells g LEFT JOIN ({per_cell}) c ON c.h3 = g.h3 WHERE {cells}"
        )
        return sql, params

    return source


def _public_atoms_sql(
    resolution: int, ctx: SourceContext, where: str, params: dict[str, Any]
) -> str:
    """The randomly rounded atoms (hexagon x category x local week) under each hexagon.

    The atoms are counted at the public resolution, whatever the collection's (its hexagons
    are their parents), and rounded with the keyed hash of ``features.disclosure``: an atom's
    32-bit draw is the first 8 hex digits of ``md5(secret:h3:category:week)``.
    """
    if resolution > ctx.public_resolution:
        raise ValueError("restricted roles never see counts finer than the public resolution")
    params["d_tz"] = ctx.timezone
    params["d_base"] = ctx.rounding_base
    params["d_space"] = HASH_SPACE
    grouped = (
        f"SELECT h3_r{resolution} AS h3, h3_r{ctx.public_resolution} AS atom, category, "
        "date_trunc('week', occurred_at AT TIME ZONE :d_tz)::date AS week, count(*) AS n "
        f"FROM events WHERE {where} GROUP BY 1, 2, 3, 4"
    )
    draw = (
        "('x' || substr(md5(k.secret || ':' || a.atom::text || ':' || a.category || ':' "
        "|| a.week::text), 1, 8))::bit(32)::bigint"
    )
    return (
        "SELECT a.h3, a.category, (a.n / :d_base) * :d_base + CASE WHEN a.n % :d_base > 0 "
        f"AND {draw} * :d_base < (a.n % :d_base) * :d_space THEN :d_base ELSE 0 END AS n "
        f"FROM ({grouped}) AS a CROSS JOIN disclosure_secret AS k"
    )


def _suppress(expr: str, restricted: bool) -> str:
    """``expr``, or NULL below the public threshold when the caller is restricted."""
    if not restricted:
        return expr
    return f"(CASE WHEN {expr} >= :min THEN {expr} END)"


_HEX_HEAD = (
    Property("hex_id", "string", "Hexagone H3"),
    Property("resolution", "integer", "Résolution H3"),
)
_HEX_TAIL = (
    Property("population", "number", "Habitants estimés"),
    Property("arrondissement_code", "string", "Arrondissement"),
    Property("quartier_code", "string", "Quartier"),
)


def _hexagon_properties(*own: Property) -> tuple[Property, ...]:
    """A hexagon layer's properties: its id and resolution, its own, then where it lies."""
    return (*_HEX_HEAD, *own, *_HEX_TAIL)


def _per_cell_sql(table: str, columns: str) -> str:
    """The rows of one run of a per-cell result table (``:run``) on their hexagons."""
    return (
        "SELECT lower(to_hex(c.h3)) AS fid, g.geom, lower(to_hex(c.h3)) AS hex_id, "
        f"g.resolution, {columns}, round(g.population::numeric, 1)::float8 AS population, "
        "g.arrondissement_code, g.quartier_code "
        f"FROM {table} c JOIN grid_cells g ON g.h3 = c.h3 WHERE c.run_id = :run"
    )


def _counts_properties(categories: Sequence[Category]) -> tuple[Property, ...]:
    return (
        *_hexagon_properties(
            Property("count", "integer", "Nombre d'événements"),
            Property("rate_per_1000", "number", "Événements pour 1 000 habitants"),
        ),
        *(Property(f"n_{c.code}", "integer", c.label) for c in categories),
    )


def _grid_source(resolution: int) -> SourceFn:
    def source(ctx: SourceContext) -> tuple[str, dict[str, Any]]:
        return (
            "SELECT lower(to_hex(h3)) AS fid, geom, lower(to_hex(h3)) AS hex_id, resolution, "
            "round(area_m2::numeric, 1)::float8 AS area_m2, "
            "round(land_share::numeric, 4)::float8 AS land_share, "
            "round(population::numeric, 1)::float8 AS population, "
            "arrondissement_code, quartier_code FROM grid_cells WHERE resolution = :res",
            {"res": resolution},
        )

    return source


_GRID_PROPERTIES = _hexagon_properties(
    Property("area_m2", "number", "Surface (m²)"),
    Property("land_share", "number", "Part terrestre"),
)


def _run_source(run_id: int, outputs: tuple[Output, ...]) -> SourceFn:
    """A run's cells with the statistic's outputs, each label column after its code."""

    def source(ctx: SourceContext) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {"run": run_id}
        columns = ["c.run_id"]
        for i, out in enumerate(outputs):
            expr = output_sql(out.name, out.type)
            columns.append(f"{expr} AS {out.name}")
            if out.labels is None or not out.label_name:
                continue
            cases = []
            for j, (code, label) in enumerate(out.labels.items()):
                if isinstance(code, int):  # trusted integers from the registry's code
                    cases.append(f"WHEN {int(code)} THEN :l{i}_{j}")
                else:
                    cases.append(f"WHEN :k{i}_{j} THEN :l{i}_{j}")
                    params[f"k{i}_{j}"] = code
                params[f"l{i}_{j}"] = label
            columns.append(f"CASE {expr} {' '.join(cases)} END AS {out.label_name}")
        return _per_cell_sql("hotspot_cells", ", ".join(columns)), params

    return source


def _run_properties(outputs: tuple[Output, ...]) -> tuple[Property, ...]:
    return _hexagon_properties(
        Property("run_id", "integer", "Calcul"),
        *(Property(o.name, o.type, o.title) for o in served_outputs(outputs)),
    )


def _forecast_source(run_id: int) -> SourceFn:
    def source(ctx: SourceContext) -> tuple[str, dict[str, Any]]:
        columns = "c.run_id, c.expected, c.rank, c.area_share, c.top_class"
        return _per_cell_sql("forecast_cells", columns), {"run": run_id}

    return source


_FORECAST_PROPERTIES = _hexagon_properties(
    Property("run_id", "integer", "Prévision"),
    Property("expected", "number", "Événements attendus sur la période prévue"),
    Property("rank", "integer", "Rang (1 = le plus exposé)"),
    Property("area_share", "number", "Part de la zone classée à ce rang ou avant"),
    Property("top_class", "integer", "Classe : 1, 5, 10 ou 20 % les plus exposés"),
)


def _forecast_collection(cid: str, run: dict[str, Any]) -> Collection:
    return Collection(
        id=cid,
        title=f"Prévision — {run['method']}, période du {run['origin']}",
        description=(
            f"Prévision {run['id']} ({run['method']}) : événements attendus par hexagone de "
            f"résolution {run['resolution']} pour les {run['horizon']} période(s) de "
            f"{run['period_days']} jour(s) à partir du {run['origin']}."
        ),
        access=AGGREGATES,
        geometry_type="Polygon",
        properties=_FORECAST_PROPERTIES,
        source=_forecast_source(int(run["id"])),
        resolution=int(run["resolution"]),
        run_id=int(run["id"]),
        keywords=("prévision", "h3"),
    )


def _area_source(kind: str) -> SourceFn:
    def source(ctx: SourceContext) -> tuple[str, dict[str, Any]]:
        return (
            "SELECT code AS fid, geom, code, name, parent_code, population, "
            "round((area_m2 / 1e6)::numeric, 3)::float8 AS area_km2, origin "
            "FROM areas WHERE kind = :kind",
            {"kind": kind},
        )

    return source


_AREA_PROPERTIES = (
    Property("code", "string", "Code"),
    Property("name", "string", "Nom"),
    Property("parent_code", "string", "Zone parente"),
    Property("population", "integer", "Habitants"),
    Property("area_km2", "number", "Surface (km²)"),
    Property("origin", "string", "Origine des limites"),
)


def _zones_source(ctx: SourceContext) -> tuple[str, dict[str, Any]]:
    return (
        "SELECT a.id AS fid, a.geom, a.id, a.name, a.description, "
        "round((a.area_m2 / 1e6)::numeric, 3)::float8 AS area_km2, a.created_at "
        "FROM areas a WHERE a.kind = 'zone'",
        {},
    )


_ZONE_PROPERTIES = (
    Property("id", "integer", "Identifiant"),
    Property("name", "string", "Nom"),
    Property("description", "string", "Description"),
    Property("area_km2", "number", "Surface (km²)"),
    Property("created_at", "datetime", "Créée le"),
)


# --- the catalogue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """Every collection, built from the database's categories, resolutions and runs."""

    collections: dict[str, Collection]
    categories: tuple[Category, ...]
    public_max_resolution: int
    bbox: tuple[float, float, float, float] | None = None
    time_range: tuple[datetime | None, datetime | None] = (None, None)

    def get(self, collection_id: str, role: Role, *, conn: Connection | None = None) -> Collection:
        """The collection ``collection_id`` if ``role`` may read it (``run-N`` looked up)."""
        found = self.collections.get(collection_id)
        dynamic = collection_id.startswith(("run-", "forecast-"))
        if found is None and dynamic and conn is not None:
            found = _run_collection_by_id(conn, collection_id)
        if found is None:
            raise NotFound(
                f"collection « {collection_id} » introuvable ; voir /collections pour la liste"
            )
        found.check_access(role)
        return found.view_for(role)

    def visible(self, role: Role) -> list[Collection]:
        """The collections ``role`` may read, in catalogue order, as it sees them."""
        return [c.view_for(role) for c in self.collections.values() if c.access.allows(role)]


def load_catalogue(*, conn: Connection, public_max_resolution: int = 8) -> Catalogue:
    """Build the catalogue from the categories, grid resolutions and latest runs in the database."""
    categories = tuple(
        Category(r[0], r[1], r[2], bool(r[3]))
        for r in conn.execute(
            text("SELECT code, label, family, public FROM categories ORDER BY sort_order, code")
        )
    )
    for cat in categories:
        if not cat.code.replace("_", "").isalnum() or not cat.code.isascii():
            raise InvalidInput(f"code de catégorie « {cat.code} » inutilisable comme propriété")
    out: dict[str, Collection] = {}
    out["events"] = Collection(
        id="events",
        title="Événements",
        description="Chaque événement enregistré, avec son texte libre : réservé aux analystes.",
        access=RAW_EVENTS,
        geometry_type="Point",
        properties=_EVENT_PROPERTIES,
        source=_events_source,
        id_type="integer",
        temporal="occurred_at",
        keywords=("événements", "brut"),
    )
    for res in RESOLUTIONS:
        public = res <= public_max_resolution
        out[f"counts-r{res}"] = Collection(
            id=f"counts-r{res}",
            title=f"Nombre d'événements par hexagone (résolution {res})",
            description=(
                "Événements par hexagone H3, toutes catégories et par catégorie, pour la période "
                "du paramètre datetime (toutes les données sinon) et les catégories du paramètre "
                "categories."
                + (
                    " Public : catégories publiques seulement, nombres inférieurs au seuil masqués."
                    if public
                    else ""
                )
            ),
            access=EVERYONE if public else AGGREGATES,
            geometry_type="Polygon",
            properties=_counts_properties(categories),
            source=_counts_source(res, categories),
            aggregates_time=True,
            resolution=res,
            extra_parameters=("categories",),
            keywords=("comptages", "h3"),
            hidden_from_public=tuple(f"n_{c.code}" for c in categories if not c.public),
        )
    for res in RESOLUTIONS:
        out[f"grid-r{res}"] = Collection(
            id=f"grid-r{res}",
            title=f"Grille H3 (résolution {res})",
            description="Les hexagones H3 qui couvrent la zone d'étude, avec leurs habitants.",
            access=EVERYONE,
            geometry_type="Polygon",
            properties=_GRID_PROPERTIES,
            source=_grid_source(res),
            resolution=res,
            keywords=("grille", "h3"),
        )
    for stat in STATISTICS.values():
        run = default_run(conn=conn, kind=stat.name)
        if run is not None:
            out[stat.collection] = _run_collection(stat.collection, stat.name, run, latest=True)
    forecast = latest_forecast(conn=conn)
    if forecast is not None:
        out["forecasts"] = _forecast_collection("forecasts", forecast)
    for cid, (kind, title) in AREA_COLLECTIONS.items():
        out[cid] = Collection(
            id=cid,
            title=title,
            description=f"{title} de la zone d'étude, avec leurs habitants.",
            access=EVERYONE,
            geometry_type="MultiPolygon",
            properties=_AREA_PROPERTIES,
            source=_area_source(kind),
            keywords=("limites",),
        )
    out["zones"] = Collection(
        id="zones",
        title="Zones enregistrées",
        description="Polygones nommés enregistrés par les urbanistes et les analystes.",
        access=AGGREGATES,
        geometry_type="MultiPolygon",
        properties=_ZONE_PROPERTIES,
        source=_zones_source,
        id_type="integer",
        temporal="created_at",
        keywords=("zones",),
    )
    extent = conn.execute(
        text(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM ("
            "SELECT coalesce((SELECT ST_Extent(geom) FROM areas WHERE kind = 'commune'), "
            "(SELECT ST_Extent(geom) FROM grid_cells))::geometry AS b) AS e"
        )
    ).one()
    times = conn.execute(text("SELECT min(occurred_at), max(occurred_at) FROM events")).one()
    bbox = None if extent[0] is None else (extent[0], extent[1], extent[2], extent[3])
    return Catalogue(out, categories, public_max_resolution, bbox, (times[0], times[1]))


def _run_collection(cid: str, kind: str, run: dict[str, Any], *, latest: bool) -> Collection:
    """A run's collection; a run of a statistic no longer registered shows the common outputs."""
    run_id, resolution = run["id"], run["resolution"]
    start, end = run["period_start"], run["period_end"]
    stat: Statistic | None = STATISTICS.get(kind)
    title = stat.title if stat else f"Statistique « {kind} »"
    outputs = (*COMMON_OUTPUTS, *stat.outputs) if stat else COMMON_OUTPUTS
    return Collection(
        id=cid,
        title=f"{title} — {'dernier calcul' if latest else f'calcul {run_id}'}",
        description=(
            f"{title}, calcul {run_id} : résolution {resolution}, période du {start} au {end} "
            "(fin exclue)."
        ),
        access=AGGREGATES,
        geometry_type="Polygon",
        properties=_run_properties(outputs),
        source=_run_source(int(run_id), outputs),
        resolution=int(resolution),
        run_id=int(run_id),
        run_kind=kind,
        keywords=("points chauds", "h3"),
    )


def _run_collection_by_id(conn: Connection, collection_id: str) -> Collection | None:
    if collection_id.startswith("forecast-"):
        suffix = collection_id.removeprefix("forecast-")
        if not suffix.isdigit() or len(suffix) > 9:
            return None
        row = conn.execute(
            text("SELECT * FROM forecast_runs WHERE id = :i"), {"i": int(suffix)}
        ).first()
        return None if row is None else _forecast_collection(collection_id, dict(row._mapping))
    suffix = collection_id.removeprefix("run-")
    if not suffix.isdigit() or len(suffix) > 9:
        return None
    run = conn.execute(
        text(
            "SELECT id, resolution, period_start, period_end, kind FROM hotspot_runs WHERE id = :i"
        ),
        {"i": int(suffix)},
    ).first()
    if run is None:
        return None
    return _run_collection(collection_id, run[4], dict(run._mapping), latest=False)

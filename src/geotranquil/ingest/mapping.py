"""Declarative source mappings: one TOML file per silo, from its native format to the event.

A new partner's file needs a new mapping file, not new code. The packaged mappings live in
``geotranquil/ingest/mappings/``; any other file can be given with ``--mapping``.

Every key is documented in ``docs/sources.md``; :data:`geotranquil.ingest.keys.KEYS` lists
those accepted, table by table, and any other key is an error that names the valid ones. In short::

    slug = "habitants"                    # stable identifier of the source
    name = "Signalements des habitants"
    kind = "file"                         # file | api | open311 | sensor
    owner = "Direction de la relation citoyenne"

    [format]
    type = "json"                         # csv | jsonl | json | geojson
    encoding = "utf-8"                    # any Python codec (cp1252, latin-1, utf-8-sig...)
    delimiter = ";"                       # csv only
    records = "items"                     # json only: key of the array ("" = top level)

    [id]
    field = "report_id"

    [time]
    fields = ["Date des faits", "Heure des faits"]   # or field = "created"; joined by a space
    format = "%d/%m/%Y %H:%M"             # strptime format, or "iso8601"
    timezone = "Europe/Paris"             # zone of naive values; values with an offset keep it

    [category]
    field = "category"
    [category.values]                     # native value -> canonical code (case-insensitive)
    bruit = "nuisance_sonore"

    [location]                            # one of: coordinates, geometry, camera, address
    x = "location.lon"                    # dotted paths reach into nested JSON
    y = "location.lat"
    crs = "EPSG:4326"                     # or EPSG:2154 (Lambert-93)...
    # geometry = true                     # geojson: the feature's Point
    # camera = "camera_id"                # positions from a camera file beside the data file
    # [location.cameras]  file = "cameras.csv"  id = "camera_id"  x = "lon"  y = "lat"
    [location.address]                    # events with only an address wait for the geocoder
    number = "N° voie"
    suffix = "Indice"
    street = "Libellé voie"
    postcode = "Code postal"
    city = "Commune"

    [attributes]
    fields = ["Suite donnée"]             # kept in events.attributes; default: every other field
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from geotranquil.errors import MappingError
from geotranquil.ingest.keys import KEYS, TABLES, check_keys

__all__ = ["KEYS", "TABLES", "check_keys", "load_mapping", "packaged_mappings", "parse_mapping"]

FORMATS = ("csv", "jsonl", "json", "geojson")
KINDS = ("file", "api", "open311", "sensor")


@dataclass(frozen=True)
class CameraTable:
    """Where camera positions come from (a CSV file beside the data file)."""

    file: str
    id: str = "camera_id"
    x: str = "lon"
    y: str = "lat"
    crs: str = "EPSG:4326"
    delimiter: str = ","


@dataclass(frozen=True)
class AddressFields:
    """Native fields that make up a postal address."""

    number: str | None = None
    suffix: str | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None

    def fields(self) -> list[str]:
        return [f for f in (self.number, self.suffix, self.street, self.postcode, self.city) if f]


@dataclass(frozen=True)
class SourceMapping:
    """A parsed, checked source mapping."""

    slug: str
    name: str
    kind: str
    owner: str | None
    format: str
    encoding: str
    delimiter: str
    records: str
    id_field: str
    time_fields: tuple[str, ...]
    time_format: str
    timezone: str
    reported_fields: tuple[str, ...]
    reported_format: str
    category_field: str
    category_values: dict[str, str]
    x: str | None
    y: str | None
    crs: str
    geometry: bool
    camera: str | None
    cameras: CameraTable | None
    address: AddressFields
    attribute_fields: tuple[str, ...] | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    def used_fields(self) -> set[str]:
        """Native fields that the mapping reads (the others may go to attributes)."""
        used = {self.id_field, self.category_field, *self.time_fields, *self.reported_fields}
        used.update(f for f in (self.x, self.y, self.camera) if f)
        used.update(self.address.fields())
        return used

    @property
    def sha256(self) -> str:
        """Digest of the mapping's content (key order and TOML layout do not matter)."""
        text = json.dumps(self.raw, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def location_kind(self) -> str:
        if self.geometry:
            return "geometry"
        if self.x and self.y:
            return "coordinates"
        if self.camera:
            return "camera"
        return "address"


def _require(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table or table[key] in ("", None):
        raise MappingError(f"mapping : la clé « {key} » manque dans [{where}]")
    return table[key]


def _fields(table: dict[str, Any], where: str) -> tuple[str, ...]:
    if "fields" in table:
        value = table["fields"]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise MappingError(f"mapping : [{where}] fields doit être une liste de noms de champs")
        return tuple(value)
    return (str(_require(table, "field", where)),)


def parse_mapping(data: dict[str, Any], known_categories: set[str] | None = None) -> SourceMapping:
    """Check a mapping (already read from TOML) and return it typed.

    Raises :class:`~geotranquil.errors.MappingError` with a French message on any mistake.

    Examples
    --------
    >>> m = parse_mapping({
    ...     "slug": "demo", "name": "Démo", "format": {"type": "csv"},
    ...     "id": {"field": "id"}, "time": {"field": "date", "format": "iso8601"},
    ...     "category": {"field": "cat", "values": {"Bruit": "nuisance_sonore"}},
    ...     "location": {"x": "lon", "y": "lat"}})
    >>> m.category_values, m.location_kind
    ({'Bruit': 'nuisance_sonore'}, 'coordinates')
    """
    check_keys(data)
    slug = str(_require(data, "slug", "racine"))
    fmt = data.get("format", {})
    ftype = str(_require(fmt, "type", "format"))
    if ftype not in FORMATS:
        raise MappingError(
            f"mapping {slug} : format « {ftype} » inconnu (attendu : {', '.join(FORMATS)})"
        )
    kind = str(data.get("kind", "file"))
    if kind not in KINDS:
        raise MappingError(
            f"mapping {slug} : kind « {kind} » inconnu (attendu : {', '.join(KINDS)})"
        )
    encoding = str(fmt.get("encoding", "utf-8"))
    try:
        "".encode(encoding)
    except LookupError as exc:
        raise MappingError(f"mapping {slug} : encodage « {encoding} » inconnu") from exc
    time = data.get("time", {})
    reported = data.get("reported_time", {})
    cat = data.get("category", {})
    values = {str(k): str(v) for k, v in dict(cat.get("values", {})).items()}
    if known_categories is not None:
        wrong = sorted({(k, v) for k, v in values.items() if v not in known_categories})
        if wrong:
            said = ", ".join(f"« {k} » = « {v} »" for k, v in wrong)
            raise MappingError(
                f"mapping {slug} : catégories canoniques inconnues dans [category.values] : "
                f"{said}. Codes valides : {', '.join(sorted(known_categories))} "
                "(liste détaillée : geotranquil categories)"
            )
    loc = data.get("location", {})
    cams = loc.get("cameras")
    cameras = CameraTable(**cams) if isinstance(cams, dict) else None
    if loc.get("camera") and cameras is None:
        raise MappingError(f"mapping {slug} : [location.cameras] file est requis avec camera")
    if bool(loc.get("x")) != bool(loc.get("y")):
        raise MappingError(f"mapping {slug} : [location] x et y vont ensemble")
    if loc.get("geometry") and ftype != "geojson":
        raise MappingError(f"mapping {slug} : geometry = true n'existe que pour le format geojson")
    addr = AddressFields(**dict(loc.get("address", {})))
    if not (loc.get("x") or loc.get("geometry") or loc.get("camera") or addr.fields()):
        raise MappingError(f"mapping {slug} : [location] ne dit pas où trouver la position")
    attrs = data.get("attributes", {})
    return SourceMapping(
        slug=slug,
        name=str(data.get("name", slug)),
        kind=kind,
        owner=data.get("owner"),
        format=ftype,
        encoding=encoding,
        delimiter=str(fmt.get("delimiter", ",")),
        records=str(fmt.get("records", "")),
        id_field=str(_require(data.get("id", {}), "field", "id")),
        time_fields=_fields(time, "time"),
        time_format=str(_require(time, "format", "time")),
        timezone=str(time.get("timezone", "Europe/Paris")),
        reported_fields=_fields(reported, "reported_time") if reported else (),
        reported_format=str(reported.get("format", "iso8601")),
        category_field=str(_require(cat, "field", "category")),
        category_values=values,
        x=loc.get("x"),
        y=loc.get("y"),
        crs=str(loc.get("crs", "EPSG:4326")),
        geometry=bool(loc.get("geometry", False)),
        camera=loc.get("camera"),
        cameras=cameras,
        address=addr,
        attribute_fields=tuple(attrs["fields"]) if "fields" in attrs else None,
        raw=data,
    )


def load_mapping(path: Path, known_categories: set[str] | None = None) -> SourceMapping:
    """Read and check a mapping TOML file."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"mapping {path.name} : TOML invalide ({exc})") from exc
    except OSError as exc:
        raise MappingError(f"mapping {path} : lecture impossible ({exc.strerror})") from exc
    return parse_mapping(data, known_categories)


def packaged_mappings(known_categories: set[str] | None = None) -> dict[str, SourceMapping]:
    """The mappings shipped with the package, by slug."""
    folder = resources.files("geotranquil.ingest").joinpath("mappings")
    out: dict[str, SourceMapping] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            m = parse_mapping(tomllib.loads(entry.read_text("utf-8")), known_categories)
            out[m.slug] = m
    return out

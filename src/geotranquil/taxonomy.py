"""The canonical taxonomy, read from ``taxonomy.toml`` (a data file, synchronised into the DB)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CategoryDef:
    """One canonical category."""

    code: str
    label: str
    family: str
    family_label: str
    public: bool
    sort_order: int


@dataclass(frozen=True)
class ServiceAttribute:
    """One question of a reportable category's service definition (Open311 ``attribute``)."""

    code: str
    datatype: str
    required: bool
    description: str
    order: int
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ServiceDef:
    """A category residents may report: an Open311 GeoReport v2 service."""

    code: str
    name: str
    description: str
    group: str
    keywords: str
    attributes: tuple[ServiceAttribute, ...] = field(default_factory=tuple)


DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


def _read(path: Path | None) -> dict[str, Any]:
    if path is None:
        text = resources.files("geotranquil").joinpath("taxonomy.toml").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    return tomllib.loads(text)


def load_services(path: Path | None = None) -> list[ServiceDef]:
    """The reportable categories as Open311 services, in file order.

    Examples
    --------
    >>> services = {s.code: s for s in load_services()}
    >>> [v for _, v in services["eclairage_defaillant"].attributes[0].values]
    ['éteinte', 'clignote', 'allumée en journée']
    """
    data = _read(path)
    families: dict[str, str] = data["families"]
    out = []
    for c in data["category"]:
        if not c.get("reportable", False):
            continue
        attributes = []
        for i, a in enumerate(c.get("attribute", []), start=1):
            if a["datatype"] not in DATATYPES:
                raise ValueError(f"{c['code']}.{a['code']}: datatype {a['datatype']!r} inconnu")
            attributes.append(
                ServiceAttribute(
                    code=a["code"],
                    datatype=a["datatype"],
                    required=bool(a.get("required", False)),
                    description=a["description"],
                    order=i,
                    values=tuple((str(k), str(v)) for k, v in a.get("values", {}).items()),
                )
            )
        out.append(
            ServiceDef(
                code=c["code"],
                name=c["label"],
                description=c.get("service_description", c["label"]),
                group=families[c["family"]],
                keywords=c.get("keywords", ""),
                attributes=tuple(attributes),
            )
        )
    return out


def load_taxonomy(path: Path | None = None) -> list[CategoryDef]:
    """Categories of the taxonomy file (the packaged one by default), in file order.

    Examples
    --------
    >>> cats = load_taxonomy()
    >>> len(cats), cats[0].code, cats[0].family_label
    (12, 'degradation_bien_public', 'Atteintes aux biens')
    """
    data = _read(path)
    families: dict[str, str] = data["families"]
    return [
        CategoryDef(
            code=c["code"],
            label=c["label"],
            family=c["family"],
            family_label=families[c["family"]],
            public=bool(c.get("public", False)),
            sort_order=i,
        )
        for i, c in enumerate(data["category"])
    ]

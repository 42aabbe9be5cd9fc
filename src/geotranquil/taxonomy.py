"""The canonical taxonomy, read from ``taxonomy.toml`` (a data file, synchronised into the DB)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class CategoryDef:
    """One canonical category."""

    code: str
    label: str
    family: str
    family_label: str
    public: bool
    sort_order: int


def load_taxonomy(path: Path | None = None) -> list[CategoryDef]:
    """Categories of the taxonomy file (the packaged one by default), in file order.

    Examples
    --------
    >>> cats = load_taxonomy()
    >>> len(cats), cats[0].code, cats[0].family_label
    (12, 'degradation_bien_public', 'Atteintes aux biens')
    """
    if path is None:
        text = resources.files("geotranquil").joinpath("taxonomy.toml").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    data = tomllib.loads(text)
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

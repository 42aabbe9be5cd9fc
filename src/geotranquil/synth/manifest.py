"""The manifest of a synthetic data set: what was written and the planted ground truth."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

GENERATOR_VERSION = "1.2"  # 1.2: writes the BAN file; 1.1: the dumping hot spot planted 16x


@dataclass(frozen=True)
class FileEntry:
    """One silo file: its format, its record counts and the exact positions of its bad rows.

    Record numbers are 1-based: record 1 is the first data row (CSV), line (JSONL), feature
    (GeoJSON) or array element (JSON).
    """

    file: str
    source: str
    format: str
    encoding: str
    crs: str | None
    rows: int
    valid: int
    rejections: dict[str, list[int]]
    categories: dict[str, int]
    unlocated: int
    sha256: str

    @property
    def rejected(self) -> int:
        """Number of rows a correct ingester rejects."""
        return sum(len(v) for v in self.rejections.values())


@dataclass(frozen=True)
class CameraEntry:
    """The CSU camera file."""

    file: str
    count: int
    inside: int
    outside_camera_id: str
    sha256: str


@dataclass(frozen=True)
class PlantedEntry:
    """A planted hot spot or control area.

    ``start``/``end`` are ISO dates (end exclusive) of the period with excess; ``multiplier``
    is the expected ratio (background + excess) / background of the item's categories in the
    disk during that period; ``h3_res9`` lists the H3 resolution-9 cells (decimal integers)
    whose centres lie within ``radius_m``. ``events_in_radius`` counts the generated events of
    the item's categories in the disk during the period (background included) and
    ``excess_events`` those the item itself produced (near-repeats not included).
    """

    name: str
    kind: str
    center_lon: float
    center_lat: float
    radius_m: float
    categories: list[str]
    start: str
    end: str
    multiplier: float
    h3_res9: list[int]
    arrondissement: str
    expected_background: float
    expected_excess: float
    excess_events: int
    events_in_radius: int


@dataclass(frozen=True)
class Totals:
    """Counts over all silos."""

    events: int
    background: int
    planted: int
    offspring: int
    rows: int
    rejected: int
    categories: dict[str, int]


@dataclass(frozen=True)
class Manifest:
    """Everything a test needs to know about a generated data set (``manifest.json``)."""

    generator_version: str
    seed: int
    months: int
    start: str
    end: str
    scale: float
    timezone: str
    geography: str
    files: dict[str, FileEntry]
    cameras: CameraEntry
    planted: list[PlantedEntry]
    totals: Totals
    truth_files: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        """Stable JSON text (sorted keys, two-space indent, final newline).

        Examples
        --------
        >>> m = Manifest("1.0", 1, 1, "2025-01-01", "2025-02-01", 1.0, "Europe/Paris",
        ...              "builtin", {}, CameraEntry("c.csv", 0, 0, "", ""), [],
        ...              Totals(0, 0, 0, 0, 0, 0, {}))
        >>> Manifest.from_dict(json.loads(m.to_json())) == m
        True
        """
        return json.dumps(asdict(self), sort_keys=True, indent=2, ensure_ascii=False) + "\n"

    def file(self, source: str) -> FileEntry:
        """The entry of a source slug."""
        return self.files[source]

    def item(self, name: str) -> PlantedEntry:
        """A planted item by name."""
        return next(p for p in self.planted if p.name == name)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Rebuild a manifest from its JSON object."""
        return cls(
            generator_version=data["generator_version"],
            seed=int(data["seed"]),
            months=int(data["months"]),
            start=data["start"],
            end=data["end"],
            scale=float(data["scale"]),
            timezone=data["timezone"],
            geography=data["geography"],
            files={k: FileEntry(**v) for k, v in data["files"].items()},
            cameras=CameraEntry(**data["cameras"]),
            planted=[PlantedEntry(**p) for p in data["planted"]],
            totals=Totals(**data["totals"]),
            truth_files=dict(data.get("truth_files", {})),
        )

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read ``manifest.json`` (a file, or a directory holding it)."""
        if path.is_dir():
            path = path / "manifest.json"
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

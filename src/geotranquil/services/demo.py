"""The demo's data: synthetic files of the four silos, generated once per parameter set."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from geotranquil.config import Settings
from geotranquil.geography.reference import load_geography
from geotranquil.synth import GENERATOR_VERSION, generate

#: Files written by the generator, and the packaged mapping that reads each one.
DEMO_SOURCES: dict[str, str] = {
    "police_municipale_main_courante.csv": "police_municipale",
    "csu_alertes.jsonl": "csu",
    "services_espace_public.geojson": "services_espace_public",
    "signalements_habitants.json": "habitants",
}


@dataclass(frozen=True)
class SynthResult:
    directory: Path
    total_rows: int
    reused: bool


def _total_rows(manifest_path: Path) -> int:
    data = json.loads(manifest_path.read_text("utf-8"))
    return sum(int(f["rows"]) for f in data["files"].values())


def generate_synthetic(
    settings: Settings,
    out: Path,
    *,
    months: int,
    seed: int,
    scale: float,
    builtin: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> SynthResult:
    """Write the silo files into ``out``, unless a complete set for the same parameters is there."""
    manifest_path = out / "manifest.json"
    if manifest_path.is_file() and all((out / f).is_file() for f in DEMO_SOURCES):
        data = json.loads(manifest_path.read_text("utf-8"))
        wanted = (seed, months, scale, GENERATOR_VERSION)
        found = (
            data.get("seed"),
            data.get("months"),
            float(data.get("scale", 0)),
            data.get("generator_version"),
        )
        if found == wanted:
            return SynthResult(out, _total_rows(manifest_path), reused=True)
    geography = load_geography(None if builtin else settings.reference_dir)
    generate(geography, out, months=months, seed=seed, scale=scale, progress=progress)
    return SynthResult(out, _total_rows(manifest_path), reused=False)

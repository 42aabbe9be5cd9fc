"""Synthetic incident data with planted ground truth, in the native formats of the city's silos.

A pure layer: it writes files but never touches the database. The main entry points are
:func:`generate` (the four silo files, the camera file and ``manifest.json``),
:func:`generate_metropole` (the same at the scale of a plausible, synthetic Métropole, month
by month into yearly files) and :func:`generate_points` (bare events, for benchmarks).
"""

from geotranquil.synth.cameras import CAMERA_RANGE_M
from geotranquil.synth.generator import (
    MetropolePlan,
    generate,
    generate_metropole,
    generate_points,
)
from geotranquil.synth.intensity import ACTIVITY_CENTRES
from geotranquil.synth.manifest import (
    GENERATOR_VERSION,
    CameraEntry,
    FileEntry,
    Manifest,
    PlantedEntry,
    Totals,
)
from geotranquil.synth.streets import house_numbers, street_network
from geotranquil.synth.timegrid import local_fields, utc_strings
from geotranquil.synth.vocab import (
    CATEGORIES,
    CSU_CODES,
    HABITANTS_CATEGORIES,
    POLICE_HEADER,
    POLICE_NATURES,
    REASONS,
    SERVICES_TYPES,
    SOURCE_REASONS,
    SOURCES,
)

__all__ = [
    "ACTIVITY_CENTRES",
    "CAMERA_RANGE_M",
    "CATEGORIES",
    "CSU_CODES",
    "GENERATOR_VERSION",
    "HABITANTS_CATEGORIES",
    "POLICE_HEADER",
    "POLICE_NATURES",
    "REASONS",
    "SERVICES_TYPES",
    "SOURCES",
    "SOURCE_REASONS",
    "CameraEntry",
    "FileEntry",
    "Manifest",
    "MetropolePlan",
    "PlantedEntry",
    "Totals",
    "generate",
    "generate_metropole",
    "generate_points",
    "house_numbers",
    "local_fields",
    "street_network",
    "utc_strings",
]

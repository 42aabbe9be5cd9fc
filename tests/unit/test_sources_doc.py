"""docs/sources.md cannot rot, and a misspelt mapping key is never ignored.

Every key the mapping parser accepts is documented in the section of its table, every rejection
code in the table of reasons; the complete example of the page parses. Unknown keys are refused
at every level, naming the valid ones.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from shapely.geometry import box

from geotranquil.errors import MappingError
from geotranquil.ingest.hints import location_hint, readings
from geotranquil.ingest.mapping import KEYS, parse_mapping
from geotranquil.ingest.validate import REASONS
from geotranquil.taxonomy import load_taxonomy

DOC = Path(__file__).resolve().parents[2] / "docs" / "sources.md"


def _sections() -> dict[str, str]:
    """Text of each '###' / '####' section, by the table its heading names ('' = the root)."""
    text = DOC.read_text("utf-8")
    out: dict[str, str] = {}
    parts = re.split(r"^#{3,4} (.+)$", text, flags=re.MULTILINE)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        named = re.search(r"`\[([\w.]+)\]`", heading)
        out["" if "racine" in heading else named.group(1) if named else heading] = body
    return out


def example_blocks() -> tuple[str, str]:
    """The complete example's CSV text and mapping (the last ``text`` and ``toml`` blocks)."""
    text = DOC.read_text("utf-8")
    csv_text = re.findall(r"```text\n(.*?)```", text, flags=re.DOTALL)[-1]
    toml_text = re.findall(r"```toml\n(.*?)```", text, flags=re.DOTALL)[-1]
    return csv_text, toml_text


@pytest.mark.parametrize("table", list(KEYS))
def test_every_key_is_documented_in_its_table_section(table: str) -> None:
    sections = _sections()
    assert table in sections, f"no section for [{table}]"
    missing = [k for k in KEYS[table] if f"| `{k}` |" not in sections[table]]
    assert missing == []


def test_every_rejection_code_is_documented() -> None:
    text = DOC.read_text("utf-8")
    assert [code for code in REASONS if f"| `{code}` |" not in text] == []


def test_the_complete_example_parses() -> None:
    _, toml_text = example_blocks()
    m = parse_mapping(tomllib.loads(toml_text), {c.code for c in load_taxonomy()})
    assert (m.slug, m.encoding, m.delimiter, m.crs) == ("transporteur", "latin-1", ";", "EPSG:2154")


BASE = {
    "slug": "x",
    "format": {"type": "csv"},
    "id": {"field": "id"},
    "time": {"field": "d", "format": "iso8601"},
    "category": {"field": "c", "values": {"a": "vol"}},
    "location": {"x": "lon", "y": "lat"},
}


def test_misspelt_delimiter_names_the_valid_keys_and_the_likely_one() -> None:
    data = {**BASE, "format": {"type": "csv", "delimeter": ";"}}
    with pytest.raises(MappingError) as info:
        parse_mapping(data, {"vol"})
    assert str(info.value) == (
        "mapping : clé inconnue « delimeter » dans [format] : clés valides : delimiter, "
        "encoding, records, type (vouliez-vous dire « delimiter » ?)"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {**BASE, "categorie": {}},
            "clé inconnue « categorie » dans la racine du fichier : clés valides : attributes, "
            "category, format, id, kind, location, name, owner, reported_time, slug, time "
            "(vouliez-vous dire « category » ?)",
        ),
        (
            {**BASE, "time": {"field": "d", "format": "iso8601", "timezon": "UTC"}},
            "clé inconnue « timezon » dans [time] : clés valides : field, fields, format, "
            "timezone (vouliez-vous dire « timezone » ?)",
        ),
        (
            {**BASE, "location": {"address": {"street": "voie", "zip": "cp"}}},
            "clé inconnue « zip » dans [location.address] : clés valides : city, number, "
            "postcode, street, suffix",
        ),
        (
            {
                **BASE,
                "location": {"camera": "cam", "cameras": {"file": "c.csv", "lng": "lon"}},
            },
            "clé inconnue « lng » dans [location.cameras] : clés valides : crs, delimiter, "
            "file, id, x, y",
        ),
        (
            {**BASE, "attributes": {"field": ["a"]}},
            "clé inconnue « field » dans [attributes] : clés valides : fields "
            "(vouliez-vous dire « fields » ?)",
        ),
        ({**BASE, "format": "csv"}, "[format] doit être une table"),
    ],
    ids=["root", "time", "address", "cameras", "attributes", "not-a-table"],
)
def test_unknown_keys_are_refused_at_every_level(data: dict[str, object], message: str) -> None:
    with pytest.raises(MappingError) as info:
        parse_mapping(data, {"vol"})
    assert message in str(info.value)


def test_wrong_canonical_category_lists_the_valid_codes() -> None:
    known = {c.code for c in load_taxonomy()}
    data = {**BASE, "category": {"field": "c", "values": {"Fraude": "fraude", "Vol": "vol"}}}
    with pytest.raises(MappingError) as info:
        parse_mapping(data, known)
    text = str(info.value)
    assert (
        "catégories canoniques inconnues dans [category.values] : « Fraude » = « fraude »" in text
    )
    assert (
        f"Codes valides : {', '.join(sorted(known))} (liste détaillée : geotranquil categories)"
        in text
    )


MARSEILLE = box(5.30, 43.20, 5.50, 43.38)


def test_swapped_axes_are_found() -> None:
    lat = [43.29, 43.30, 43.26, 43.33]
    lon = [5.379, 5.40, 5.395, 5.41]
    hint = location_hint(lat, lon, "EPSG:4326", MARSEILLE, "longitude", "latitude")
    assert hint == (
        "0 % de l'échantillon tombe dans la zone d'étude tel que lu (x = « longitude », "
        "y = « latitude », EPSG:4326) ; 100 % y tomberait en échangeant x et y : écrivez "
        'x = "latitude" et y = "longitude" dans [location].'
    )


def test_lambert93_declared_as_gps_is_found() -> None:
    x = [893152.0, 893545.1, 894558.5]
    y = [6246557.7, 6245913.4, 6243041.3]
    hint = location_hint(x, y, "EPSG:4326", MARSEILLE, "X", "Y")
    assert hint is not None
    assert hint.endswith('écrivez crs = "EPSG:2154" (Lambert-93) dans [location].')
    assert "100 % y tomberait lu en EPSG:2154 :" in hint
    # and Lambert-93 read as Lambert-93 needs no hint
    assert location_hint(x, y, "EPSG:2154", MARSEILLE) is None
    assert readings(x, y, "EPSG:2154", MARSEILLE)[0].inside == 1.0


def test_positions_really_elsewhere_get_no_false_fix() -> None:
    paris = ([2.35, 2.36], [48.85, 48.86])
    hint = location_hint(*paris, "EPSG:4326", MARSEILLE)
    assert hint is not None and "aucun des systèmes courants" in hint


def test_ingest_help_points_at_the_doc() -> None:
    from typer.testing import CliRunner

    from geotranquil.cli.main import app

    for args in (["ingest", "--help"], ["sources", "check", "--help"]):
        result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert "docs/sources.md" in result.output

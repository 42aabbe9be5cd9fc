"""The dry run without a database: the doc's partner export, read and checked, nothing else."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from geotranquil.errors import InvalidInput
from geotranquil.ingest.dryrun import check_file
from geotranquil.ingest.mapping import SourceMapping, parse_mapping
from geotranquil.taxonomy import load_taxonomy

from .test_sources_doc import example_blocks

KNOWN = {c.code for c in load_taxonomy()}


def _write(tmp_path: Path, toml_text: str) -> tuple[Path, SourceMapping]:
    csv_text, _ = example_blocks()
    path = tmp_path / "incidents.csv"
    path.write_bytes(csv_text.replace("\n", "\r\n").encode("latin-1"))
    return path, parse_mapping(tomllib.loads(toml_text), KNOWN)


def test_partner_export_dry_run(tmp_path: Path) -> None:
    path, mapping = _write(tmp_path, example_blocks()[1])

    r = check_file(path, mapping, known_categories=KNOWN, study_area=None)

    assert (r.rows_read, r.accepted, r.rejected, r.record_word) == (5, 3, 2, "ligne")
    assert r.rejections_by_reason == {"nonexistent_local_time": 1, "unknown_category": 1}
    assert {k: v.row_number for k, v in r.examples.items()} == {
        "nonexistent_local_time": 4,
        "unknown_category": 5,
    }
    assert [(x["number"], x["external_id"], x["occurred_at"]) for x in r.first_rows] == [
        (2, "TR-0001", "2025-04-05T21:40:00+02:00"),
        (3, "TR-0002", "2025-04-06T08:15:00+02:00"),
        (6, "TR-0005", "2025-10-26T02:30:00+02:00"),
    ]
    # hints: the spring gap, the autumn hour read as summer time (TR-0005), « Fraude »
    assert [h.split(" ")[:3] for h in r.hints] == [
        ["1", "heure(s)", "locale(s)"],
        ["1", "heure(s)", "tombent"],
        ["valeurs", "de", "catégorie"],
    ]
    assert r.first_rows[0]["attributes"] == '{"Ligne": "41", "Arrêt": "Préfecture"}'


def test_a_column_name_off_by_case_is_suggested(tmp_path: Path) -> None:
    toml_text = example_blocks()[1].replace(
        'fields = ["Date", "Heure"]', 'fields = ["date", "Heure"]'
    )
    path, mapping = _write(tmp_path, toml_text)

    with pytest.raises(InvalidInput) as info:
        check_file(path, mapping, known_categories=KNOWN, study_area=None)

    assert "colonnes absentes de l'en-tête : date (en-tête lu, séparateur « ; » :" in str(
        info.value
    )
    assert str(info.value).endswith("« date » : vouliez-vous dire « Date » ?")

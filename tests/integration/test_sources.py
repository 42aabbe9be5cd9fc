"""Bringing a new source as a partner's data manager would (issue 16 §6), on a real database.

The partner export is the complete example of docs/sources.md, written here in Latin-1 with
';' and decimal commas, Lambert-93 coordinates and the partner's own category words: it
ingests with exact counts, the rejections name the physical line, a fixed mapping makes the
same file be read again, the dry run writes nothing and gives its hints.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from geotranquil.cli.main import app
from geotranquil.config import Settings
from geotranquil.errors import InvalidInput
from geotranquil.ingest.mapping import parse_mapping
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.services.sources import check_source
from tests.unit.test_sources_doc import example_blocks

from .ingest_helpers import (
    CASTELLANE,
    PRADO,
    RUE_DE_ROME,
    SAINT_CHARLES,
    SAINT_LOUP,
    batches,
    cli_env,
    counts,
    events,
    known_categories,
    mappings,
    rejections,
    utc,
    write_json,
    write_lines,
)
from .test_ingest_resume import _records


def _partner(tmp_path: Path, mapping_text: str | None = None) -> tuple[Path, Path]:
    """The doc's partner export (Latin-1, CRLF) and its mapping, written in ``tmp_path``."""
    csv_text, toml_text = example_blocks()
    data = write_lines(
        tmp_path / "incidents.csv", csv_text.strip("\n").split("\n"), "latin-1", "\r\n"
    )
    raw = data.read_bytes()
    assert b"Pr\xe9fecture" in raw and b";893152,0;" in raw  # Latin-1, ';', decimal commas
    mapping = tmp_path / "transporteur.toml"
    mapping.write_text(mapping_text or toml_text, encoding="utf-8")
    return data, mapping


def _ingest(settings: Settings, data: Path, mapping: Path) -> Any:
    return CliRunner().invoke(
        app, ["ingest", str(data), "--mapping", str(mapping)], env=cli_env(settings)
    )


def _fixed(toml_text: str) -> str:
    return toml_text.replace(
        '"Tag sur abribus" = "tag_graffiti"\n',
        '"Tag sur abribus" = "tag_graffiti"\n"Fraude" = "vol"\n',
    )


def _swap_axes(toml_text: str) -> str:
    good = 'x = "X Lambert 93"\ny = "Y Lambert 93"'
    assert good in toml_text
    return toml_text.replace(good, 'x = "Y Lambert 93"\ny = "X Lambert 93"')


def test_partner_export_ingests_right_and_a_fixed_mapping_reads_it_again(
    clean_events: Engine, settings: Settings, tmp_path: Path
) -> None:
    data, mapping = _partner(tmp_path)

    first = _ingest(settings, data, mapping)

    assert first.exit_code == 0, first.output
    [b1] = batches(clean_events)
    assert counts(b1) == {
        "status": "completed",
        "rows_read": 5,
        "rows_committed": 5,
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 2,
        "unlocated": 0,
        "resumed": 0,
    }
    rej = rejections(clean_events, b1["id"])
    assert {n: r["reason"] for n, r in rej.items()} == {
        4: "nonexistent_local_time",  # 30/03/2025 02:30 does not exist in Paris
        5: "unknown_category",  # « Fraude » is not mapped
    }
    assert rej[4]["detail"] == (
        "heure locale « 30/03/2025 02:30 » inexistante en Europe/Paris (heure sautée au passage "
        "à l'heure d'été) : corrigez-la à la source"
    )
    assert rej[4]["raw"] == (
        "TR-0003;30/03/2025;02:30;Tag sur abribus;893197,3;6247749,1;49;Gare Saint-Charles"
    )
    got = events(clean_events, "transporteur")
    expected = {
        "TR-0001": (utc(2025, 4, 5, 19, 40), "rixe_violence", RUE_DE_ROME, "41", "Préfecture"),
        "TR-0002": (
            utc(2025, 4, 6, 6, 15), "degradation_bien_public", CASTELLANE, "82", "Castellane"
        ),
        # 02:30 happens twice on 26/10/2025: the summer-time reading (UTC+2)
        "TR-0005": (
            utc(2025, 10, 26, 0, 30), "occupation_illicite", SAINT_LOUP, "12", "Saint-Loup"
        ),
    }  # fmt: skip
    assert set(got) == set(expected)
    for ext_id, (occurred, category, (lon, lat), line, stop) in expected.items():
        e = got[ext_id]
        assert (e["occurred_at"], e["category"]) == (occurred, category), ext_id
        assert e["lon"] == pytest.approx(lon, abs=2e-5) and e["lat"] == pytest.approx(lat, abs=2e-5)
        assert e["attributes"] == {"Ligne": line, "Arrêt": stop}

    # « geotranquil rejects » names them as the file's lines too
    out_csv = tmp_path / "rejets.csv"
    shown = CliRunner().invoke(
        app, ["rejects", str(b1["id"]), "--csv", str(out_csv)], env=cli_env(settings)
    )
    assert shown.exit_code == 0, shown.output
    assert out_csv.read_text("utf-8").splitlines()[0] == "ligne;motif;detail;contenu_brut"
    assert [line.split(";")[:2] for line in out_csv.read_text("utf-8").splitlines()[1:]] == [
        ["4", "nonexistent_local_time"],
        ["5", "unknown_category"],
    ]

    # the same file with the same mapping: nothing to do
    again = _ingest(settings, data, mapping)
    assert "déjà ingéré avec cette même correspondance (lot 1, 3 événement(s)" in again.output
    assert len(batches(clean_events)) == 1

    # the mapping fixed (« Fraude » mapped): the same file is read again, the fraud stored
    mapping.write_text(_fixed(example_blocks()[1]), encoding="utf-8")
    fixed = _ingest(settings, data, mapping)

    assert fixed.exit_code == 0, fixed.output
    assert "déjà ingéré" not in fixed.output
    b1, b2 = batches(clean_events)
    assert b1["mapping_sha256"] != b2["mapping_sha256"]
    assert (b2["inserted"], b2["unchanged"], b2["rejected"]) == (1, 3, 1)
    assert set(rejections(clean_events, b2["id"])) == {4}
    fraud = events(clean_events, "transporteur")["TR-0004"]
    assert (fraud["category"], fraud["native_category"]) == ("vol", "Fraude")
    assert (fraud["occurred_at"], fraud["batch_id"]) == (utc(2025, 1, 12, 6, 15), b2["id"])
    assert fraud["lon"] == pytest.approx(PRADO[0], abs=2e-5)


def test_a_batch_that_stored_nothing_is_read_again(
    clean_events: Engine, settings: Settings, tmp_path: Path
) -> None:
    toml_text = example_blocks()[1]
    swapped = _swap_axes(toml_text)
    data, mapping = _partner(tmp_path, swapped)

    for _ in range(2):  # all outside: nothing stored, so a re-run is not « déjà ingéré »
        result = _ingest(settings, data, mapping)
        assert result.exit_code == 1, result.output
        assert "Aucune ligne n'a pu être ingérée" in result.output
    assert [(b["inserted"], b["rejected"]) for b in batches(clean_events)] == [(0, 5), (0, 5)]

    mapping.write_text(_fixed(toml_text), encoding="utf-8")
    fixed = _ingest(settings, data, mapping)
    assert fixed.exit_code == 0, fixed.output
    assert set(events(clean_events, "transporteur")) == {"TR-0001", "TR-0002", "TR-0004", "TR-0005"}


def _row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) "
                "FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                "AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
            )
        ).scalars()
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def test_sources_check_shows_the_mapped_rows_and_writes_nothing(
    clean_events: Engine, settings: Settings, tmp_path: Path
) -> None:
    data, mapping = _partner(tmp_path)
    before = _row_counts(clean_events)
    assert len(before) > 20

    result = CliRunner().invoke(
        app, ["sources", "check", str(mapping), str(data)], env=cli_env(settings)
    )

    assert result.exit_code == 0, result.output
    assert _row_counts(clean_events) == before
    out = result.output
    assert "rien n'a été enregistré" in out and "l'en-tête est la ligne 1" in out
    for shown in ("TR-0001", "2025-04-05T21:40:00+02:00", "rixe_violence", "Agression d'un"):
        assert shown in out
    assert "2025-10-26T02:30:00+02:00" in out  # the autumn hour, read as summer time
    assert "nonexistent_local_time" in out and "unknown_category" in out
    assert "ligne 4 : heure locale « 30/03/2025 02:30 »" in out
    assert "ligne 5 : catégorie « Fraude » inconnue" in out

    report = check_source(settings, mapping, data)
    assert (report.rows_read, report.accepted, report.rejected) == (5, 3, 2)
    assert report.rejections_by_reason == {"nonexistent_local_time": 1, "unknown_category": 1}
    assert [r["number"] for r in report.first_rows] == [2, 3, 6]
    assert report.first_rows[0]["lon"] == pytest.approx(RUE_DE_ROME[0], abs=2e-5)
    assert report.hints == [
        "1 heure(s) locale(s) n'existent pas en Europe/Paris (l'heure sautée au passage à "
        "l'heure d'été) : elles sont rejetées, jamais décalées. Si le fichier donne en réalité "
        'des heures UTC, écrivez timezone = "UTC" dans [time] ; sinon corrigez-les à la source.',
        "1 heure(s) tombent dans l'heure vécue deux fois au passage à l'heure d'hiver en "
        "Europe/Paris : sans décalage écrit, elles sont lues comme la première (heure d'été). "
        "Écrivez le décalage (+01:00) à la source pour la seconde.",
        "valeurs de catégorie sans correspondance (à ajouter dans [category.values]) : "
        '"Fraude" = "?" (1 fois)',
    ]
    assert _row_counts(clean_events) == before


def test_sources_check_says_the_axes_are_swapped(
    clean_events: Engine, settings: Settings, tmp_path: Path
) -> None:
    toml_text = _fixed(example_blocks()[1])
    swapped = _swap_axes(toml_text)
    data, mapping = _partner(tmp_path, swapped)

    report = check_source(settings, mapping, data)

    assert report.rejections_by_reason == {"nonexistent_local_time": 1, "outside_study_area": 4}
    assert report.hints[0] == (
        "0 % de l'échantillon tombe dans la zone d'étude tel que lu (x = « Y Lambert 93 », "
        "y = « X Lambert 93 », EPSG:2154) ; 100 % y tomberait en échangeant x et y : écrivez "
        'x = "X Lambert 93" et y = "Y Lambert 93" dans [location].'
    )
    result = CliRunner().invoke(
        app, ["sources", "check", str(mapping), str(data)], env=cli_env(settings)
    )
    assert "Piste :" in result.output and "en échangeant x et y" in result.output


def test_sources_check_of_json_says_record_and_finds_the_gap(
    clean_events: Engine, settings: Settings, tmp_path: Path
) -> None:
    """JSON has no lines to speak of: « enregistrement N », the position in the array."""
    mapping = tmp_path / "habitants.toml"
    packaged = Path(__file__).resolve().parents[2] / "src/geotranquil/ingest/mappings"
    mapping.write_text((packaged / "habitants.toml").read_text("utf-8"), encoding="utf-8")
    assert tomllib.loads(mapping.read_text("utf-8"))["time"]["timezone"] == "Europe/Paris"
    report = {"category": "bruit", "location": {"lon": SAINT_CHARLES[0], "lat": SAINT_CHARLES[1]}}
    data = write_json(
        tmp_path / "signalements.json",
        [
            {**report, "report_id": "H-1", "created": "2025-03-30T01:59:00"},
            {**report, "report_id": "H-2", "created": "2025-03-30T02:15:00"},  # in the gap
            {**report, "report_id": "H-3", "created": "2025-03-30T02:15:00+01:00"},  # offset
        ],
    )
    assert json.loads(data.read_text("utf-8"))[1]["report_id"] == "H-2"

    got = check_source(settings, mapping, data)

    assert (got.record_word, got.accepted) == ("enregistrement", 2)
    assert got.examples["nonexistent_local_time"].row_number == 2
    result = CliRunner().invoke(
        app, ["sources", "check", str(mapping), str(data)], env=cli_env(settings)
    )
    assert "enregistrement 2 : heure locale « 2025-03-30T02:15:00 »" in result.output


def test_misspelt_key_and_categories_on_the_command_line(
    clean_events: Engine, settings: Settings, tmp_path: Path
) -> None:
    toml_text = example_blocks()[1].replace('delimiter = ";"', 'delimeter = ";"')
    data, mapping = _partner(tmp_path, toml_text)
    for args in (["ingest", str(data), "--mapping", str(mapping)],
                 ["sources", "check", str(mapping), str(data)]):  # fmt: skip
        result = CliRunner().invoke(app, args, env=cli_env(settings))
        assert result.exit_code == 2
        assert (
            "clé inconnue « delimeter » dans [format] : clés valides : delimiter, encoding, "
            "records, type (vouliez-vous dire « delimiter » ?)"
        ) in " ".join(result.output.split())
    assert batches(clean_events) == []

    listed = CliRunner().invoke(app, ["categories"], env=cli_env(settings))
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    rixe = next(line for line in lines if "rixe_violence" in line)
    assert "Rixes et violences sur la voie publique" in rixe and "non" in rixe.split("│")[-2]
    tags = next(line for line in lines if "tag_graffiti" in line)
    assert "Tags et graffitis" in tags and "oui" in tags.split("│")[-2]


def test_an_interrupted_batch_resumes_only_under_its_own_mapping(
    clean_events: Engine, dsn: str, tmp_path: Path
) -> None:
    """Resume keys on (source, file, mapping): a fixed mapping never resumes a batch written
    with the old one half-way, it reads the file from the start."""
    complete = _records(30, {7: "outside_study_area", 18: "invalid_date"})
    broken = tmp_path / "coupe.json"
    broken.write_text(json.dumps(complete[:25])[:-1] + ', {"report_id": HAB-26', encoding="utf-8")
    old = mappings(clean_events)["habitants"]
    raw = json.loads(json.dumps(old.raw))
    raw["category"]["values"]["feu de camp"] = "depot_sauvage"
    new = parse_mapping(raw, known_categories(clean_events))
    assert new.sha256 != old.sha256

    with pytest.raises(InvalidInput):
        ingest_file(dsn, broken, old, chunk_rows=10)
    with pytest.raises(InvalidInput):
        ingest_file(dsn, broken, new, chunk_rows=10)

    b1, b2 = batches(clean_events)
    assert (b1["status"], b1["mapping_sha256"], b1["rows_committed"]) == ("failed", old.sha256, 20)
    # the new mapping's batch read from record 1: the 18 events stored by b1 are unchanged
    assert (b2["mapping_sha256"], b2["resumed"], b2["rows_committed"]) == (new.sha256, 0, 20)
    assert (b2["inserted"], b2["unchanged"], b2["rejected"]) == (0, 18, 2)

    # same mapping again: resumed after its checkpoint
    with pytest.raises(InvalidInput):
        ingest_file(dsn, broken, new, chunk_rows=10)
    assert batches(clean_events)[1]["resumed"] == 1

    # a batch left 'running' (what kill -9 leaves) under the old mapping is marked failed
    # when the same file is read with the new one; the new one resumes from its checkpoint
    with clean_events.begin() as conn:
        conn.execute(
            text("UPDATE ingest_batches SET status = 'running' WHERE id = :b"), {"b": b1["id"]}
        )
    with pytest.raises(InvalidInput):
        ingest_file(dsn, broken, new, chunk_rows=10)
    b1, b2 = batches(clean_events)
    assert (b1["status"], b1["error"]) == (
        "failed",
        "abandonné : la correspondance (mapping) a changé depuis",
    )
    assert (b2["resumed"], b2["inserted"], b2["unchanged"]) == (2, 0, 18)

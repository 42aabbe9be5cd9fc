"""Every rejection reason, planted once per bad row in small native files.

Each file mixes good rows and rows with exactly one defect; the test states the exact set of
(row number, reason), that ``raw`` holds the original record and ``detail`` a human message, that
every good row became an event, and the batch's exact counts. Then whole-file failures: a file
with no good row (and the CLI's exit code), a missing column, a missing file.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from geotranquil.cli.main import app
from geotranquil.config import Settings
from geotranquil.errors import InvalidInput
from geotranquil.ingest.mapping import load_mapping
from geotranquil.ingest.pipeline import IngestSummary, ingest_file

from .ingest_helpers import (
    AIX,
    CASTELLANE,
    PARIS,
    POLICE_HEADER,
    RUE_DE_ROME,
    SAINT_CHARLES,
    TO_LAMBERT93,
    batch,
    batches,
    cli_env,
    counts,
    events,
    known_categories,
    mappings,
    rejections,
    scalar,
    write_json,
    write_jsonl,
    write_lines,
    write_police_csv,
)


def _assert_outcome(
    engine: Engine,
    summary: IngestSummary,
    *,
    rows: int,
    good: set[str],
    bad: dict[int, str],
    unlocated: int = 0,
) -> dict[int, dict[str, Any]]:
    """Exact batch counts, exact events, exact (row, reason) set; return the rejections."""
    assert counts(batch(engine, summary.batch_id)) == {
        "status": "completed",
        "rows_read": rows,
        "rows_committed": rows,
        "inserted": len(good),
        "updated": 0,
        "unchanged": 0,
        "rejected": len(bad),
        "unlocated": unlocated,
        "resumed": 0,
    }
    assert summary.rejections_by_reason == dict(Counter(bad.values()))
    assert set(events(engine)) == good
    got = rejections(engine, summary.batch_id)
    assert {(n, r["reason"]) for n, r in got.items()} == set(bad.items())
    for n, r in got.items():
        assert r["detail"].strip(), f"row {n}: empty detail"
        assert r["detail"] != r["reason"], f"row {n}: the detail is not a sentence"
    return got


# --- police municipale (CSV, cp1252): the reasons of a record without coordinates -------------


def test_police_csv_rejections(clean_events: Engine, dsn: str, tmp_path: Path) -> None:
    future = (date.today() + timedelta(days=5 * 365 + 1)).strftime("%d/%m/%Y")
    lines = {
        1: "PM-1;02/03/2025;22:14;Tapage nocturne;12;;Rue de Rome;13001;Marseille;Intervention",
        2: ";02/03/2025;23:00;Tapage nocturne;4;;Rue Paradis;13001;Marseille;",
        3: "PM-3;04/03/2025;10:00;Tags;1;;Cours Julien;13006;Marseille;Nettoyage demandé",
        4: "PM-3;05/03/2025;11:00;Rixe sur la voie publique;1;;Cours Julien;13006;Marseille;",
        5: "PM-5;;;Tapage nocturne;8;;Rue de la République;13002;Marseille;",
        6: "PM-6;31/02/2025;10:00;Tapage nocturne;8;;Rue de la République;13002;Marseille;",
        7: "PM-7;hier soir;;Tapage nocturne;8;;Rue de la République;13002;Marseille;",
        8: "PM-8;14/07/1950;10:00;Cambriolage;2;;Rue Sainte;13001;Marseille;",
        9: f"PM-9;{future};10:00;Cambriolage;2;;Rue Sainte;13001;Marseille;",
        10: "PM-10;06/03/2025;09:00;;2;;Rue Sainte;13001;Marseille;",
        11: "PM-11;06/03/2025;09:00;Incendie de poubelle;2;;Rue Sainte;13001;Marseille;",
        12: "PM-12;06/03/2025;09:00;Tags;5;;;;Marseille;",
        13: "PM-13;06/03/2025;09:00;Tags;5;;Rue Sainte;13001;Marseille;;en trop",
        14: "PM-14;07/03/2025;18:30;Stationnement gênant;;;Quai du Port;13002;Marseille;Verbalisé",
    }
    path = write_police_csv(tmp_path / "main_courante.csv", list(lines.values()))
    bad = {
        2: "missing_id",
        4: "duplicate_id",
        5: "missing_date",
        6: "invalid_date",
        7: "invalid_date",
        8: "date_out_of_range",
        9: "date_out_of_range",
        10: "missing_category",
        11: "unknown_category",
        12: "missing_location",
        13: "malformed_row",
    }

    summary = ingest_file(dsn, path, mappings(clean_events)["police_municipale"], chunk_rows=5)

    # a CSV rejection names the physical line: the header is line 1, data row n is line n + 1
    got = _assert_outcome(
        clean_events,
        summary,
        rows=14,
        good={"PM-1", "PM-3", "PM-14"},
        bad={n + 1: reason for n, reason in bad.items()},
        unlocated=3,
    )
    for n in bad:
        assert got[n + 1]["raw"] == lines[n]  # the original line, decoded from Windows-1252
    assert "31/02/2025" in got[7]["detail"] and "hier soir" in got[8]["detail"]
    assert "1950" in got[9]["detail"]
    assert "Incendie de poubelle" in got[12]["detail"]
    assert "« PM-3 » déjà accepté à la ligne 4 du fichier" in got[5]["detail"]
    assert "11 champs au lieu de 10" in got[14]["detail"]
    # the first occurrence of a repeated id is the one kept
    assert events(clean_events)["PM-3"]["category"] == "tag_graffiti"


# --- habitants (JSON array): dates, coordinates, study area -----------------------------------


def _report(ident: str | None, created: str, category: str, location: Any = None) -> Any:
    out: dict[str, Any] = {"report_id": ident, "created": created, "category": category}
    if location is not None:
        out["location"] = location
    return out


def _at(point: tuple[float, float]) -> dict[str, Any]:
    return {"lon": point[0], "lat": point[1]}


def test_habitants_json_rejections(clean_events: Engine, dsn: str, tmp_path: Path) -> None:
    when = "2025-05-01T10:00:00+02:00"
    records: dict[int, Any] = {
        1: _report("HAB-1", when, "bruit", _at(RUE_DE_ROME)),
        2: _report("HAB-2", "2025-13-45T25:00:00", "bruit", _at(RUE_DE_ROME)),
        3: _report("HAB-3", when, "bruit", {"lon": "n/a", "lat": 43.292}),
        4: _report("HAB-4", when, "bruit", {"lon": 5.379, "lat": ""}),
        5: _report("HAB-5", when, "bruit", {"lon": 5.379, "lat": 123}),
        6: _report("HAB-6", when, "bruit", _at(PARIS)),
        7: _report("HAB-7", when, "bruit", _at(AIX)),
        8: _report("HAB-8", when, "bruit"),
        9: _report("HAB-9", when, "voirie", _at(CASTELLANE)),
        10: "oops",
        11: _report(None, when, "bruit", _at(CASTELLANE)),
        12: _report("HAB-12", "2025-02-30T10:00:00+01:00", "tag", _at(CASTELLANE)),
        13: _report("HAB-13", "2025-05-02T08:00:00+02:00", "tag", _at(SAINT_CHARLES)),
    }
    path = write_json(tmp_path / "signalements.json", list(records.values()))
    bad = {
        2: "invalid_date",
        3: "invalid_coordinates",
        4: "invalid_coordinates",
        5: "invalid_coordinates",
        6: "outside_study_area",
        7: "outside_study_area",
        8: "missing_location",
        10: "malformed_row",
        11: "missing_id",
        12: "invalid_date",
    }

    summary = ingest_file(dsn, path, mappings(clean_events)["habitants"], chunk_rows=4)

    got = _assert_outcome(
        clean_events, summary, rows=13, good={"HAB-1", "HAB-9", "HAB-13"}, bad=bad
    )
    for n in bad:
        assert json.loads(got[n]["raw"]) == records[n]
    assert "2025-13-45T25:00:00" in got[2]["detail"]
    assert "n/a" in got[3]["detail"]
    assert "2.35220" in got[6]["detail"] and "48.85660" in got[6]["detail"]
    assert "5.44700" in got[7]["detail"] and "43.52900" in got[7]["detail"]


# --- services (GeoJSON, Lambert-93): geometries that are not points ---------------------------


def test_services_geojson_rejections(clean_events: Engine, dsn: str, tmp_path: Path) -> None:
    rome = TO_LAMBERT93.transform(*RUE_DE_ROME)
    aix = TO_LAMBERT93.transform(*AIX)

    def feature(ident: str, geometry: Any) -> Any:
        props = {
            "id_intervention": ident,
            "date_constat": "2025-04-02T09:00:00",
            "type_signalement": "Graffiti",
            "service": "Propreté",
        }
        return {"type": "Feature", "properties": props, "geometry": geometry}

    line = {"type": "LineString", "coordinates": [list(rome), [rome[0] + 50, rome[1] + 50]]}
    features: dict[int, Any] = {
        1: feature("INT-1", {"type": "Point", "coordinates": list(rome)}),
        2: feature("INT-2", line),
        3: feature("INT-3", {"type": "MultiPoint", "coordinates": [list(rome)]}),
        4: feature("INT-4", {"type": "Point", "coordinates": list(aix)}),
        5: feature("INT-5", None),
        6: feature("INT-6", {"type": "Point", "coordinates": ["abc", rome[1]]}),
        7: feature("INT-7", {"type": "Point", "coordinates": [rome[0] + 10, rome[1]]}),
    }
    path = write_json(
        tmp_path / "interventions.geojson",
        {"type": "FeatureCollection", "features": list(features.values())},
    )
    bad = {
        2: "invalid_geometry",
        3: "invalid_geometry",
        4: "outside_study_area",
        5: "missing_location",
        6: "invalid_coordinates",
    }

    summary = ingest_file(dsn, path, mappings(clean_events)["services_espace_public"])

    got = _assert_outcome(clean_events, summary, rows=7, good={"INT-1", "INT-7"}, bad=bad)
    for n in bad:
        raw = json.loads(got[n]["raw"])
        assert raw["id_intervention"] == f"INT-{n}"
        assert raw["service"] == "Propreté"
        assert raw["geometry"] == (features[n]["geometry"] or {})
    assert "LineString" in got[2]["detail"] and "MultiPoint" in got[3]["detail"]


# --- CSU (JSON lines + camera file): cameras, unreadable lines --------------------------------


def test_csu_jsonl_rejections(clean_events: Engine, dsn: str, tmp_path: Path) -> None:
    write_lines(
        tmp_path / "csu_cameras.csv",
        [
            "camera_id,lon,lat",
            f"CAM-1,{RUE_DE_ROME[0]},{RUE_DE_ROME[1]}",
            f"CAM-2,{CASTELLANE[0]},{CASTELLANE[1]}",
            "CAM-X,,",  # a camera without a usable position
            f"CAM-AIX,{AIX[0]},{AIX[1]}",
        ],
        "utf-8",
    )

    def alert(ident: str, camera: str | None, code: str = "VANDALISM") -> str:
        record: dict[str, Any] = {
            "alert_id": ident,
            "detected_at": "2025-09-01T20:00:00Z",
            "event_code": code,
        }
        if camera is not None:
            record["camera_id"] = camera
        return json.dumps(record)

    lines = {
        1: alert("CSU-1", "CAM-1"),
        2: alert("CSU-2", "CAM-999"),
        3: '{"alert_id": "CSU-3", "detected_at":',
        4: alert("CSU-4", None),
        5: "",  # blank lines are skipped but keep the numbering
        6: alert("CSU-6", "CAM-X"),
        7: alert("CSU-7", "CAM-AIX"),
        8: '["CSU-8", "CAM-1"]',
        9: alert("CSU-9", "CAM-2"),
        10: alert("CSU-10", "CAM-1", "EXPLOSION"),
    }
    path = write_jsonl(tmp_path / "alertes.jsonl", list(lines.values()))
    bad = {
        2: "unknown_camera",
        3: "malformed_row",
        4: "missing_location",
        6: "unknown_camera",
        7: "outside_study_area",
        8: "malformed_row",
        10: "unknown_category",
    }

    summary = ingest_file(dsn, path, mappings(clean_events)["csu"], chunk_rows=3)

    got = _assert_outcome(clean_events, summary, rows=10, good={"CSU-1", "CSU-9"}, bad=bad)
    assert got[3]["raw"] == lines[3] and got[8]["raw"] == lines[8]
    for n in (2, 4, 6, 7, 10):
        assert json.loads(got[n]["raw"]) == json.loads(lines[n])
    assert "CAM-999" in got[2]["detail"] and "CAM-X" in got[6]["detail"]
    assert "EXPLOSION" in got[10]["detail"]


# --- a UTF-8 partner CSV: bytes that are not UTF-8, lines with too many fields ----------------

UTF8_MAPPING = """
slug = "partenaire_utf8"
name = "Partenaire (UTF-8)"

[format]
type = "csv"
encoding = "utf-8"
delimiter = ","

[id]
field = "id"

[time]
field = "quand"
format = "iso8601"

[category]
field = "type"

[category.values]
bruit = "nuisance_sonore"

[location]
x = "lon"
y = "lat"
"""


def test_csv_bytes_invalid_in_declared_encoding(
    clean_events: Engine, dsn: str, tmp_path: Path
) -> None:
    mapping_path = tmp_path / "partenaire.toml"
    mapping_path.write_text(UTF8_MAPPING, encoding="utf-8")
    path = tmp_path / "partenaire.csv"
    path.write_bytes(
        b"id,quand,type,lon,lat,commentaire\n"
        b"U-1,2025-05-01T10:00:00+02:00,bruit,5.379,43.292,RAS\n"
        b"U-2,2025-05-01T11:00:00+02:00,bruit,5.379,43.292,caf\xe9 en terrasse\n"
        b"U-3,2025-05-01T12:00:00+02:00,bruit,5.3836,43.2861,ok,en trop\n"
        b"U-4,2025-05-01T13:00:00+02:00,bruit,5.3836,43.2861,d\xc3\xa9j\xc3\xa0 vu\n"
        b"U-5,2025-05-01T14:00:00+02:00,bruit,5.3836,,sans latitude\n"
        b"U-6,2025-05-01T15:00:00+02:00,bruit,,,sans position\n"
    )
    mapping = load_mapping(mapping_path, known_categories(clean_events))

    summary = ingest_file(dsn, path, mapping)

    # physical lines: the header is line 1
    bad = {3: "malformed_row", 4: "malformed_row", 6: "invalid_coordinates", 7: "missing_location"}
    got = _assert_outcome(clean_events, summary, rows=6, good={"U-1", "U-4"}, bad=bad)
    assert got[3]["raw"] == "U-2,2025-05-01T11:00:00+02:00,bruit,5.379,43.292,caf\ufffd en terrasse"
    assert "utf-8" in got[3]["detail"]
    assert got[4]["raw"] == "U-3,2025-05-01T12:00:00+02:00,bruit,5.3836,43.2861,ok,en trop"
    assert "7 champs au lieu de 6" in got[4]["detail"]
    assert events(clean_events)["U-4"]["attributes"] == {"commentaire": "déjà vu"}


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_nul_character_is_a_rejection_not_a_crash(
    clean_events: Engine, dsn: str, tmp_path: Path, fmt: str
) -> None:
    """A NUL character (which PostgreSQL text cannot hold) costs its row, not the whole file."""
    if fmt == "json":
        when = "2025-05-01T10:00:00+02:00"
        path = write_json(
            tmp_path / "signalements.json",
            [
                {**_report("HAB-1", when, "bruit", _at(RUE_DE_ROME)), "description": "RAS"},
                {**_report("HAB-2", when, "bruit", _at(RUE_DE_ROME)), "description": "a\x00b"},
                _report("HAB-\x003", when, "bruit", _at(RUE_DE_ROME)),
                _report("HAB-4", when, "bruit", _at(CASTELLANE)),
            ],
        )
        mapping = mappings(clean_events)["habitants"]
        good = {"HAB-1", "HAB-4"}
    else:
        mapping_path = tmp_path / "partenaire.toml"
        mapping_path.write_text(UTF8_MAPPING, encoding="utf-8")
        mapping = load_mapping(mapping_path, known_categories(clean_events))
        path = tmp_path / "partenaire.csv"
        path.write_bytes(
            b"id,quand,type,lon,lat,commentaire\n"
            b"U-1,2025-05-01T10:00:00+02:00,bruit,5.379,43.292,RAS\n"
            b"U-2,2025-05-01T11:00:00+02:00,bruit,5.379,43.292,a\x00b\n"
            b"U-\x003,2025-05-01T12:00:00+02:00,bruit,5.379,43.292,RAS\n"
            b"U-4,2025-05-01T13:00:00+02:00,bruit,5.3836,43.2861,RAS\n"
        )
        good = {"U-1", "U-4"}

    summary = ingest_file(dsn, path, mapping)

    first = 3 if fmt == "csv" else 2  # CSV: physical lines, the header is line 1
    _assert_outcome(
        clean_events,
        summary,
        rows=4,
        good=good,
        bad={first: "malformed_row", first + 1: "malformed_row"},
    )


# --- whole files: nothing good, a missing column, a missing file ------------------------------


def test_file_with_no_good_row(clean_events: Engine, settings: Settings, tmp_path: Path) -> None:
    when = "2025-05-01T10:00:00+02:00"
    path = write_json(
        tmp_path / "tout_faux.json",
        [
            _report("HAB-1", "la semaine dernière", "bruit", _at(RUE_DE_ROME)),
            _report("HAB-2", when, "bruit", _at(PARIS)),
            _report("HAB-3", when, "feu de camp", _at(RUE_DE_ROME)),
        ],
    )

    result = CliRunner().invoke(
        app, ["ingest", str(path), "--source", "habitants"], env=cli_env(settings)
    )

    assert result.exit_code == 1, result.output
    assert "Aucune ligne n'a pu être ingérée" in result.output
    assert "lignes rejetées" in result.output
    [b] = batches(clean_events)
    assert counts(b) == {
        "status": "completed",
        "rows_read": 3,
        "rows_committed": 3,
        "inserted": 0,
        "updated": 0,
        "unchanged": 0,
        "rejected": 3,
        "unlocated": 0,
        "resumed": 0,
    }
    assert scalar(clean_events, "SELECT count(*) FROM events") == 0
    assert {(n, r["reason"]) for n, r in rejections(clean_events).items()} == {
        (1, "invalid_date"),
        (2, "outside_study_area"),
        (3, "unknown_category"),
    }


def test_file_with_some_good_rows_exits_zero(
    clean_events: Engine, settings: Settings, tmp_path: Path
) -> None:
    when = "2025-05-01T10:00:00+02:00"
    path = write_json(
        tmp_path / "en_partie.json",
        [
            _report("HAB-1", when, "bruit", _at(RUE_DE_ROME)),
            _report("HAB-2", when, "bruit", _at(PARIS)),
            _report("HAB-3", when, "tag", _at(CASTELLANE)),
        ],
    )

    result = CliRunner().invoke(
        app, ["ingest", str(path), "--source", "habitants"], env=cli_env(settings)
    )

    assert result.exit_code == 0, result.output
    assert "nouveaux événements" in result.output
    assert "Aucune ligne" not in result.output
    assert set(events(clean_events)) == {"HAB-1", "HAB-3"}
    assert set(rejections(clean_events)) == {2}


def test_csv_missing_a_mapped_column(
    clean_events: Engine, dsn: str, settings: Settings, tmp_path: Path
) -> None:
    header = POLICE_HEADER.replace("Code postal;", "")
    path = write_lines(
        tmp_path / "sans_code_postal.csv",
        [header, "PM-1;02/03/2025;22:14;Tapage nocturne;12;;Rue de Rome;Marseille;RAS"],
        "cp1252",
    )

    with pytest.raises(InvalidInput) as info:
        ingest_file(dsn, path, mappings(clean_events)["police_municipale"])

    message = str(info.value)
    assert "colonnes absentes" in message and "Code postal" in message
    assert scalar(clean_events, "SELECT count(*) FROM events") == 0
    assert scalar(clean_events, "SELECT count(*) FROM ingest_rejections") == 0
    # the attempt is on record, failed, with the reason, and nothing committed
    [b] = batches(clean_events)
    assert (b["status"], b["rows_committed"], b["inserted"]) == ("failed", 0, 0)
    assert "Code postal" in b["error"]

    result = CliRunner().invoke(
        app, ["ingest", str(path), "--source", "police_municipale"], env=cli_env(settings)
    )
    assert result.exit_code == 2, result.output
    assert "Erreur" in result.output and "Code postal" in result.output
    assert "Traceback" not in result.output


def test_missing_file(clean_events: Engine, dsn: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="fichier introuvable"):
        ingest_file(dsn, tmp_path / "absent.csv", mappings(clean_events)["police_municipale"])
    assert batches(clean_events) == []


def test_duplicate_id_keeps_the_first_accepted_occurrence(
    clean_events: Engine, dsn: str, tmp_path: Path
) -> None:
    """A broken first occurrence does not block a later, valid one: nothing valid is lost."""
    when = "2025-05-01T10:00:00+02:00"
    records = [
        _report("HAB-1", "hier soir", "bruit", _at(RUE_DE_ROME)),  # 1: bad date
        _report("HAB-1", when, "bruit", _at(RUE_DE_ROME)),  # 2: accepted
        _report("HAB-1", when, "tag", _at(CASTELLANE)),  # 3: duplicate of 2
        _report("HAB-2", when, "bruit", _at(CASTELLANE)),  # 4: accepted
        _report("HAB-2", "hier soir", "bruit", _at(CASTELLANE)),  # 5: bad date wins
    ]
    path = write_json(tmp_path / "dups.json", records)
    summary = ingest_file(dsn, path, mappings(clean_events)["habitants"], chunk_rows=2)
    got = _assert_outcome(
        clean_events,
        summary,
        rows=5,
        good={"HAB-1", "HAB-2"},
        bad={1: "invalid_date", 3: "duplicate_id", 5: "invalid_date"},
    )
    assert "enregistrement 2" in got[3]["detail"]
    assert events(clean_events)["HAB-1"]["category"] == "nuisance_sonore"

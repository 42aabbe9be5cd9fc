"""Each silo's packaged mapping, fed its native file, gives exactly the expected events.

Files are written by hand in their native shape (encoding, delimiter, time zone, projection), so
every stored value is known: UTC times (daylight-saving edges included), canonical and native
categories, positions, H3 ids equal to the ``h3`` library's, and the SQL ``h3_parent``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from geotranquil.errors import MappingError
from geotranquil.ingest.mapping import load_mapping
from geotranquil.ingest.pipeline import ingest_file

from .ingest_helpers import (
    CASTELLANE,
    CHATEAU_GOMBERT,
    PRADO,
    RUE_DE_ROME,
    SAINT_CHARLES,
    SAINT_LOUP,
    TO_WGS84,
    assert_sql_parents_match,
    batch,
    cells_of,
    counts,
    events,
    expected_cells,
    known_categories,
    mappings,
    rejections,
    utc,
    write_json,
    write_jsonl,
    write_lines,
    write_police_csv,
)

NO_CELLS = {"h3_fine": None, "h3_r7": None, "h3_r8": None, "h3_r9": None, "h3_r10": None}


def _assert_located(event: dict[str, Any], lon: float, lat: float, tol: float = 1e-9) -> None:
    assert event["srid"] == 4326
    assert event["lon"] == pytest.approx(lon, abs=tol)
    assert event["lat"] == pytest.approx(lat, abs=tol)
    assert cells_of(event) == expected_cells(event["lon"], event["lat"])


def _completed(engine: Engine, batch_id: int, rows: int, inserted: int, unlocated: int = 0) -> None:
    assert counts(batch(engine, batch_id)) == {
        "status": "completed",
        "rows_read": rows,
        "rows_committed": rows,
        "inserted": inserted,
        "updated": 0,
        "unchanged": 0,
        "rejected": rows - inserted,
        "unlocated": unlocated,
        "resumed": 0,
    }


# --- police municipale: CSV, Windows-1252, ';', local date + time columns, addresses only ----


def test_police_municipale_csv_cp1252(clean_events: Engine, dsn: str, tmp_path: Path) -> None:
    path = write_police_csv(
        tmp_path / "main_courante_2025.csv",
        [
            "PM-2025-0001;02/03/2025;22:14;Tapage nocturne;12;bis;Rue de Rome;13001;Marseille;"
            "Intervention effectuée",
            # 02:30 does not exist on 30/03/2025 in Paris (clocks jump 02:00 -> 03:00): the row
            # is rejected (nonexistent_local_time) at its physical line, 3 (header = line 1)
            "PM-2025-0002;30/03/2025;02:30;Vol à l'arraché;;;Boulevard Longchamp;13001;Marseille;"
            "Plainte déposée",
            # 02:30 happens twice on 26/10/2025: the summer-time reading (UTC+2) is taken
            "PM-2025-0003;26/10/2025;02:30;Rodéo motorisé;45;;Avenue de la Capelette;13010;"
            "Marseille;",
            # native values are matched case- and space-insensitively, kept as written (stripped)
            "PM-2025-0004;15/07/2025;14:05; TAPAGE NOCTURNE ;3;ter;Place Castellane;13006;"
            "Marseille;Amende 135 €",
        ],
    )
    raw = path.read_bytes()
    assert b"N\xb0 main courante" in raw and b"135 \x80" in raw  # really Windows-1252
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")

    summary = ingest_file(dsn, path, mappings(clean_events)["police_municipale"], chunk_rows=3)

    assert (summary.status, summary.inserted, summary.rejected, summary.unlocated) == (
        "completed",
        3,
        1,
        3,
    )
    _completed(clean_events, summary.batch_id, rows=4, inserted=3, unlocated=3)
    gap = rejections(clean_events, summary.batch_id)
    assert {n: r["reason"] for n, r in gap.items()} == {3: "nonexistent_local_time"}
    assert "« 30/03/2025 02:30 » inexistante en Europe/Paris" in gap[3]["detail"]
    got = events(clean_events)
    expected = {
        "PM-2025-0001": (
            utc(2025, 3, 2, 21, 14),
            "nuisance_sonore",
            "Tapage nocturne",
            "12 bis Rue de Rome, 13001 Marseille",
            {"Suite donnée": "Intervention effectuée"},
        ),
        "PM-2025-0003": (
            utc(2025, 10, 26, 0, 30),
            "rodeo_urbain",
            "Rodéo motorisé",
            "45 Avenue de la Capelette, 13010 Marseille",
            {},
        ),
        "PM-2025-0004": (
            utc(2025, 7, 15, 12, 5),
            "nuisance_sonore",
            "TAPAGE NOCTURNE",
            "3 ter Place Castellane, 13006 Marseille",
            {"Suite donnée": "Amende 135 €"},
        ),
    }
    assert set(got) == set(expected)
    for ext_id, (occurred, category, native, address, attributes) in expected.items():
        e = got[ext_id]
        assert e["source"] == "police_municipale"
        assert e["occurred_at"] == occurred, ext_id
        assert (e["category"], e["native_category"]) == (category, native)
        assert (e["address"], e["location_precision"]) == (address, "address")
        assert e["attributes"] == attributes
        assert (e["lon"], e["lat"], e["reported_at"]) == (None, None, None)
        assert cells_of(e) == NO_CELLS
        assert (e["batch_id"], e["updated_at"]) == (summary.batch_id, None)
    with clean_events.connect() as conn:
        src = conn.execute(
            text("SELECT name, kind, owner, mapping->'format'->>'encoding' FROM sources")
        ).one()
    assert tuple(src) == (
        "Police municipale — main courante",
        "file",
        "Direction de la police municipale et de la sécurité",
        "cp1252",
    )


# --- CSU: JSON lines, UTC 'Z' times, English codes, positions from the camera file -----------


def test_csu_jsonl_positions_from_camera_file(
    clean_events: Engine, dsn: str, tmp_path: Path
) -> None:
    write_lines(
        tmp_path / "csu_cameras.csv",
        [
            "camera_id,lon,lat,libelle",
            f"CAM-012,{RUE_DE_ROME[0]},{RUE_DE_ROME[1]},Rue de Rome",
            f"CAM-031,{CASTELLANE[0]},{CASTELLANE[1]},Place Castellane",
            f"CAM-077,{SAINT_CHARLES[0]},{SAINT_CHARLES[1]},Gare Saint-Charles",
        ],
        "utf-8",
    )
    alerts = [
        {
            "alert_id": "CSU-0001",
            "detected_at": "2025-03-30T01:15:00Z",
            "event_code": "FIGHT",
            "camera_id": "CAM-012",
            "operator_confirmed": True,
            "severity": 3,
            "operator": "poste 7",
        },
        {
            "alert_id": "CSU-0002",
            "detected_at": "2025-10-26T00:30:00Z",
            "event_code": "drug_dealing",
            "camera_id": "CAM-031",
            "operator_confirmed": False,
            "severity": 2,
        },
        {
            "alert_id": "CSU-0003",
            "detected_at": "2025-01-01T00:05:00.250Z",
            "event_code": "URBAN_RODEO",
            "camera_id": "CAM-077",
            "severity": 1,
        },
    ]
    path = write_jsonl(tmp_path / "alertes.jsonl", [json.dumps(a) for a in alerts])

    summary = ingest_file(dsn, path, mappings(clean_events)["csu"], chunk_rows=2)

    _completed(clean_events, summary.batch_id, rows=3, inserted=3)
    got = events(clean_events)
    assert set(got) == {"CSU-0001", "CSU-0002", "CSU-0003"}
    expected = {
        "CSU-0001": (
            utc(2025, 3, 30, 1, 15),
            "rixe_violence",
            "FIGHT",
            RUE_DE_ROME,
            {"camera_id": "CAM-012", "operator_confirmed": True, "severity": 3},
        ),
        "CSU-0002": (
            utc(2025, 10, 26, 0, 30),
            "trafic_stupefiants",
            "drug_dealing",
            CASTELLANE,
            {"camera_id": "CAM-031", "operator_confirmed": False, "severity": 2},
        ),
        "CSU-0003": (
            utc(2025, 1, 1, 0, 5).replace(microsecond=250_000),
            "rodeo_urbain",
            "URBAN_RODEO",
            SAINT_CHARLES,
            {"camera_id": "CAM-077", "severity": 1},
        ),
    }
    for ext_id, (occurred, category, native, (lon, lat), attributes) in expected.items():
        e = got[ext_id]
        assert e["occurred_at"] == occurred, ext_id
        assert (e["category"], e["native_category"]) == (category, native)
        assert (e["location_precision"], e["address"]) == ("camera", None)
        assert e["attributes"] == attributes
        _assert_located(e, lon, lat, tol=1e-12)
    assert_sql_parents_match(clean_events, 3)


# --- services de l'espace public: GeoJSON in Lambert-93, local times without offset ----------


def test_services_geojson_lambert93(clean_events: Engine, dsn: str, tmp_path: Path) -> None:
    def feature(ident: str, when: str, kind: str, xy: tuple[float, float], **props: str) -> Any:
        return {
            "type": "Feature",
            "properties": {
                "id_intervention": ident,
                "date_constat": when,
                "type_signalement": kind,
                **props,
            },
            "geometry": {"type": "Point", "coordinates": list(xy)},
        }

    rome, castellane, prado = (893151.9, 6246557.7), (893545.1, 6245913.4), (894558.5, 6243041.3)
    collection = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
        "features": [
            feature("INT-1", "2025-03-30T02:30:00", "Candélabre éteint", rome,
                    service="Éclairage public", statut="signalé"),
            feature("INT-2", "2025-10-26T02:30:00", "Nid de poule", castellane,
                    service="Voirie", statut="en cours"),
            feature("INT-3", "2025-01-10T08:00:00", "dépôt sauvage", prado,
                    service="Propreté", agent="équipe B"),
            # an explicit offset is kept, whatever the mapping's zone
            feature("INT-4", "2025-08-01T09:30:00+02:00", "Graffiti", rome, service="Propreté"),
        ],
    }  # fmt: skip
    path = write_json(tmp_path / "interventions.geojson", collection)

    summary = ingest_file(dsn, path, mappings(clean_events)["services_espace_public"])

    _completed(clean_events, summary.batch_id, rows=4, inserted=3)
    # 02:30 on 30/03/2025 does not exist in Paris: record 1 is rejected, not shifted
    assert {n: r["reason"] for n, r in rejections(clean_events, summary.batch_id).items()} == {
        1: "nonexistent_local_time"
    }
    got = events(clean_events)
    expected = {
        "INT-2": (
            utc(2025, 10, 26, 0, 30),
            "voirie_degradee",
            "Nid de poule",
            castellane,
            CASTELLANE,
            {"service": "Voirie", "statut": "en cours"},
        ),
        "INT-3": (
            utc(2025, 1, 10, 7, 0),
            "depot_sauvage",
            "dépôt sauvage",
            prado,
            PRADO,
            {"service": "Propreté"},
        ),
        "INT-4": (
            utc(2025, 8, 1, 7, 30),
            "tag_graffiti",
            "Graffiti",
            rome,
            RUE_DE_ROME,
            {"service": "Propreté"},
        ),
    }
    assert set(got) == set(expected)
    for ext_id, (occurred, category, native, (x, y), near, attributes) in expected.items():
        e = got[ext_id]
        assert e["occurred_at"] == occurred, ext_id
        assert (e["category"], e["native_category"]) == (category, native)
        assert (e["location_precision"], e["address"]) == ("exact", None)
        assert e["attributes"] == attributes
        lon, lat = TO_WGS84.transform(x, y)
        _assert_located(e, lon, lat, tol=1e-6)
        # and the axes are not swapped: the point is where it was surveyed, within ~1 m
        assert e["lon"] == pytest.approx(near[0], abs=2e-5)
        assert e["lat"] == pytest.approx(near[1], abs=2e-5)
    assert_sql_parents_match(clean_events, 3)


def test_services_date_without_time_is_local_midnight(
    clean_events: Engine, dsn: str, tmp_path: Path
) -> None:
    """A naive ISO date ("2025-06-15") is a local date, like any naive value of the source."""
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "id_intervention": ident,
                    "date_constat": when,
                    "type_signalement": "Graffiti",
                },
                "geometry": {"type": "Point", "coordinates": [893151.9, 6246557.7]},
            }
            for ident, when in (("D-1", "2025-06-15"), ("D-2", "2025-06-15T00:00:00"))
        ],
    }
    path = write_json(tmp_path / "dates.geojson", collection)

    ingest_file(dsn, path, mappings(clean_events)["services_espace_public"])

    got = events(clean_events)
    assert got["D-2"]["occurred_at"] == utc(2025, 6, 14, 22, 0)
    assert got["D-1"]["occurred_at"] == utc(2025, 6, 14, 22, 0)


# --- habitants: JSON array, ISO times with offsets, nested location ---------------------------


def test_habitants_json_nested_location(clean_events: Engine, dsn: str, tmp_path: Path) -> None:
    def report(ident: str, created: str, category: str, lon: Any, lat: Any, desc: str) -> Any:
        return {
            "report_id": ident,
            "created": created,
            "category": category,
            "description": desc,
            "status": "nouveau",
            "location": {"lat": lat, "lon": lon},
        }

    reports = [
        report("HAB-1", "2025-03-30T03:30:00+02:00", "bruit", *RUE_DE_ROME, "Musique très forte"),
        # the same wall-clock time twice on 26/10/2025, told apart by the offset
        report("HAB-2", "2025-10-26T02:30:00+02:00", "Dechets", *CASTELLANE, "Sacs éventrés"),
        report("HAB-3", "2025-10-26T02:30:00+01:00", "eclairage", *SAINT_LOUP, ""),
        report("HAB-4", "2025-06-01T12:00:00Z", "voirie", "5.4500", "43.3600", "Trou"),
        # a naive time is local (Europe/Paris): the summer-time reading of the repeated hour
        report("HAB-5", "2025-10-26T02:30:00", "TAG", *PRADO, "Tag sur la façade"),
    ]
    path = write_json(tmp_path / "signalements.json", reports)

    summary = ingest_file(dsn, path, mappings(clean_events)["habitants"], chunk_rows=2)

    _completed(clean_events, summary.batch_id, rows=5, inserted=5)
    got = events(clean_events)
    expected = {
        "HAB-1": (utc(2025, 3, 30, 1, 30), "nuisance_sonore", "bruit", RUE_DE_ROME),
        "HAB-2": (utc(2025, 10, 26, 0, 30), "depot_sauvage", "Dechets", CASTELLANE),
        "HAB-3": (utc(2025, 10, 26, 1, 30), "eclairage_defaillant", "eclairage", SAINT_LOUP),
        "HAB-4": (utc(2025, 6, 1, 12, 0), "voirie_degradee", "voirie", CHATEAU_GOMBERT),
        "HAB-5": (utc(2025, 10, 26, 0, 30), "tag_graffiti", "TAG", PRADO),
    }
    assert set(got) == set(expected)
    for ext_id, (occurred, category, native, (lon, lat)) in expected.items():
        e = got[ext_id]
        assert e["occurred_at"] == occurred, ext_id
        assert (e["category"], e["native_category"]) == (category, native)
        assert (e["location_precision"], e["address"]) == ("exact", None)
        _assert_located(e, lon, lat, tol=1e-12)
    assert got["HAB-1"]["attributes"] == {"description": "Musique très forte"}
    assert got["HAB-3"]["attributes"] == {}  # empty values are not kept
    assert_sql_parents_match(clean_events, 5)


# --- a new partner: a mapping file, no code -----------------------------------------------------

PARTNER_MAPPING = """
slug = "bailleur_13"
name = "Bailleur social — incidents en résidence"
owner = "Habitat Marseille (partenaire)"

[format]
type = "csv"
encoding = "latin-1"
delimiter = ","

[id]
field = "référence"

[time]
fields = ["date", "heure"]
format = "%d/%m/%Y %Hh%M"
timezone = "Europe/Paris"

[category]
field = "nature"

[category.values]
"Dégradation parties communes" = "degradation_bien_public"
"Regroupement dans le hall" = "occupation_illicite"
"Bruit de voisinage" = "nuisance_sonore"

[location]
x = "x_l93"
y = "y_l93"
crs = "EPSG:2154"
"""


def test_new_partner_is_a_new_mapping_file_not_new_code(
    clean_events: Engine, dsn: str, tmp_path: Path
) -> None:
    mapping_path = tmp_path / "bailleur_13.toml"
    mapping_path.write_text(PARTNER_MAPPING, encoding="utf-8")
    path = write_lines(
        tmp_path / "incidents_residences.csv",
        [
            "référence,date,heure,nature,x_l93,y_l93,résidence,bâtiment",
            'B13-0001,05/04/2025,21h40,Bruit de voisinage,"893151,9","6246557,7",Les Églantiers,B',
            'B13-0002,30/03/2025,02h30,Regroupement dans le hall,"897366,6","6244239,3",La Rose,',
            "B13-0003,12/01/2025,07h15,Dégradation parties communes,894558,6243041,Le Parc,C",
        ],
        "latin-1",
        "\r\n",
    )
    assert "Églantiers".encode("latin-1") in path.read_bytes()

    mapping = load_mapping(mapping_path, known_categories(clean_events))
    summary = ingest_file(dsn, path, mapping)

    _completed(clean_events, summary.batch_id, rows=3, inserted=2)
    # 30/03/2025 02h30 does not exist in Paris: physical line 3 (header = 1), not shifted
    assert {n: r["reason"] for n, r in rejections(clean_events, summary.batch_id).items()} == {
        3: "nonexistent_local_time"
    }
    got = events(clean_events, "bailleur_13")
    expected = {
        "B13-0001": (
            utc(2025, 4, 5, 19, 40),
            "nuisance_sonore",
            (893151.9, 6246557.7),
            {"résidence": "Les Églantiers", "bâtiment": "B"},
        ),
        "B13-0003": (
            utc(2025, 1, 12, 6, 15),
            "degradation_bien_public",
            (894558.0, 6243041.0),
            {"résidence": "Le Parc", "bâtiment": "C"},
        ),
    }
    assert set(got) == set(expected)
    for ext_id, (occurred, category, (x, y), attributes) in expected.items():
        e = got[ext_id]
        assert e["occurred_at"] == occurred, ext_id
        assert e["category"] == category
        assert e["location_precision"] == "exact"
        # every unmapped column is kept, by default, in the attributes
        assert e["attributes"] == attributes
        lon, lat = TO_WGS84.transform(x, y)
        _assert_located(e, lon, lat, tol=1e-6)
    with clean_events.connect() as conn:
        src = conn.execute(text("SELECT slug, name, kind, mapping->>'slug' FROM sources")).one()
    assert tuple(src) == ("bailleur_13", "Bailleur social — incidents en résidence", "file",
                          "bailleur_13")  # fmt: skip
    assert_sql_parents_match(clean_events, 2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('"Bruit de voisinage" = "nuisance_sonore"', '"Incendie" = "incendie_volontaire"'),
            "catégories canoniques inconnues dans [category.values] : "
            "« Incendie » = « incendie_volontaire ». Codes valides : ",
        ),
        (('type = "csv"', 'type = "xlsx"'), "format « xlsx » inconnu"),
        (('y = "y_l93"\n', ""), "x et y vont ensemble"),
        (
            ('field = "nature"', 'champ = "nature"'),
            "clé inconnue « champ » dans [category] : clés valides : field, values",
        ),
        (
            ('[category]\nfield = "nature"', "[category]\n"),
            "la clé « field » manque dans [category]",
        ),
        (('encoding = "latin-1"', 'encoding = "latin-42"'), "encodage « latin-42 » inconnu"),
    ],
    ids=[
        "unknown-category",
        "unknown-format",
        "x-without-y",
        "unknown-key",
        "missing-key",
        "bad-encoding",
    ],
)
def test_bad_mapping_is_refused_in_french(
    clean_events: Engine, tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    known = known_categories(clean_events)
    good = tmp_path / "good.toml"
    good.write_text(PARTNER_MAPPING, encoding="utf-8")
    assert load_mapping(good, known).slug == "bailleur_13"  # the one change is the defect
    old, new = change
    assert PARTNER_MAPPING.count(old) == 1
    bad = tmp_path / "bad.toml"
    bad.write_text(PARTNER_MAPPING.replace(old, new), encoding="utf-8")

    with pytest.raises(MappingError) as info:
        load_mapping(bad, known)

    assert message in str(info.value)

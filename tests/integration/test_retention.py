"""The retention purge on planted data: exactly what each rule clears, on which day, and what
stays (events, their cells, row numbers and reasons); a second run clears nothing."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from typer.testing import CliRunner

from geotranquil.cli.main import app as cli
from geotranquil.config import Settings
from geotranquil.db.event_keys import add_missing_keys
from geotranquil.db.partitions import ensure_event_partitions
from geotranquil.grid.h3ids import cells_from_points, parent_ids
from geotranquil.services.retention import purge

from .ingest_helpers import CASTELLANE, PRADO, RUE_DE_ROME, SAINT_CHARLES

DAY = date(2026, 6, 15)  # local midnight: 2026-06-14T22:00Z (summer time)

POLICY = """
[[rule]]
source = "police_municipale"
category = "*"
data = "free_text"
months = 6
attributes = ["*"]

[[rule]]
source = "police_municipale"
category = "vol"
data = "free_text"
days = 30

[[rule]]
source = "*"
category = "rixe_violence"
data = "address"
days = 10

[[rule]]
source = "police_municipale"
category = "*"
data = "address"
months = 12

[[rule]]
source = "*"
category = "*"
data = "address"
months = 24

[[rule]]
source = "csu"
category = "*"
data = "free_text"
forever = true

[[rule]]
source = "habitants"
category = "*"
data = "free_text"
days = 100
attributes = ["description"]

[[rule]]
source = "habitants"
category = "*"
data = "contact"
days = 30

[[rule]]
source = "habitants"
category = "depot_sauvage"
data = "contact"
days = 7

[[rule]]
source = "habitants"
category = "*"
data = "photo"
days = 60

[[rule]]
source = "*"
category = "*"
data = "rejected_raw"
days = 90
"""


def _z(text_: str) -> datetime:
    return datetime.fromisoformat(text_.replace("Z", "+00:00"))


def _source(conn: Connection, slug: str) -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO sources (slug, name, kind) VALUES (:s, :s, 'file') "
                "ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name RETURNING id"
            ),
            {"s": slug},
        ).scalar_one()
    )


def _event(
    conn: Connection,
    source: int,
    ext: str,
    category: str,
    at: str,
    place: tuple[float, float] | None,
    address: str | None,
    attributes: dict[str, Any],
) -> int:
    cells: dict[str, Any] = {f"h3_r{r}": None for r in (7, 8, 9, 10)} | {"h3_fine": None}
    if place is not None:
        fine = cells_from_points([place[0]], [place[1]])
        cells = {"h3_fine": int(fine[0])} | {
            f"h3_r{r}": int(parent_ids(fine, r)[0]) for r in (7, 8, 9, 10)
        }
    ensure_event_partitions(conn=conn, first=_z(at), last=_z(at))
    event_id = int(
        conn.execute(
            text(
                "INSERT INTO events (source_id, external_id, category, occurred_at, geom, "
                "h3_fine, h3_r7, h3_r8, h3_r9, h3_r10, location_precision, address, attributes) "
                "VALUES (:src, :ext, :cat, :at, ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), "
                "CAST(:lat AS float8)), 4326), :h3_fine, :h3_r7, :h3_r8, "
                ":h3_r9, :h3_r10, :prec, :addr, CAST(:attrs AS jsonb)) RETURNING id"
            ),
            {
                "src": source,
                "ext": ext,
                "cat": category,
                "at": _z(at),
                "lon": None if place is None else place[0],
                "lat": None if place is None else place[1],
                **cells,
                "prec": "exact" if address is None else "address",
                "addr": address,
                "attrs": json.dumps(attributes),
            },
        ).scalar_one()
    )
    add_missing_keys(conn=conn)
    return event_id


def _report(
    conn: Connection,
    source: int,
    n: int,
    code: str,
    at: str,
    *,
    contact_until: str,
    photo_until: str,
    photo: bool = True,
) -> int:
    """A resident's report with its event, contact, photo and history (two notes)."""
    sid = f"2026-{n:06d}"
    event = _event(
        conn,
        source,
        f"open311:{sid}",
        code,
        at,
        RUE_DE_ROME,
        f"{n} rue de Rome",
        {"service_request_id": sid, "description": f"texte {n}"},
    )
    conn.execute(
        text(
            "INSERT INTO service_requests (id, service_request_id, token, service_code, "
            "event_id, requested_at, updated_at, description, public_description, "
            "status_notes, address_string, geom, location_precision, media_url) VALUES (:id, "
            ":sid, :tok, :code, :ev, :at, :at, :desc, :pub, 'Pris en charge', :addr, "
            "ST_SetSRID(ST_MakePoint(5.379, 43.292), 4326), 'exact', :url)"
        ),
        {
            "id": n,
            "sid": sid,
            "tok": f"token-{n}",
            "code": code,
            "ev": event,
            "at": _z(at),
            "desc": f"texte {n}",
            "pub": f"publié {n}",
            "addr": f"{n} rue de Rome",
            "url": f"https://exemple.fr/{n}.jpg" if photo else None,
        },
    )
    conn.execute(
        text(
            "INSERT INTO service_request_contacts (request_id, email, phone, delete_after) "
            "VALUES (:id, :mail, '0600000000', :until)"
        ),
        {"id": n, "mail": f"h{n}@exemple.fr", "until": _z(contact_until)},
    )
    if photo:
        conn.execute(
            text(
                "INSERT INTO service_request_media (request_id, mime_type, size, width, height, "
                "content, delete_after) VALUES (:id, 'image/jpeg', 3, 1, 1, '\\x010203', :until)"
            ),
            {"id": n, "until": _z(photo_until)},
        )
    steps = (
        (None, "received", None),
        ("received", "in_progress", "Vu"),
        ("in_progress", "resolved", "Fait"),
    )
    for i, (before, after, note) in enumerate(steps):
        conn.execute(
            text(
                "INSERT INTO service_request_history (request_id, from_state, to_state, notes, "
                "changed_at) VALUES (:id, :f, :t, :n, CAST(:at AS timestamptz) + :i * "
                "interval '1 hour')"
            ),
            {"id": n, "f": before, "t": after, "n": note, "at": _z(at), "i": i},
        )
    return event


def _batch(conn: Connection, source: int, started: str, rows: list[tuple[str, str]]) -> int:
    batch = int(
        conn.execute(
            text(
                "INSERT INTO ingest_batches (source_id, file_name, file_sha256, file_size, "
                "status, started_at, rejected) VALUES (:s, 'f.csv', md5(CAST(:at AS text)), 10, "
                "'completed', :at, :n) RETURNING id"
            ),
            {"s": source, "at": _z(started), "n": len(rows)},
        ).scalar_one()
    )
    for i, (raw, detail) in enumerate(rows, start=1):
        conn.execute(
            text(
                "INSERT INTO ingest_rejections (batch_id, row_number, reason, detail, raw) "
                "VALUES (:b, :i, 'invalid_date', :d, :r)"
            ),
            {"b": batch, "i": i, "d": detail, "r": raw},
        )
    return batch


@pytest.fixture
def planted(clean_events: Engine) -> dict[str, int]:
    """Events, reports and rejections at known ages around the cut-offs of :data:`POLICY`."""
    ids: dict[str, int] = {}
    with clean_events.begin() as conn:
        police, csu = _source(conn, "police_municipale"), _source(conn, "csu")
        other, residents = _source(conn, "bailleur"), _source(conn, "habitants")
        suite = {"Suite donnée": "Interpellation de M. Martin"}
        for name, cat, at, place, addr in (
            # free text 6 months: first day kept 2025-12-15 (local, winter: 2025-12-14T23:00Z)
            ("p1", "nuisance_sonore", "2025-12-14T22:59:59Z", RUE_DE_ROME, "1 rue de Rome"),
            ("p2", "nuisance_sonore", "2025-12-14T23:00:00Z", RUE_DE_ROME, "2 rue de Rome"),
            # vol: 30 days, first day kept 2026-05-16 (2026-05-15T22:00Z)
            ("p3", "vol", "2026-05-15T21:59:59Z", CASTELLANE, "3 place Castellane"),
            ("p4", "vol", "2026-05-15T22:00:00Z", CASTELLANE, "4 place Castellane"),
            # rixe of the police: its source's address rule (12 months) beats "*" × rixe
            ("p5", "rixe_violence", "2026-06-04T21:59:59Z", PRADO, "5 av. du Prado"),
            # address 12 months: first day kept 2025-06-15 (2025-06-14T22:00Z)
            ("p6", "nuisance_sonore", "2025-06-14T21:59:59Z", PRADO, "6 av. du Prado"),
            ("p7", "nuisance_sonore", "2024-01-01T10:00:00Z", None, "7 rue Inconnue"),
        ):
            ids[name] = _event(conn, police, name, cat, at, place, addr, suite)
        conn.execute(
            text(
                "INSERT INTO event_geocoding (event_id, query, status, reason, geocoder) "
                "VALUES (:e, '7 rue Inconnue', 'unplaced', 'score trop bas', 'ban'), "
                "(:f, '6 av. du Prado', 'placed', NULL, 'ban')"
            ),
            {"e": ids["p7"], "f": ids["p6"]},
        )
        conn.execute(
            text("UPDATE event_geocoding SET matched = '6 Avenue du Prado' WHERE event_id = :f"),
            {"f": ids["p6"]},
        )
        camera = {"camera_id": "CAM-12", "severity": "2"}
        ids["c1"] = _event(
            conn, csu, "c1", "rixe_violence", "2024-01-01T10:00:00Z", SAINT_CHARLES, None, camera
        )
        for name, cat, at in (
            # "*" × rixe_violence: 10 days, first day kept 2026-06-05 (2026-06-04T22:00Z)
            ("b1", "rixe_violence", "2026-06-04T21:59:59Z"),
            ("b2", "rixe_violence", "2026-06-04T22:00:00Z"),
            # "*" × "*": 24 months, first day kept 2024-06-15 (2024-06-14T22:00Z)
            ("b3", "vol", "2024-06-14T22:00:00Z"),
            ("b4", "vol", "2024-06-14T21:59:59Z"),
        ):
            ids[name] = _event(conn, other, name, cat, at, SAINT_CHARLES, f"{name} bd", {})
        ids["f1"] = _event(
            conn,
            residents,
            "f1",
            "tag_graffiti",
            "2026-01-01T10:00:00Z",
            CASTELLANE,
            None,
            {"description": "tag devant chez Mme Durand", "quartier": "Castellane"},
        )
        far = "2027-01-01T00:00:00Z"
        for n, code, at in (
            # contact of depot_sauvage 7 days: first day kept 2026-06-08 (2026-06-07T22:00Z)
            (1, "depot_sauvage", "2026-06-07T21:59:59Z"),
            (2, "depot_sauvage", "2026-06-07T22:00:00Z"),
            # contact 30 days (first day kept 2026-05-16), photo 60 days (2026-04-16)
            (3, "eclairage_defaillant", "2026-05-15T12:00:00Z"),
            # free text 100 days: first day kept 2026-03-07 (2026-03-06T23:00Z)
            (4, "eclairage_defaillant", "2026-01-01T12:00:00Z"),
        ):
            ids[f"h{n}"] = _report(conn, residents, n, code, at, contact_until=far, photo_until=far)
        # recent, but the deletion announced at filing has come (purge day starts 22:00Z)
        ids["h5"] = _report(
            conn, residents, 5, "voirie_degradee", "2026-06-10T12:00:00Z",
            contact_until="2026-06-14T10:00:00Z", photo_until="2026-06-14T22:00:00Z",
        )  # fmt: skip
        # rejected rows 90 days: first day kept 2026-03-17 (2026-03-16T23:00Z)
        ids["old_batch"] = _batch(
            conn,
            police,
            "2026-03-16T22:59:59Z",
            [("01/01/2026;Tapage;M. Martin", "date illisible « hier »"), ("x;y", "z"), ("", "")],
        )
        ids["new_batch"] = _batch(conn, police, "2026-03-16T23:00:00Z", [("a;b", "c")])
    return ids


def _cells(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text("SELECT h3_r9, category, count(*) FROM events GROUP BY 1, 2 ORDER BY 1, 2")
            )
        ]


def _events(engine: Engine) -> dict[str, tuple[Any, Any]]:
    with engine.connect() as conn:
        return {
            str(r[0]): (r[1], r[2])
            for r in conn.execute(text("SELECT external_id, address, attributes FROM events"))
        }


def _policy(settings: Settings, tmp_path: Path, body: str = POLICY) -> Settings:
    path = tmp_path / "conservation.toml"
    path.write_text(body, encoding="utf-8")
    return settings.model_copy(update={"retention_file": path})


EXPECTED = [  # (rule number, data, counts per table), in the order of the purge
    (1, "free_text", {"events": 3, "service_requests": 0, "service_request_history": 0}),
    (2, "free_text", {"events": 1, "service_requests": 0, "service_request_history": 0}),
    (6, "free_text", {}),
    (7, "free_text", {"events": 2, "service_requests": 1, "service_request_history": 2}),
    (3, "address", {"events": 1, "event_geocoding": 0, "service_requests": 0}),
    (4, "address", {"events": 2, "event_geocoding": 2, "service_requests": 0}),
    (5, "address", {"events": 1, "event_geocoding": 0, "service_requests": 0}),
    (8, "contact", {"service_request_contacts": 3}),
    (9, "contact", {"service_request_contacts": 1}),
    (10, "photo", {"service_request_media": 2, "service_requests": 1}),
    (11, "rejected_raw", {"ingest_rejections": 2}),
]


def _purges_audited(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT who, rows, filters FROM audit_log "
                    "WHERE action = 'retention_purge' ORDER BY id"
                )
            )
        ]


def _outcomes(report: Any) -> list[tuple[int, str, dict[str, int]]]:
    return [(o.rule.number, o.rule.data, o.counts) for o in report.outcomes]


def test_purge_clears_exactly_what_is_past_retention(
    planted: dict[str, int], loaded_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    local = _policy(settings, tmp_path)
    cells, before = _cells(loaded_engine), _events(loaded_engine)
    audited = _purges_audited(loaded_engine)

    simulated = purge(loaded_engine, local, day=DAY, simulate=True)
    assert _outcomes(simulated) == EXPECTED
    assert simulated.total == 24 and simulated.simulated
    assert _events(loaded_engine) == before  # a simulation changes nothing

    assert _purges_audited(loaded_engine) == audited  # a simulation is not a purge
    done = purge(loaded_engine, local, day=DAY)
    assert _outcomes(done) == EXPECTED
    assert done.total == 24 and not done.simulated
    # the purge is in the audit trail: who ran it, for which day and policy, how many rows
    rows = _purges_audited(loaded_engine)
    assert len(rows) == len(audited) + 1
    who, rows_cleared, filters = rows[-1]
    assert who.startswith("cli:") and rows_cleared == 24
    assert filters["day"] == DAY.isoformat() and str(local.retention_file) in filters["policy"]

    after = _events(loaded_engine)
    suite = {"Suite donnée": "Interpellation de M. Martin"}
    assert after["p1"] == ("1 rue de Rome", {})  # free text gone, address kept
    assert after["p2"] == ("2 rue de Rome", suite)  # first day kept
    assert after["p3"] == ("3 place Castellane", {})  # vol: 30 days
    assert after["p4"] == ("4 place Castellane", suite)
    assert after["p5"] == ("5 av. du Prado", suite)  # police's 12 months beat "*" × rixe
    assert after["p6"] == (None, {})
    assert after["p7"] == (None, {})  # unplaced: no position, no address left
    assert after["c1"] == (None, {"camera_id": "CAM-12", "severity": "2"})  # forever
    assert [after[b][0] for b in ("b1", "b2", "b3", "b4")] == [None, "b2 bd", "b3 bd", None]
    assert after["f1"] == (None, {"quartier": "Castellane"})  # only "description" goes
    assert after["open311:2026-000004"] == (
        "4 rue de Rome",
        {"service_request_id": "2026-000004"},
    )
    assert after["open311:2026-000003"][1]["description"] == "texte 3"

    with loaded_engine.connect() as conn:
        geocoding = conn.execute(
            text("SELECT query, matched, status, reason FROM event_geocoding ORDER BY event_id")
        ).all()
        assert [tuple(g) for g in geocoding] == [
            ("", None, "placed", None),
            ("", None, "unplaced", "score trop bas"),
        ]
        reports = conn.execute(
            text(
                "SELECT r.id, r.description, r.public_description, r.status_notes, "
                "r.address_string, r.media_url, "
                "c.request_id IS NOT NULL, m.id IS NOT NULL FROM service_requests r "
                "LEFT JOIN service_request_contacts c ON c.request_id = r.id "
                "LEFT JOIN service_request_media m ON m.request_id = r.id ORDER BY r.id"
            )
        ).all()
        url = "https://exemple.fr/{}.jpg".format
        note = "Pris en charge"
        assert [tuple(r) for r in reports] == [
            (1, "texte 1", "publié 1", note, "1 rue de Rome", url(1), False, True),
            (2, "texte 2", "publié 2", note, "2 rue de Rome", url(2), True, True),
            (3, "texte 3", "publié 3", note, "3 rue de Rome", url(3), False, True),
            (4, None, None, None, "4 rue de Rome", None, False, False),
            (5, "texte 5", "publié 5", note, "5 rue de Rome", url(5), False, False),
        ]
        history = conn.execute(
            text(
                "SELECT request_id, to_state, notes FROM service_request_history "
                "WHERE request_id IN (3, 4) ORDER BY request_id, changed_at"
            )
        ).all()
        assert [tuple(h) for h in history] == [
            (3, "received", None),
            (3, "in_progress", "Vu"),
            (3, "resolved", "Fait"),
            (4, "received", None),
            (4, "in_progress", None),
            (4, "resolved", None),
        ]
        rejections = conn.execute(
            text(
                "SELECT batch_id, row_number, reason, detail, raw FROM ingest_rejections "
                "ORDER BY batch_id, row_number"
            )
        ).all()
        old, new = planted["old_batch"], planted["new_batch"]
        assert [tuple(r) for r in rejections] == [
            (old, 1, "invalid_date", "", ""),
            (old, 2, "invalid_date", "", ""),
            (old, 3, "invalid_date", "", ""),
            (new, 1, "invalid_date", "c", "a;b"),
        ]
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 18
        rejected = conn.execute(text("SELECT sum(rejected) FROM ingest_batches")).scalar_one()
        assert rejected == 4
    assert _cells(loaded_engine) == cells  # every event stays, in its cell

    again = purge(loaded_engine, local, day=DAY)
    assert again.total == 0  # idempotent
    assert [o.counts for o in again.outcomes] == [
        {k: 0 for k in counts} for _, _, counts in EXPECTED
    ]


def test_the_day_decides(
    planted: dict[str, int], loaded_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """One day earlier, the boundary rows of that day are not yet due."""
    local = _policy(settings, tmp_path)
    report = purge(loaded_engine, local, day=date(2026, 6, 14), simulate=True)
    counts = {(o.rule.number): o.counts for o in report.outcomes}
    assert counts[1]["events"] == 2  # p1 kept one day more (p6, p7 still due)
    assert counts[2]["events"] == 0  # p3 (vol) not yet
    assert counts[3]["events"] == 0  # b1 not yet
    assert counts[9]["service_request_contacts"] == 0  # h1 not yet
    assert counts[8]["service_request_contacts"] == 1  # h4 only: h3 and h5 not due yet


def test_cli_purge_and_rules(
    planted: dict[str, int], loaded_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    local = _policy(settings, tmp_path)
    env = {
        "GEOTRANQUIL_DATABASE_URL": settings.database_url,
        "GEOTRANQUIL_RETENTION_FILE": str(local.retention_file),
        "COLUMNS": "250",
    }
    runner = CliRunner()
    rules = runner.invoke(cli, ["retention", "rules"], env=env)
    assert rules.exit_code == 0, rules.output
    assert "conservation.toml" in rules.output and "sans limite" in rules.output
    assert "depot_sauvage" in rules.output and "7 jours" in rules.output
    dry = runner.invoke(cli, ["retention", "purge", "--dry-run", "--date", "2026-06-15"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "effacerait 24 ligne(s)" in dry.output and "rien n'a été modifié" in dry.output
    assert "3 coordonnées" in dry.output and "2 photos, 1 signalements" in dry.output
    done = runner.invoke(cli, ["retention", "purge", "--date", "2026-06-15"], env=env)
    assert done.exit_code == 0, done.output
    assert "efface 24 ligne(s)" in done.output
    again = runner.invoke(cli, ["retention", "purge", "--date", "2026-06-15"], env=env)
    assert "efface 0 ligne(s)" in again.output
    bad_day = runner.invoke(cli, ["retention", "purge", "--date", "15/06/2026"], env=env)
    assert bad_day.exit_code == 2
    assert "date « 15/06/2026 » illisible : attendu AAAA-MM-JJ" in bad_day.output


def test_a_bad_policy_file_is_refused_before_anything_changes(
    planted: dict[str, int], loaded_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    broken = POLICY.replace('data = "photo"\ndays = 60', 'data = "photo"\nforever = true')
    env = {
        "GEOTRANQUIL_DATABASE_URL": settings.database_url,
        "GEOTRANQUIL_RETENTION_FILE": str(_policy(settings, tmp_path, broken).retention_file),
        "COLUMNS": "250",
    }
    before = _events(loaded_engine)
    result = CliRunner().invoke(cli, ["retention", "purge"], env=env)
    assert result.exit_code == 2
    assert "règle n° 10" in result.output
    assert "personnelles : une durée limitée est obligatoire" in result.output
    assert _events(loaded_engine) == before
    env["GEOTRANQUIL_RETENTION_FILE"] = str(tmp_path / "absent.toml")
    missing = CliRunner().invoke(cli, ["retention", "rules"], env=env)
    assert missing.exit_code == 2 and "fichier introuvable" in missing.output


def test_what_residents_are_told_and_a_bad_policy_stops_the_server(
    settings: Settings, tmp_path: Path
) -> None:
    from geotranquil.api.app import create_app
    from geotranquil.errors import InvalidInput
    from geotranquil.services.retention import resident_retention_days

    assert resident_retention_days(settings) == 365  # the packaged default
    assert resident_retention_days(_policy(settings, tmp_path)) == 60  # the longest: photos
    no_duration = POLICY.replace('data = "contact"\ndays = 30', 'data = "contact"')
    broken = _policy(settings, tmp_path, no_duration)
    with pytest.raises(InvalidInput, match="règle n° 8 : donnez une seule durée"):
        create_app(broken)

"""POST /sources/{source}/batches over real HTTP, the worker's job run for real, exact counts.

The files are written here by hand, independently of the code: a police logbook export
(Windows-1252, ``;``) with planted bad rows, and canonical events as JSON and NDJSON.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.jobs import run_worker
from geotranquil.services.push import spool_dir

from .conftest import MAX_BYTES, SOURCE_A, SOURCE_B, Keys

POLICE_HEADER = (
    "N° main courante;Date des faits;Heure des faits;Nature des faits;N° voie;Indice;"
    "Libellé voie;Code postal;Commune;Suite donnée"
)
POLICE_ROWS = [
    "MC-1;02/03/2026;22:14;Tapage nocturne;12;;rue de Rome;13001;Marseille;Rappel",
    "MC-2;03/03/2026;01:05;Rixe sur la voie publique;3;bis;cours Julien;13006;Marseille;PV",
    "MC-3;04/03/2026;14:30;Chien errant;5;;rue Paradis;13001;Marseille;",  # unknown category
    "MC-4;31/02/2026;10:00;Tags;8;;boulevard Baille;13005;Marseille;",  # impossible date
    ";05/03/2026;11:00;Tags;9;;boulevard Baille;13005;Marseille;",  # no identifier
    "MC-6;06/03/2026;09:15;Dépôt d'ordures;1;;place Castellane;13006;Marseille;Enlèvement",
]
POLICE_CSV = ("\r\n".join([POLICE_HEADER, *POLICE_ROWS]) + "\r\n").encode("cp1252")


def _client(server: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=server, headers={"X-API-Key": key}, timeout=60)


def _process(settings: Settings) -> None:
    """Run the queued jobs to the end with a real worker (in this process)."""
    run_worker(settings, wait=False)


def _spooled(settings: Settings) -> list[Path]:
    folder = spool_dir(settings)
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_police_file_pushed_as_multipart_is_ingested_with_its_rejections(
    clean: Engine, server: str, keys: Keys, settings: Settings
) -> None:
    with _client(server, keys.partner_a) as http:
        r = http.post(
            f"/sources/{SOURCE_A}/batches",
            files={"file": ("main_courante.csv", POLICE_CSV, "text/csv")},
        )
        assert r.status_code == 202, r.text
        body = r.json()
        assert r.headers["Location"] == f"/sources/{SOURCE_A}/batches/{body['id']}"
        assert (body["state"], body["format"]) == ("queued", "mapping")
        assert body["bytes"] == len(POLICE_CSV)
        assert len(_spooled(settings)) == 1  # waiting for the worker, on disk

        _process(settings)

        batch = http.get(r.headers["Location"]).json()
        assert batch["state"] == "done", batch
        assert batch["counts"] == {
            "received": 6,
            "inserted": 3,
            "updated": 0,
            "unchanged": 0,
            "rejected": 3,
            "unlocated": 3,  # addresses only: waiting for the geocoder
        }
        assert batch["rejections_by_reason"] == {
            "invalid_date": 1,
            "missing_id": 1,
            "unknown_category": 1,
        }
        rejected = http.get(r.headers["Location"] + "/rejections", params={"f": "csv"})
        assert rejected.status_code == 200
        assert rejected.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(rejected.text)))
        assert rows[0] == ["ligne", "code", "message", "contenu"]
        assert [(r[0], r[1]) for r in rows[1:]] == [  # physical lines, the header is line 1
            ("4", "unknown_category"),
            ("5", "invalid_date"),
            ("6", "missing_id"),
        ]
        assert "Chien errant" in rows[1][2] and rows[1][3] == POLICE_ROWS[2]
        assert rows[2][3] == POLICE_ROWS[3] and rows[3][3] == POLICE_ROWS[4]
        listed = http.get(f"/sources/{SOURCE_A}/batches").json()
        assert [b["id"] for b in listed["items"]] == [body["id"]]
    assert _spooled(settings) == []  # deleted once ingested
    with clean.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT e.external_id, e.category, e.address FROM events e "
                "JOIN sources s ON s.id = e.source_id WHERE s.slug = :s ORDER BY 1"
            ),
            {"s": SOURCE_A},
        ).all()
    assert [tuple(r) for r in stored] == [
        ("MC-1", "nuisance_sonore", "12 rue de Rome, 13001 Marseille"),
        ("MC-2", "rixe_violence", "3 bis cours Julien, 13006 Marseille"),
        ("MC-6", "depot_sauvage", "1 place Castellane, 13006 Marseille"),
    ]


def _event(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"E-{i}",
        "occurred_at": "2026-03-02T22:14:00+01:00",
        "category": "vol",
        "lon": 5.3811,
        "lat": 43.2965,
        **extra,
    }


def test_canonical_events_as_ndjson_and_as_json(
    clean: Engine, server: str, keys: Keys, settings: Settings
) -> None:
    lines = [
        json.dumps(_event(1, attributes={"suite": "rappel"})),
        json.dumps(_event(2, category="rixe_violence", reported_at="2026-03-03T08:00:00Z")),
        json.dumps(
            {
                "id": "E-3",
                "occurred_at": "2026-03-04T10:00:00+01:00",
                "category": "tag_graffiti",
                "address": {"number": "12", "street": "rue de Rome", "postcode": "13001"},
            }
        ),
        json.dumps(_event(4, lon=2.3522, lat=48.8566)),  # Paris
        json.dumps(_event(5, category="vol_a_la_tire")),  # not a canonical code
        "{pas du json",
    ]
    with _client(server, keys.partner_a) as http:
        r = http.post(
            f"/sources/{SOURCE_A}/batches",
            content="\n".join(lines) + "\n",
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert r.status_code == 202, r.text
        ndjson_location = r.headers["Location"]
    # an admin pushes to any source; a JSON array
    with _client(server, keys.admin) as http:
        r = http.post(
            f"/sources/{SOURCE_B}/batches",
            json=[_event(10), _event(11, category="depot_sauvage")],
        )
        assert r.status_code == 202, r.text
        json_location = r.headers["Location"]
        assert r.json()["format"] == "canonical"

    _process(settings)

    with _client(server, keys.partner_a) as http:
        batch = http.get(ndjson_location).json()
    assert batch["state"] == "done", batch
    assert batch["counts"] == {
        "received": 6,
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 3,
        "unlocated": 1,
    }
    assert batch["rejections_by_reason"] == {
        "malformed_row": 1,
        "outside_study_area": 1,
        "unknown_category": 1,
    }
    with _client(server, keys.partner_b) as http:
        other = http.get(json_location).json()
    assert (other["state"], other["counts"]["inserted"], other["counts"]["rejected"]) == (
        "done",
        2,
        0,
    )
    with clean.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT external_id, category, occurred_at = '2026-03-02T21:14Z', "
                "reported_at, attributes, location_precision FROM events "
                "WHERE external_id IN ('E-1', 'E-2', 'E-3') ORDER BY 1"
            )
        ).all()
    assert [(r[0], r[1], r[5]) for r in rows] == [
        ("E-1", "vol", "exact"),
        ("E-2", "rixe_violence", "exact"),
        ("E-3", "tag_graffiti", "address"),
    ]
    assert rows[0][2] is True and rows[0][4] == {"attributes": {"suite": "rappel"}}
    assert rows[1][3].isoformat() == "2026-03-03T08:00:00+00:00"


def test_the_same_idempotency_key_twice_at_once_is_one_batch(
    clean: Engine, server: str, keys: Keys, settings: Settings
) -> None:
    payload = "\n".join(json.dumps(_event(i)) for i in range(1, 51)) + "\n"
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(2)

    def push() -> None:
        with _client(server, keys.partner_a) as http:
            barrier.wait()
            answers.append(
                http.post(
                    f"/sources/{SOURCE_A}/batches",
                    content=payload,
                    headers={
                        "Content-Type": "application/x-ndjson",
                        "Idempotency-Key": "lot-2026-03-02-a",
                    },
                )
            )

    threads = [threading.Thread(target=push) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200, 202], [a.text for a in answers]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    _process(settings)
    with _client(server, keys.partner_a) as http:  # a later retry: the same batch, done
        again = http.post(
            f"/sources/{SOURCE_A}/batches",
            content=payload,
            headers={"Content-Type": "application/x-ndjson", "Idempotency-Key": "lot-2026-03-02-a"},
        )
    assert again.status_code == 200
    assert again.headers["Location"] == answers[0].headers["Location"]
    assert (again.json()["state"], again.json()["counts"]["inserted"]) == ("done", 50)
    with clean.connect() as conn:
        counts = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM push_batches), (SELECT count(*) FROM events), "
                "(SELECT count(*) FROM ingest_batches), "
                "(SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'ingest_batch')"
            )
        ).one()
    assert tuple(counts) == (1, 50, 1, 1)
    assert _spooled(settings) == []


def test_oversized_bodies_are_refused_and_leave_no_file(
    clean: Engine, server: str, keys: Keys, settings: Settings
) -> None:
    big = b"x" * (MAX_BYTES + 1)
    with _client(server, keys.partner_a) as http:
        declared = http.post(
            f"/sources/{SOURCE_A}/batches",
            content=big,
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert declared.status_code == 413
        assert "lot trop lourd" in declared.json()["description"]

        def chunks() -> Any:  # no Content-Length: counted as it streams
            for _ in range(MAX_BYTES // 65536 + 2):
                yield b"y" * 65536

        try:
            streamed = http.post(
                f"/sources/{SOURCE_A}/batches",
                content=chunks(),
                headers={"Content-Type": "application/x-ndjson"},
            )
            assert streamed.status_code == 413
        except (httpx.WriteError, httpx.RemoteProtocolError):
            pass  # the server answered and closed while the client was still sending
    assert _spooled(settings) == []
    with clean.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM push_batches")).scalar_one() == 0


def test_wrong_type_unknown_source_and_other_partners_source(
    clean: Engine, server: str, keys: Keys, settings: Settings
) -> None:
    with _client(server, keys.partner_a) as http:
        r = http.post(
            f"/sources/{SOURCE_A}/batches", content=b"a;b\n", headers={"Content-Type": "text/csv"}
        )
        assert r.status_code == 415
        description = r.json()["description"]
        assert "text/csv" in description
        for accepted in ("multipart/form-data", "application/json", "application/x-ndjson"):
            assert accepted in description

        r = http.post("/sources/inconnue/batches", json=[_event(1)])
        assert r.status_code == 404
        assert r.json()["description"].startswith("source inconnue")
        for slug in (SOURCE_A, SOURCE_B):  # no internals listed
            assert slug not in r.text

        # partner A may neither push to nor read B
        r = http.post(f"/sources/{SOURCE_B}/batches", json=[_event(1)])
        assert r.status_code == 403
        assert "n'est pas liée à cette source" in r.json()["description"]
        assert http.get(f"/sources/{SOURCE_B}/batches").status_code == 403
        # nor read raw events (partners see public figures only)
        assert http.get("/collections/events/items").status_code == 403
    with _client(server, keys.partner_b) as http:
        pushed = http.post(f"/sources/{SOURCE_B}/batches", json=[_event(1)])
        assert pushed.status_code == 202
    with _client(server, keys.partner_a) as http:
        # B's batch, asked through A's source or B's: not A's to see
        assert http.get(f"/sources/{SOURCE_A}/batches/{pushed.json()['id']}").status_code == 404
        assert http.get(pushed.headers["Location"]).status_code == 403
    with _client(server, keys.analyst) as http:  # staff other than admins do not push
        assert http.post(f"/sources/{SOURCE_A}/batches", json=[_event(1)]).status_code == 403
    with httpx.Client(base_url=server) as http:
        assert http.post(f"/sources/{SOURCE_A}/batches", json=[_event(1)]).status_code == 401
    assert len(_spooled(settings)) == 1  # B's batch only


@pytest.mark.parametrize("media_type", ["application/json", "application/x-ndjson"])
def test_the_openapi_document_describes_the_canonical_schema(server: str, media_type: str) -> None:
    doc = httpx.get(server + "/api").json()
    operation = doc["paths"]["/sources/{source}/batches"]["post"]
    content = operation["requestBody"]["content"]
    assert set(content) == {"multipart/form-data", "application/json", "application/x-ndjson"}
    schema = content[media_type]["schema"]
    event = schema["items"] if media_type == "application/json" else schema
    assert {"id", "occurred_at", "category", "lon", "lat", "address"} <= set(event["properties"])
    assert {"202", "413", "415", "403", "404"} <= set(operation["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])

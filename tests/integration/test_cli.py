"""The command line end to end on its own throw-away database, with the built-in geography."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from geotranquil.cli.main import app
from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db.engine import make_engine
from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.taxonomy import load_taxonomy
from tests.conftest import sibling_database_url


@pytest.fixture(scope="module")
def cli_env(settings: Settings) -> Iterator[dict[str, str]]:
    url = sibling_database_url(settings.database_url, "cli")
    admin.drop_database(url)
    yield {"GEOTRANQUIL_DATABASE_URL": url, "COLUMNS": "200"}
    admin.drop_database(url)


def _run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_help_is_in_french() -> None:
    out = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert "observatoire de la tranquillité publique" in out
    for command in (
        "db",
        "areas",
        "grid",
        "synth",
        "ingest",
        "demo",
        "serve",
        "status",
        "forecast",
        "reports",
        "retention",
        "audit",
    ):
        assert command in out
    ingest_help = CliRunner().invoke(app, ["ingest", "--help"], env={"COLUMNS": "200"}).output
    assert "Ingère un fichier" in ingest_help


def test_english_names_and_the_french_ones_as_hidden_aliases() -> None:
    """Commands and options are named in English; the French names of earlier versions keep
    working but are not offered (issue 15 §1)."""
    env = {"COLUMNS": "200"}
    root = CliRunner().invoke(app, ["--help"], env=env).output
    assert "reports" in root and "signalements" not in root
    retention = CliRunner().invoke(app, ["retention", "--help"], env=env).output
    assert "rules" in retention and "purge" in retention
    assert "regles" not in retention and "purger" not in retention
    rules = CliRunner().invoke(app, ["retention", "rules"], env=env)
    regles = CliRunner().invoke(app, ["retention", "regles"], env=env)
    assert rules.exit_code == regles.exit_code == 0, regles.output
    assert "Politique de conservation en vigueur" in rules.output
    assert regles.output == rules.output
    summary = CliRunner().invoke(app, ["signalements", "bilan", "--help"], env=env).output
    assert "--days" in summary and "--end" in summary
    assert "--jours" not in summary and "--fin" not in summary
    backtest = CliRunner().invoke(app, ["forecast", "backtest", "--help"], env=env).output
    assert "--origins" in backtest and "--period" in backtest
    assert "--origines" not in backtest and "--periode" not in backtest


def test_builtin_geography_and_grid_through_the_cli(cli_env: dict[str, str]) -> None:
    out = _run(cli_env, "db", "upgrade")
    assert "Base créée" in out and admin.head_revision() in out
    assert "Base existante" in _run(cli_env, "db", "upgrade")
    out = _run(cli_env, "areas", "load", "--builtin")
    assert "géographie intégrée simplifiée" in out and "16 arrondissements" in out
    _run(cli_env, "areas", "load", "--builtin")  # twice: nothing duplicated
    out = _run(cli_env, "grid", "build", "-r", "8", "-r", "9")
    assert "Grille H3" in out
    _run(cli_env, "grid", "build", "-r", "8", "-r", "9")
    eng = make_engine(Settings(database_url=cli_env["GEOTRANQUIL_DATABASE_URL"]))
    with eng.connect() as conn:
        areas = dict(conn.execute(text("SELECT kind, count(*) FROM areas GROUP BY kind")).all())
        cells = dict(
            conn.execute(
                text("SELECT resolution, count(*) FROM grid_cells GROUP BY resolution")
            ).all()
        )
        gap = conn.execute(
            text(
                "SELECT ST_Area(ST_Transform(ST_Difference(a.geom, g.u), 2154)) FROM areas a, "
                "(SELECT ST_Union(geom) u FROM grid_cells WHERE resolution = 9) g "
                "WHERE a.kind = 'commune'"
            )
        ).scalar_one()
        pop = conn.execute(
            text("SELECT sum(population) FROM areas WHERE kind = 'arrondissement'")
        ).scalar_one()
    eng.dispose()
    assert areas == {"commune": 1, "arrondissement": 16}
    assert set(cells) == {8, 9} and cells[9] > 5 * cells[8]
    assert gap < 1.0
    assert pop == 870_321
    assert f"Révision du schéma : {admin.head_revision()}" in _run(cli_env, "status")


def test_grid_before_areas_is_a_clear_error(settings: Settings) -> None:
    url = sibling_database_url(settings.database_url, "cli_empty")
    admin.drop_database(url)
    env = {"GEOTRANQUIL_DATABASE_URL": url, "COLUMNS": "200"}
    try:
        _run(env, "db", "upgrade")
        result = CliRunner().invoke(app, ["grid", "build"], env=env)
        assert result.exit_code == 2
        assert "geotranquil areas load" in result.output
        assert "Traceback" not in result.output
    finally:
        admin.drop_database(url)


def test_unreachable_database_is_a_clear_error() -> None:
    env = {"GEOTRANQUIL_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/x"}
    result = CliRunner().invoke(app, ["status"], env=env)
    assert result.exit_code == 2
    assert "injoignable" in result.output


def test_status_and_rejects_show_what_was_refused(
    clean_events: object, settings: Settings, dsn: str, tmp_path: Path
) -> None:
    mapping = packaged_mappings({c.code for c in load_taxonomy()})["habitants"]
    path = tmp_path / "h.json"
    path.write_text(
        json.dumps(
            [
                {
                    "report_id": 1,
                    "created": "2025-03-02T22:14:05+01:00",
                    "category": "bruit",
                    "location": {"lat": 43.2951, "lon": 5.3745},
                },
                {
                    "report_id": 2,
                    "created": "hier",
                    "category": "bruit",
                    "location": {"lat": 43.2951, "lon": 5.3745},
                },
                {"report_id": 3, "created": "2025-03-02T22:14:05+01:00", "category": "chat"},
            ]
        ),
        "utf-8",
    )
    batch = ingest_file(dsn, path, mapping).batch_id
    env = {"GEOTRANQUIL_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    status = _run(env, "status")
    assert "Derniers lots d'ingestion" in status and "terminé" in status
    out_csv = tmp_path / "rejets.csv"
    out = _run(env, "rejects", str(batch), "--csv", str(out_csv))
    assert "2 rejet(s)" in out and "invalid_date" in out and "unknown_category" in out
    with out_csv.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    # JSON: records, not lines (« enregistrement N », the position in the array)
    assert "enregistrement" in out
    assert [(r["enregistrement"], r["motif"]) for r in rows] == [
        ("2", "invalid_date"),
        ("3", "unknown_category"),
    ]
    assert json.loads(rows[0]["contenu_brut"])["created"] == "hier"
    missing = CliRunner().invoke(app, ["rejects", "987654"], env=env)
    assert missing.exit_code == 2 and "introuvable" in missing.output


def test_hotspots_command_stores_runs(
    clean_events: object, settings: Settings, dsn: str, tmp_path: Path
) -> None:
    from tests.integration.test_overview import _ingest_small

    _ingest_small(tmp_path, dsn)
    env = {"GEOTRANQUIL_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    out = _run(env, "hotspots", "-s", "gi_star", "--permutations", "99")
    assert "Point chaud — 99 %" in out and "Durées" in out
    out = _run(env, "hotspots", "-s", "local_moran", "--start", "2025-03-03", "--end", "2025-03-31")
    assert "Not significant" in out
    out = _run(env, "hotspots", "-s", "emerging", "--bin", "week", "--distance", "400")
    assert "no_pattern" in out
    bad = CliRunner().invoke(app, ["hotspots", "--start", "03/03/2025"], env=env)
    assert bad.exit_code == 2 and "AAAA-MM-JJ" in bad.output
    bad = CliRunner().invoke(app, ["hotspots", "-s", "kriging"], env=env)
    assert bad.exit_code == 2 and "inconnue" in bad.output
    eng = make_engine(settings)
    with eng.connect() as conn:
        kinds = conn.execute(
            text("SELECT kind, neighbourhood->>'type' FROM hotspot_runs ORDER BY id DESC LIMIT 3")
        ).all()
    eng.dispose()
    assert kinds == [
        ("emerging", "distance_band"),
        ("local_moran", "k_ring"),
        ("gi_star", "k_ring"),
    ]


def test_keys_create_list_revoke(cli_env: dict[str, str]) -> None:
    from geotranquil.db.keys import hash_key, role_of_key

    _run(cli_env, "db", "upgrade")
    out = _run(cli_env, "keys", "create", "--role", "planner", "--name", "Service urbanisme")
    key = next(line for line in out.splitlines() if line.startswith("gtq_"))
    assert "rôle planner" in out and "ne sera plus affichée" in out
    eng = make_engine(Settings(database_url=cli_env["GEOTRANQUIL_DATABASE_URL"]))
    with eng.connect() as conn:
        info = role_of_key(conn=conn, key=key)
        assert info is not None and info.role == "planner"
        stored = conn.execute(text("SELECT key_hash FROM api_keys WHERE id = :i"), {"i": info.id})
        assert stored.scalar_one() == hash_key(key)
    listing = _run(cli_env, "keys", "list")
    assert "Service urbanisme" in listing and key[:10] in listing and key not in listing
    assert "révoquée" in _run(cli_env, "keys", "revoke", str(info.id))
    with eng.connect() as conn:
        assert role_of_key(conn=conn, key=key) is None
    eng.dispose()
    bad = CliRunner().invoke(
        app, ["keys", "create", "--role", "public", "--name", "x"], env=cli_env
    )
    assert bad.exit_code == 2 and "rôle « public » inconnu" in bad.output


def _weeks_of_reports(path: Path) -> str:
    """16 full weeks (Monday 2025-01-06 to Sunday 2025-04-27) of residents' reports, three a
    week at the Vieux-Port and one a week elsewhere, plus two on the Monday and Tuesday after
    (a partial week). Returns the Vieux-Port's resolution-9 cell."""
    import h3
    import numpy as np

    rng = np.random.default_rng(5)
    rows = []
    monday = np.datetime64("2025-01-06T10:00")
    for week in range(16):
        for k in range(3):
            at = monday + np.timedelta64(7 * week + 2 * k, "D")
            rows.append((str(at), 43.2951, 5.3745))
        lat, lon = 43.30 + rng.uniform(-0.02, 0.02), 5.39 + rng.uniform(-0.02, 0.02)
        rows.append((str(monday + np.timedelta64(7 * week + 3, "D")), lat, lon))
    rows += [("2025-04-28T10:00", 43.2951, 5.3745), ("2025-04-29T10:00", 43.2951, 5.3745)]
    path.write_text(
        json.dumps(
            [
                {
                    "report_id": i,
                    "created": f"{at}:00+02:00",
                    "category": "bruit",
                    "location": {"lat": lat, "lon": lon},
                }
                for i, (at, lat, lon) in enumerate(rows)
            ]
        ),
        "utf-8",
    )
    return str(h3.latlng_to_cell(43.2951, 5.3745, 9))


def test_forecast_commands(
    clean_events: object, settings: Settings, dsn: str, tmp_path: Path
) -> None:
    path = tmp_path / "h.json"
    hot = _weeks_of_reports(path)
    mapping = packaged_mappings({c.code for c in load_taxonomy()})["habitants"]
    assert ingest_file(dsn, path, mapping).inserted == 66
    env = {"GEOTRANQUIL_DATABASE_URL": settings.database_url, "COLUMNS": "200"}

    out = _run(env, "forecast", "-m", "kde")
    # the partial week of 28-29 April is left out: the forecast is for the week it starts
    assert "(kde) pour la semaine du 2025-04-28" in out
    assert "Cellules les plus exposées" in out
    top_line = next(line for line in out.splitlines() if line.strip().startswith("│ 1 "))
    assert hot in top_line

    out = _run(env, "forecast", "-m", "naive", "--period", "day", "--horizon", "7")
    assert "(naive) pour le 2025-04-30 (+6 période(s))" in out

    eng = make_engine(settings)
    with eng.connect() as conn:
        runs = conn.execute(
            text(
                "SELECT method, origin, period_days, horizon FROM forecast_runs ORDER BY id DESC "
                "LIMIT 2"
            )
        ).all()
    eng.dispose()
    assert [(m, str(o), p, h) for m, o, p, h in runs] == [
        ("naive", "2025-04-30", 1, 7),
        ("kde", "2025-04-28", 7, 1),
    ]

    pictures = tmp_path / "bt"
    out = _run(
        env,
        "forecast",
        "backtest",
        "--origins",
        "4",
        "--methods",
        "naive,kde",
        "--out",
        str(pictures),
    )
    assert "kde" in out and "naive" in out and "PAI" in out
    assert (pictures / "courbes_de_couverture.png").stat().st_size > 10_000

    for args, message in (
        (["forecast", "-m", "boule_de_cristal"], "inconnue"),
        (["forecast", "--period", "mois"], "période « mois » inconnue"),
        (["forecast", "--horizon", "0"], "au moins une période"),
        (["forecast", "backtest", "--origins", "40"], "pas assez de périodes"),
    ):
        bad = CliRunner().invoke(app, args, env=env)
        assert bad.exit_code == 2, bad.output
        assert message in bad.output

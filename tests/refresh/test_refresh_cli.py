"""``geotranquil refresh``: queued for a worker (refused while one waits), or run here with
``--now``, step by step, in French."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from geotranquil.cli.main import app as cli
from geotranquil.config import Settings
from geotranquil.jobs import REFRESH_ANALYSES
from geotranquil.services.jobs import recent_jobs
from geotranquil.stats.registry import STATISTICS

from .conftest import plant_background, refreshes


def _env(settings: Settings) -> dict[str, str]:
    return {
        "GEOTRANQUIL_DATABASE_URL": settings.database_url,
        "GEOTRANQUIL_DATA_DIR": str(settings.data_dir),
        "GEOTRANQUIL_REFRESH_PERMUTATIONS": "0",
        "GEOTRANQUIL_REFRESH_WEEKS": str(settings.refresh_weeks),
        "COLUMNS": "200",
    }


def test_refresh_queued_or_now(empty: Engine, settings: Settings) -> None:
    runner = CliRunner()
    env = _env(settings)
    queued = runner.invoke(cli, ["refresh"], env=env)
    assert queued.exit_code == 0, queued.output
    assert "Actualisation mise en file (tâche n° 1)" in queued.output
    again = runner.invoke(cli, ["refresh"], env=env)
    assert again.exit_code == 2
    assert "une actualisation des analyses attend déjà dans la file" in again.output
    [job] = recent_jobs(empty, task=REFRESH_ANALYSES)
    assert job.args == {"trigger": "manual", "force": True}

    nothing = runner.invoke(cli, ["refresh", "--now"], env=env)
    assert nothing.exit_code == 0, nothing.output
    assert "Rien à recalculer : aucun événement." in nothing.output

    plant_background(empty)
    now = runner.invoke(cli, ["refresh", "--now"], env=env)
    assert now.exit_code == 0, now.output
    assert "Actualisation n° 2 (version des événements" in now.output
    for stat in STATISTICS:
        assert f"{stat} : calcul" in now.output
    assert "Actualisation n° 2 terminée en" in now.output
    unchanged = runner.invoke(cli, ["refresh", "--now", "--if-changed"], env=env)
    assert "Rien à recalculer : données inchangées depuis l'actualisation n° 2." in unchanged.output
    assert [r[1:] for r in refreshes(empty)] == [
        ("manual", "skipped", True),
        ("manual", "succeeded", True),
        ("manual", "skipped", False),
    ]


MAPPING = """
slug = "partenaire_essai"
name = "Partenaire (essai)"

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


def test_ingest_with_refresh_queues_one_debounced_refresh(
    empty: Engine, settings: Settings, tmp_path: Path
) -> None:
    mapping = tmp_path / "essai.toml"
    mapping.write_text(MAPPING, "utf-8")
    runner = CliRunner()
    env = _env(settings) | {"GEOTRANQUIL_REFRESH_DEBOUNCE_S": "600"}
    for n in (1, 2):
        data = tmp_path / f"lot{n}.csv"
        data.write_text(
            f"id,quand,type,lon,lat\nE-{n},2026-11-2{n}T10:00:00+01:00,bruit,5.379,43.292\n",
            "utf-8",
        )
        out = runner.invoke(cli, ["ingest", str(data), "-m", str(mapping), "--refresh"], env=env)
        assert out.exit_code == 0, out.output
        expected = (
            "Actualisation des analyses en file (tâche n° 1)."
            if n == 1
            else "Une actualisation des analyses attend déjà : elle verra ces données."
        )
        assert expected in out.output
    [job] = recent_jobs(empty, task=REFRESH_ANALYSES)
    assert job.state == "todo" and job.args == {"trigger": "data", "force": False}
    assert job.scheduled_at is not None and job.queued_at is not None
    assert 590 <= (job.scheduled_at - job.queued_at).total_seconds() <= 610

"""``geotranquil refresh``: queued for a worker (refused while one waits), or run here with
``--now``, step by step, in French."""

from __future__ import annotations

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

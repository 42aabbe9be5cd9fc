"""The residents' reports summary (``geotranquil reports summary``): exact figures on reports
planted in March 2024 (no other test files reports then), and the picture written."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import Engine
from typer.testing import CliRunner

from geotranquil.cli.main import app as cli
from geotranquil.config import Settings
from geotranquil.services import open311 as svc
from geotranquil.services.open311_summary import TOTAL, reports_summary

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2024, 3, 4, 9, 0, tzinfo=PARIS)


def _file(engine: Engine, settings: Settings, code: str, lon: float, at: datetime) -> str:
    fields = {"service_code": [code], "lat": ["43.3050"], "long": [f"{lon:.4f}"]}
    if code == "eclairage_defaillant":
        fields["attribute[etat]"] = ["eteinte"]
    done = svc.file_request(
        engine, settings, svc.parse_submission(fields, None), key_id=None, now=at
    )
    return done.service_request_id


def _move(engine: Engine, settings: Settings, sid: str, state: str, at: datetime) -> None:
    svc.change_state(
        engine,
        settings,
        sid,
        state=state,
        notes=None,
        expected_datetime=None,
        who="test",
        key_id=None,
        now=at,
    )


@pytest.fixture(scope="module")
def planted(loaded_engine: Engine, o311_settings: Settings) -> None:
    """Dépôts sauvages: one resolved after 30 h (acted on after 6 h), one linked to it as a
    duplicate an hour later, one in progress after 10 h (the week after); éclairage: one
    rejected as abuse after 2 h, one left received."""
    engine, settings = loaded_engine, o311_settings
    first = _file(engine, settings, "depot_sauvage", 5.3900, MONDAY)
    _file(engine, settings, "depot_sauvage", 5.3900, MONDAY + timedelta(hours=1))
    _move(engine, settings, first, "in_progress", MONDAY + timedelta(hours=6))
    _move(engine, settings, first, "resolved", MONDAY + timedelta(hours=30))
    third = _file(engine, settings, "depot_sauvage", 5.4100, MONDAY + timedelta(days=7))
    _move(engine, settings, third, "in_progress", MONDAY + timedelta(days=7, hours=10))
    light = _file(engine, settings, "eclairage_defaillant", 5.3700, MONDAY + timedelta(days=1))
    _move(engine, settings, light, "rejected_abuse", MONDAY + timedelta(days=1, hours=2))
    _file(engine, settings, "eclairage_defaillant", 5.3750, MONDAY + timedelta(days=2))


def test_the_summary_counts_and_times_each_service(
    planted: None, loaded_engine: Engine, o311_settings: Settings
) -> None:
    end = datetime(2024, 4, 1, tzinfo=PARIS)
    done = reports_summary(loaded_engine, o311_settings, days=31, end=end)
    table = done.table
    dumps, lights = "Dépôts sauvages", "Éclairage public défaillant"
    assert table.loc[dumps, ["filed", "open", "resolved", "rejected", "duplicates"]].tolist() == [
        3,
        2,
        1,
        0,
        1,
    ]
    assert table.loc[lights, ["filed", "open", "resolved", "rejected"]].tolist() == [2, 1, 0, 1]
    assert table.loc[dumps, "median_hours_to_first_action"] == pytest.approx(8.0)  # 6 h, 10 h
    assert table.loc[dumps, "median_days_to_resolution"] == pytest.approx(30 / 24)
    assert table.loc[TOTAL, "filed"] == 5
    assert table.loc[TOTAL, "median_hours_to_first_action"] == pytest.approx(6.0)  # 2, 6, 10
    assert done.weekly.to_dict("list") == {dumps: [2, 1], lights: [2, 0]}


def test_the_command_prints_the_table_and_draws_the_picture(
    planted: None, settings: Settings, tmp_path: Path
) -> None:
    picture = tmp_path / "bilan.png"
    result = CliRunner().invoke(
        cli,
        ["reports", "summary", "--days", "31", "--end", "2024-03-31", "--image", str(picture)],
        env={"GEOTRANQUIL_DATABASE_URL": settings.database_url, "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "01/03/2024 – 31/03/2024" in result.output
    row = next(line for line in result.output.splitlines() if "Dépôts sauvages" in line)
    assert [cell.strip() for cell in row.split("│")[2:-1]] == [
        "3",
        "2",
        "1",
        "0",
        "1",
        "8,0",
        "1,2",
    ]
    with Image.open(picture) as image:
        assert image.format == "PNG" and image.width > 800
    bad = CliRunner().invoke(
        cli,
        ["reports", "summary", "--end", "31/03/2024"],
        env={"GEOTRANQUIL_DATABASE_URL": settings.database_url, "COLUMNS": "200"},
    )
    assert bad.exit_code != 0 and "AAAA-MM-JJ" in bad.output

"""Typed settings, read from ``GEOTRANQUIL_*`` environment variables, built once and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/geotranquil"


def _default_reference_dir() -> Path | None:
    """``../shared/data/marseille`` beside the working directory, when it exists."""
    for base in (Path.cwd(), *Path.cwd().parents):
        candidate = base.parent / "shared" / "data" / "marseille"
        if candidate.is_dir():
            return candidate
    return None


class Settings(BaseSettings):
    """Every setting of the platform; each one is ``GEOTRANQUIL_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="GEOTRANQUIL_", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL of the PostgreSQL/PostGIS database (psycopg 3 driver).",
    )
    reference_dir: Path | None = Field(
        default_factory=_default_reference_dir,
        description="Directory with the official boundary files; built-in geography otherwise.",
    )
    data_dir: Path = Field(
        Path("var/data"), description="Where the demo writes its synthetic silo files."
    )
    analysis_resolutions: tuple[int, ...] = Field(
        (7, 8, 9, 10), description="H3 resolutions of the grid and of the analyses (7 to 10)."
    )
    ingest_chunk_rows: int = Field(50_000, ge=100, description="Rows per committed ingest chunk.")
    study_area_buffer_m: float = Field(
        0.0, ge=0, description="Tolerance (metres) around the commune for accepting events."
    )
    timezone: str = Field(
        "Europe/Paris", description="Local time zone of the study area (time bins of analyses)."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"

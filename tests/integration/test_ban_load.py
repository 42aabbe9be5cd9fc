"""Loading Base Adresse Nationale files into PostGIS: counts, releases, re-runs, the CLI."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from geotranquil.cli.main import app
from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db import ban as ban_db
from geotranquil.errors import InvalidInput
from geotranquil.geocode.ban import BAN_HEADER, write_ban_csv
from geotranquil.geography.reference import load_geography
from geotranquil.services.addresses import load_ban
from geotranquil.synth.ban import ban_frame
from geotranquil.synth.streets import street_network

COMMUNE_A, COMMUNE_B = "13201", "13202"


@pytest.fixture(scope="module")
def synth() -> pd.DataFrame:
    return ban_frame(street_network(load_geography(None), seed=11))


@pytest.fixture
def clean_ban(loaded_engine: Engine) -> Engine:
    """Empty BAN tables before the test."""
    with loaded_engine.begin() as conn:
        conn.execute(text("TRUNCATE ban_addresses, ban_releases RESTART IDENTITY CASCADE"))
    return loaded_engine


def _two_communes(synth: pd.DataFrame) -> pd.DataFrame:
    return synth[synth["code_insee"].isin([COMMUNE_A, COMMUNE_B])].reset_index(drop=True)


def _stored(engine: Engine, communes: list[str] | None = None) -> pd.DataFrame:
    with engine.connect() as conn:
        return ban_db.addresses_frame(conn=conn, communes=communes)


def _scalar(engine: Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def test_load_then_reload_changes_nothing(
    clean_ban: Engine, settings: Settings, synth: pd.DataFrame, tmp_path: Path
) -> None:
    path = write_ban_csv(synth, tmp_path / "adresses-13.csv.gz")
    seen: list[tuple[int, int, int]] = []
    first = load_ban(settings, path, progress=lambda r, d, t: seen.append((r, d, t)))
    n = len(synth)
    assert first.status == "loaded"
    assert (first.rows_read, first.inserted, first.updated, first.unchanged) == (n, n, 0, 0)
    assert (first.removed, first.rejected) == (0, 0)
    assert first.communes == sorted(set(synth["code_insee"]))
    assert seen[-1] == (n, path.stat().st_size, path.stat().st_size)
    assert len(seen) >= n // settings.ingest_chunk_rows  # one call per chunk at least
    stored = _stored(clean_ban)
    pd.testing.assert_frame_equal(stored, synth.drop(columns=["type_position", "source_position"]))
    assert _scalar(clean_ban, "SELECT count(*) FROM ban_addresses WHERE NOT ST_Equals(geom, "
                   "ST_SetSRID(ST_MakePoint(lon, lat), 4326))") == 0  # fmt: skip
    with clean_ban.connect() as conn:
        assert ban_db.latest_release_id(conn=conn) == first.release_id
        release = ban_db.release_of(conn=conn, sha256=_sha(path))
    assert release is not None and release.id == first.release_id
    assert (release.rows_read, release.inserted, release.rejected) == (n, n, 0)
    assert release.communes == first.communes and release.file_name == path.name

    again = load_ban(settings, path)
    assert again.status == "skipped" and again.release_id == first.release_id
    assert (again.inserted, again.updated, again.removed, again.unchanged) == (0, 0, 0, n)
    assert _scalar(clean_ban, "SELECT count(*) FROM ban_releases") == 1

    forced = load_ban(settings, path, force=True)
    assert forced.status == "loaded" and forced.release_id != first.release_id
    assert (forced.inserted, forced.updated, forced.unchanged, forced.removed) == (0, 0, n, 0)
    assert _scalar(clean_ban, "SELECT count(DISTINCT release_id) FROM ban_addresses") == 1
    assert _scalar(clean_ban, "SELECT min(release_id) FROM ban_addresses") == forced.release_id
    pd.testing.assert_frame_equal(_stored(clean_ban), stored)


def _sha(path: Path) -> str:
    from geotranquil.ingest.pipeline import file_sha256

    return file_sha256(path)


def test_newer_release_replaces_its_commune_only(
    clean_ban: Engine, settings: Settings, synth: pd.DataFrame, tmp_path: Path
) -> None:
    base = _two_communes(synth)
    first = load_ban(settings, write_ban_csv(base, tmp_path / "v1.csv"))
    assert first.inserted == len(base) and first.communes == [COMMUNE_A, COMMUNE_B]
    before_b = _stored(clean_ban, [COMMUNE_B])

    newer = base[base["code_insee"] == COMMUNE_A].reset_index(drop=True)
    moved = newer.index[10:20]
    newer.loc[moved, "lon"] = (newer.loc[moved, "lon"] + 0.0002).round(6)
    removed = newer["id"].iloc[100:105].tolist()
    newer = newer[~newer["id"].isin(removed)]
    added = newer.iloc[:7].copy()
    added["street_key"] = f"{COMMUNE_A}_9999"
    added["numero"] = range(1, 8)
    added["id"] = [f"{COMMUNE_A}_9999_{i:05d}" for i in range(1, 8)]
    added["nom_voie"] = "Rue Nouvelle"
    newer = pd.concat([newer, added], ignore_index=True).sort_values("id", ignore_index=True)

    second = load_ban(settings, write_ban_csv(newer, tmp_path / "v2.csv"))
    n_a = int((base["code_insee"] == COMMUNE_A).sum())
    assert (second.updated, second.removed, second.inserted) == (10, 5, 7)
    assert second.unchanged == n_a - 15 and second.rows_read == n_a + 2
    assert second.communes == [COMMUNE_A]
    stored_a = _stored(clean_ban, [COMMUNE_A])
    expected_a = newer.drop(columns=["type_position", "source_position"])
    pd.testing.assert_frame_equal(stored_a, expected_a.reset_index(drop=True))
    assert not set(removed) & set(stored_a["id"])
    # the other commune is untouched, still from the first release
    pd.testing.assert_frame_equal(_stored(clean_ban, [COMMUNE_B]), before_b)
    with clean_ban.connect() as conn:
        releases: dict[str, list[int]] = dict(
            conn.execute(
                text(
                    "SELECT code_insee, array_agg(DISTINCT release_id) "
                    "FROM ban_addresses GROUP BY 1"
                )
            ).all()
        )
        assert ban_db.latest_release_id(conn=conn) == second.release_id
    assert releases == {COMMUNE_A: [second.release_id], COMMUNE_B: [first.release_id]}
    moved_id = newer["id"].iloc[10]
    geom_lon = _scalar(clean_ban, f"SELECT ST_X(geom) FROM ban_addresses WHERE id = '{moved_id}'")
    assert geom_lon == pytest.approx(float(newer["lon"].iloc[10]))


def test_a_bad_row_is_rejected_and_the_rest_loaded(
    clean_ban: Engine, settings: Settings, synth: pd.DataFrame, tmp_path: Path
) -> None:
    base = _two_communes(synth)
    path = write_ban_csv(base, tmp_path / "dirty.csv")
    lines = path.read_text("utf-8").split("\n")
    fields = lines[5].split(";")  # data row 5
    bad_id = fields[0]
    fields[BAN_HEADER.index("lon")] = "abc"
    lines[5] = ";".join(fields)
    path.write_text("\n".join(lines), "utf-8")

    summary = load_ban(settings, path)
    assert (summary.rows_read, summary.rejected) == (len(base), 1)
    assert summary.inserted == len(base) - 1
    assert summary.rejections_by_reason == {"invalid_position": 1}
    assert [(r.row_number, r.ban_id) for r in summary.rejections] == [(5, bad_id)]
    assert summary.rejections[0].raw == lines[5]
    assert _scalar(clean_ban, "SELECT count(*) FROM ban_addresses") == len(base) - 1
    assert _scalar(clean_ban, "SELECT rejected FROM ban_releases") == 1

    # in a newer file, a bad row of a known address keeps its previous version
    good = write_ban_csv(base, tmp_path / "good.csv")
    assert load_ban(settings, good).inserted == 1
    again = load_ban(settings, path, force=True)
    assert (again.rejected, again.removed, again.unchanged) == (1, 0, len(base) - 1)
    assert _scalar(clean_ban, f"SELECT count(*) FROM ban_addresses WHERE id = '{bad_id}'") == 1


def test_an_interrupted_load_leaves_the_previous_addresses(
    clean_ban: Engine, settings: Settings, synth: pd.DataFrame, tmp_path: Path
) -> None:
    # two large communes: the newer release of the first one spans several chunks
    base = synth[synth["code_insee"].isin(["13209", "13210"])].reset_index(drop=True)
    first = load_ban(settings, write_ban_csv(base, tmp_path / "v1.csv"))
    # a newer release whose download was cut: only its first chunks can be read
    newer = base[base["code_insee"] == "13209"].assign(lon=lambda f: (f["lon"] + 1e-4).round(6))
    full = write_ban_csv(newer, tmp_path / "v2.csv.gz").read_bytes()
    cut = tmp_path / "v2-cut.csv.gz"
    cut.write_bytes(full[: len(full) * 2 // 3])
    with pytest.raises(InvalidInput, match="tronqué"):
        load_ban(settings, cut)
    stored = _stored(clean_ban)
    assert len(stored) == len(base)  # nothing deleted, every address usable
    with clean_ban.connect() as conn:
        assert ban_db.latest_release_id(conn=conn) == first.release_id
    moved = int((stored.set_index("id")["lon"] != base.set_index("id")["lon"]).sum())
    assert moved % settings.ingest_chunk_rows == 0  # the committed chunks only
    assert 0 < moved < len(newer)
    done = load_ban(settings, tmp_path / "v2.csv.gz")
    assert done.status == "loaded" and done.updated == len(newer) - moved
    assert done.unchanged == moved and done.removed == 0
    assert _scalar(clean_ban, "SELECT count(*) FROM ban_releases") == 2  # the failed one is gone


@pytest.fixture
def cli_env(settings: Settings) -> Iterator[dict[str, str]]:
    url = settings.database_url + "_ban_cli"
    admin.drop_database(url)
    yield {"GEOTRANQUIL_DATABASE_URL": url, "COLUMNS": "200"}
    admin.drop_database(url)


def _run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_addresses_load_through_the_cli(
    cli_env: dict[str, str], synth: pd.DataFrame, tmp_path: Path
) -> None:
    _run(cli_env, "db", "upgrade")
    base = _two_communes(synth)
    path = write_ban_csv(base, tmp_path / "adresses-13.csv")
    out = _run(cli_env, "addresses", "load", str(path))
    assert "BAN version 1" in out and "nouvelles adresses" in out
    assert f"{len(base):,}".replace(",", "\u202f") in out
    assert f"2 : {COMMUNE_A}, {COMMUNE_B}" in out
    out = _run(cli_env, "addresses", "load", str(path))
    assert "déjà chargé" in out and "rien n'a changé" in out
    out = _run(cli_env, "addresses", "load", str(path), "--force")
    assert "BAN version 2" in out and "inchangées" in out
    bad = tmp_path / "pas-la-ban.csv"
    bad.write_text("id;numero;lon;lat\n1;2;3;4\n", "utf-8")
    result = CliRunner().invoke(app, ["addresses", "load", str(bad)], env=cli_env)
    assert result.exit_code == 2 and "colonnes absentes" in result.output
    assert "nom_voie" in result.output and "Traceback" not in result.output
    help_out = CliRunner().invoke(app, ["addresses", "--help"], env=cli_env).output
    assert "Base Adresse Nationale" in help_out


def test_gzip_header_only_and_missing_file(
    clean_ban: Engine, settings: Settings, tmp_path: Path
) -> None:
    empty = tmp_path / "vide.csv.gz"
    empty.write_bytes(gzip.compress((";".join(BAN_HEADER) + "\n").encode()))
    summary = load_ban(settings, empty)
    assert (summary.rows_read, summary.inserted, summary.removed) == (0, 0, 0)
    with pytest.raises(InvalidInput, match="introuvable"):
        load_ban(settings, tmp_path / "absent.csv")

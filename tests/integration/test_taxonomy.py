"""Adding a category is a data change: a taxonomy file and a sync, no code."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from geotranquil.db.categories import sync_categories
from geotranquil.ingest.mapping import load_mapping
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.taxonomy import load_taxonomy

PACKAGED = Path(__file__).resolve().parents[2] / "src" / "geotranquil" / "taxonomy.toml"


def test_new_category_from_a_taxonomy_file(clean_events: Engine, dsn: str, tmp_path: Path) -> None:
    taxonomy = tmp_path / "taxonomy.toml"
    taxonomy.write_text(
        PACKAGED.read_text("utf-8")
        + '\n[[category]]\ncode = "feu_de_poubelle"\nlabel = "Feux de poubelles"\n'
        'family = "atteintes_biens"\npublic = true\n',
        "utf-8",
    )
    try:
        with clean_events.begin() as conn:
            assert sync_categories(conn=conn, categories=load_taxonomy(taxonomy)) == 1
            assert sync_categories(conn=conn, categories=load_taxonomy(taxonomy)) == 0
            known = set(conn.execute(text("SELECT code FROM categories")).scalars())
        mapping_file = tmp_path / "pompiers.toml"
        mapping_file.write_text(
            'slug = "pompiers"\nname = "Bataillon de marins-pompiers"\n'
            '[format]\ntype = "csv"\ndelimiter = ";"\n[id]\nfield = "id"\n'
            '[time]\nfield = "date"\nformat = "iso8601"\n'
            '[category]\nfield = "nature"\n[category.values]\n'
            '"Feu de conteneur" = "feu_de_poubelle"\n'
            '[location]\nx = "lon"\ny = "lat"\n',
            "utf-8",
        )
        data = tmp_path / "bmpm.csv"
        data.write_text(
            "id;date;nature;lon;lat\n1;2025-06-01T23:10:00;Feu de conteneur;5.3745;43.2951\n",
            "utf-8",
        )
        summary = ingest_file(dsn, data, load_mapping(mapping_file, known))
        assert (summary.inserted, summary.rejected) == (1, 0)
        with clean_events.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT c.label, c.family_label FROM events e JOIN categories c "
                    "ON c.code = e.category"
                )
            ).one()
        assert row == ("Feux de poubelles", "Atteintes aux biens")
    finally:
        with clean_events.begin() as conn:
            conn.execute(text("DELETE FROM events WHERE category = 'feu_de_poubelle'"))
            conn.execute(text("DELETE FROM categories WHERE code = 'feu_de_poubelle'"))

"""The ``categories`` table: synchronised from the taxonomy file, read by ingestion."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

from geotranquil.taxonomy import CategoryDef


def sync_categories(*, conn: Connection, categories: Sequence[CategoryDef]) -> int:
    """Insert or update every category of the taxonomy; return how many rows changed.

    Categories absent from the file are kept (events may refer to them).
    """
    changed = 0
    for c in categories:
        result = conn.execute(
            text(
                """
                INSERT INTO categories (code, label, family, family_label, public, sort_order)
                VALUES (:code, :label, :family, :family_label, :public, :sort_order)
                ON CONFLICT (code) DO UPDATE SET
                    label = EXCLUDED.label, family = EXCLUDED.family,
                    family_label = EXCLUDED.family_label, public = EXCLUDED.public,
                    sort_order = EXCLUDED.sort_order
                WHERE (categories.label, categories.family, categories.family_label,
                       categories.public, categories.sort_order)
                  IS DISTINCT FROM (EXCLUDED.label, EXCLUDED.family, EXCLUDED.family_label,
                       EXCLUDED.public, EXCLUDED.sort_order)
                """
            ),
            c.__dict__,
        )
        changed += result.rowcount
    return changed


def category_codes(*, conn: Connection) -> set[str]:
    """The codes of the canonical categories."""
    return {str(c) for c in conn.execute(text("SELECT code FROM categories")).scalars()}

"""The one way rows reach PostgreSQL in bulk: ``COPY ... FROM STDIN`` in CSV.

Every bulk write (grid cells, BAN addresses, geocoding results, run and forecast cells,
ingested events) goes through :func:`copy_frame` or :func:`copy_csv`, inside the caller's
transaction. In CSV, an empty unquoted field is NULL: missing values (``NaN``, ``None``,
``pd.NA``) arrive as NULL, and so does an empty string.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pandas as pd
import psycopg
from sqlalchemy import Connection


def _raw(conn: Connection | psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    if isinstance(conn, psycopg.Connection):
        return conn
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    return raw


def frame_csv(frame: pd.DataFrame, columns: Sequence[str]) -> str:
    """The ``COPY`` CSV text of ``columns`` of ``frame`` (no header, no index).

    Examples
    --------
    >>> frame_csv(pd.DataFrame({"a": [1, 2], "b": ["x", None]}), ["b", "a"])
    'x,1\\n,2\\n'
    """
    buf = io.StringIO()
    frame.loc[:, list(columns)].to_csv(buf, header=False, index=False)
    return buf.getvalue()


def copy_csv(
    conn: Connection | psycopg.Connection[Any], table: str, columns: Sequence[str], data: str
) -> None:
    """``COPY table (columns)`` from CSV text already built (see :func:`frame_csv`).

    ``table`` and ``columns`` are identifiers written by the code, never user input.
    """
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
    with _raw(conn).cursor() as cur, cur.copy(statement) as copy:
        copy.write(data)


def copy_frame(
    conn: Connection | psycopg.Connection[Any],
    table: str,
    frame: pd.DataFrame,
    columns: Sequence[str],
) -> int:
    """Write ``columns`` of ``frame`` into ``table`` with ``COPY``; return the rows written.

    Runs in the caller's transaction (an SQLAlchemy connection or a psycopg one).
    """
    if len(frame):
        copy_csv(conn, table, columns, frame_csv(frame, columns))
    return len(frame)

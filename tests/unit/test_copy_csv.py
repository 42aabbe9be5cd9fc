"""The COPY text of a frame: what PostgreSQL's CSV reader must read back, and a loud error for
a column Arrow cannot type (no silent slower path)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pytest

from geotranquil.db.copy import frame_csv


def test_values_read_back_by_a_csv_reader() -> None:
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "text": ['a "quoted", comma', "", None],
            "flag": [True, False, None],
            "share": [0.25, float("nan"), 1e-9],
            "at": pd.to_datetime(
                [datetime(2024, 3, 31, 1, 30, tzinfo=UTC), None, datetime(1999, 12, 31, tzinfo=UTC)]
            ),
        }
    )
    rows = list(csv.reader(io.StringIO(frame_csv(frame, ["text", "id", "flag", "share"]).decode())))
    # empty string and None both leave an empty field (COPY reads NULL)
    assert rows == [
        ['a "quoted", comma', "1", "true", "0.25"],
        ["", "2", "false", ""],
        ["", "3", "", "1e-9"],
    ]
    at = frame_csv(frame, ["at"]).decode().splitlines()
    assert at[0].startswith("2024-03-31 01:30:00") and at[0].endswith("Z")
    assert at[1] == ""


def test_a_mixed_column_fails_loudly_naming_it() -> None:
    frame = pd.DataFrame({"ok": [1, 2], "mixed": [1, "deux"]})
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError), match="mixed"):
        frame_csv(frame, ["ok", "mixed"])

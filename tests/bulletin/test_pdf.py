"""The bulletin of a planted week, read back with real PDF tools (pdftotext, pdftoppm,
pdfimages): every figure printed is the planted one, and no free text gets in."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text

from geotranquil.bulletin.weeks import parse_week
from geotranquil.errors import InvalidInput, NotFound
from geotranquil.services import bulletin

from .conftest import SECRETS, WEEK, Planted, pdf_text


@dataclass(frozen=True)
class Built:
    stored: bulletin.StoredBulletin
    path: Path
    text: str  # pdftotext -layout

    @property
    def flat(self) -> str:
        """The text with every run of white space (no-break ones too) made one space."""
        return " ".join(self.text.split())

    def row(self, label: str) -> str:
        """The figures printed on the table line that starts with ``label``."""
        lines = self.text.splitlines()
        [line] = [" ".join(x.split()) for x in lines if x.strip().startswith(label)]
        # pdftotext -layout may drop the (no-break) space of « 0 % » when it places columns
        return re.sub(r"(\d)%", r"\1 %", line.split(label, 1)[1].strip())


def names(planted: Planted) -> dict[str, str]:
    with planted.engine.connect() as conn:
        rows = conn.execute(text("SELECT code, name FROM areas WHERE kind = 'arrondissement'"))
        return {str(code): str(name) for code, name in rows}


@pytest.fixture(scope="module")
def built(planted: Planted, tmp_path_factory: pytest.TempPathFactory) -> Built:
    stored = bulletin.build(planted.engine, planted.settings, parse_week(WEEK))
    path = tmp_path_factory.mktemp("pdf") / "bulletin.pdf"
    path.write_bytes(stored.pdf)
    return Built(stored, path, pdf_text(path))


def test_the_summary_states_the_planted_figures(built: Built, planted: Planted) -> None:
    third = names(planted)["13203"]
    assert (
        "Semaine du 02/11/2026 au 08/11/2026 : 50 événements enregistrés, +85 % par rapport à "
        "la moyenne des quatre semaines précédentes (27,0 par semaine)." in built.flat
    )
    assert (
        f"La plus forte hausse concerne {third} : 30 événements contre 12,0 en moyenne "
        "(+150 %)." in built.flat
    )
    assert (
        "Les dernières analyses comptent 6 points chauds significatifs et 3 tendances "
        "émergentes" in built.flat
    )


def test_each_arrondissement_has_its_counts_and_changes(built: Built, planted: Planted) -> None:
    name = names(planted)
    # this week, mean of the 4 weeks before, change, same week of 2025, change
    assert built.row(name["13201"]) == "12 10,0 +20 % 6 +100 %"
    assert built.row(name["13203"]) == "30 12,0 +150 % 15 +100 %"
    assert built.row(name["13213"]) == "5 5,0 0 % 0 n.d."
    assert built.row(name["13202"]) == "0 0,0 n.d. 0 n.d."
    assert built.row("Ensemble de la ville") == "50 27,0 +85 % 21 +138 %"
    assert "(2025-S45)" in built.flat  # the header of the year-earlier column
    assert (
        "Événements non localisés (comptés dans le total de la ville, dans aucun "
        "arrondissement) : 3." in built.flat
    )


def test_the_largest_changes_and_the_residents_reports(built: Built) -> None:
    ranked = [
        " ".join(line.split())
        for line in built.text.split("qui ont le plus changé")[1].splitlines()
        if line.split() and line.split()[0] in {str(i) for i in range(1, 11)}
    ]
    # only two areas moved: the 3rd arrondissement's (+18) then the 1st's (+2)
    assert [r.split(" ", 1)[0] for r in ranked] == ["1", "2"]
    assert ranked[0].endswith("30 12,0 +18,0 +150 %")
    assert ranked[1].endswith("12 10,0 +2,0 +20 %")
    assert built.row("Reçus") == "3"
    assert built.row("Résolus") == "1"
    assert built.row("Encore ouverts") == "2"


def test_no_free_text_no_address_no_event(built: Built) -> None:
    for secret in SECRETS:
        assert secret not in built.text
    assert "Rue" not in built.text and "rue" not in built.text.lower().split("aucune adresse")[0]


def test_the_pages_render_with_three_maps(built: Built, tmp_path: Path) -> None:
    subprocess.run(
        [
            "pdftoppm",
            "-f",
            "1",
            "-l",
            "1",
            "-r",
            "50",
            "-png",
            str(built.path),
            str(tmp_path / "p"),
        ],
        check=True,
    )
    [png] = list(tmp_path.glob("p*.png"))
    grey = np.asarray(Image.open(png).convert("L"))
    assert grey.shape[1] > 300  # an A4 page at 50 dpi: 413 × 585
    assert (grey < 200).mean() > 0.01  # text and tables: not a blank page
    listed = subprocess.run(
        ["pdfimages", "-list", str(built.path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    kinds = [line.split()[2] for line in listed if line.strip()]
    assert kinds.count("image") == 3  # Gi*, emerging, forecast


def test_a_rebuild_replaces_the_weeks_bulletin(built: Built, planted: Planted) -> None:
    again = bulletin.build(planted.engine, planted.settings, parse_week(WEEK))
    assert again.built_at > built.stored.built_at
    [only] = [b for b in bulletin.listing(planted.engine) if b.week == WEEK]
    assert (only.sha256, only.size) == (again.sha256, again.size)
    stored = bulletin.stored(planted.engine, parse_week(WEEK))
    assert stored is not None and stored.pdf == again.pdf


def test_weeks_not_over_or_malformed_are_refused(planted: Planted) -> None:
    now = datetime(2026, 11, 8, 22, 59, tzinfo=UTC)  # Sunday 23:59 in Paris
    with pytest.raises(NotFound, match="pas terminée"):
        bulletin.resolve_week(planted.settings, WEEK, now=now)
    assert bulletin.resolve_week(planted.settings, None, now=now).label == "2026-S44"
    later = datetime(2026, 11, 8, 23, 0, tzinfo=UTC)
    assert bulletin.resolve_week(planted.settings, WEEK, now=later).label == WEEK
    assert bulletin.resolve_week(planted.settings, None, now=later).label == WEEK
    with pytest.raises(InvalidInput, match="2026-S49"):
        bulletin.resolve_week(planted.settings, "semaine 45")

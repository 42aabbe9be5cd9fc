"""What a new user sees while a command works (issue 15 §6): bars that fit in 80 columns,
stage lines when the output is not a terminal, no empty bar when there is nothing to do."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from geotranquil.cli import progress
from geotranquil.cli.progress import bytes_bar, steps_bar

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _console(monkeypatch: pytest.MonkeyPatch, *, terminal: bool) -> io.StringIO:
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=terminal, color_system=None)
    monkeypatch.setattr(progress, "console", console)
    return out


def _last_frame(text: str) -> str:
    """The bar's last drawn state (a terminal redraws it in place)."""
    lines = [ANSI.sub("", part).rstrip() for part in re.split(r"[\r\n]", text)]
    return [line for line in lines if line.strip()][-1]


def test_bars_fit_in_80_columns_with_their_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _console(monkeypatch, terminal=True)
    with bytes_bar("police_municipale ← police_municipale_main_courante.csv") as bar:
        bar.update(completed=3_000_000, total=4_000_000, rows="12\u202f345")
    line = _last_frame(out.getvalue())
    assert len(line) <= 80
    assert line.startswith("police_municipale ← …ourante.csv")
    assert "75%" in line and "12\u202f345 lignes" in line
    out = _console(monkeypatch, terminal=True)
    with steps_bar("Backtest", 208) as bar:
        bar.update(description="Backtest : multiscale", advance=104)
    line = _last_frame(out.getvalue())
    assert len(line) <= 80 and line.startswith("Backtest : multiscale") and "104/208" in line


def test_stage_lines_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _console(monkeypatch, terminal=False)
    with steps_bar("Prévision sur fichier", 20) as bar:
        bar.update(description="Lecture des points")
        for _ in range(2):
            for method in ("naive", "kde"):
                bar.update(description=f"Backtest : {method}", advance=5)
    lines = out.getvalue().splitlines()
    assert lines[:-1] == [
        "Prévision sur fichier …",
        "  Lecture des points",
        "  Backtest : naive",
        "  Prévision sur fichier : 20 % (5/20)",
        "  Backtest : kde",
        "  Prévision sur fichier : 50 % (10/20)",
        "  Prévision sur fichier : 70 % (15/20)",
    ]
    assert re.fullmatch(r"Prévision sur fichier : terminé \(20/20, \d+\.\d s\)", lines[-1])
    assert "\x1b" not in out.getvalue()


def test_nothing_to_count_shows_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    for terminal in (True, False):
        out = _console(monkeypatch, terminal=terminal)
        with steps_bar("Géocodage des adresses", 0, lazy=True) as bar:
            bar.update(completed=0, total=0)
        assert out.getvalue() == ""
    out = _console(monkeypatch, terminal=False)
    with steps_bar("Géocodage des adresses", 0, lazy=True) as bar:
        bar.update(completed=0, total=4)
        bar.update(completed=4, total=4)
    assert out.getvalue().splitlines()[0] == "Géocodage des adresses …"
    assert out.getvalue().splitlines()[1].startswith("Géocodage des adresses : terminé (4/4,")


def test_long_sentences_are_not_cut_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _console(monkeypatch, terminal=False)
    progress.prepare_console()
    sentence = "Géocodage : 1\u202f234 placé(s) sur 1\u202f300 " + "(interpolation) " * 10
    progress.console.print(sentence)
    assert out.getvalue() == sentence + "\n"

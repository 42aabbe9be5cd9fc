"""The bulletin as an HTML page (a string template, every value escaped) and as a PDF
(WeasyPrint). Only aggregates go in: counts per area, run results, report counts."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from string import Template
from typing import Any

import pandas as pd

from geotranquil.bulletin.figures import BASELINE_WEEKS, fr_change, fr_number
from geotranquil.bulletin.weeks import IsoWeek

_TEMPLATE = Template((Path(__file__).with_name("bulletin.html")).read_text("utf-8"))


@dataclass(frozen=True)
class Picture:
    """A PNG of the bulletin and its caption; ``path`` None says why there is none."""

    caption: str
    path: Path | None
    missing: str = ""


@dataclass(frozen=True)
class Content:
    """Everything the bulletin shows, already computed."""

    week: IsoWeek
    built_at: datetime
    sentences: list[str]
    areas: pd.DataFrame  # figures.area_table, plus the city's row
    unlocated: int
    last_year: IsoWeek
    changes: pd.DataFrame  # figures.largest_changes over quartiers or cells
    changes_unit: str  # "quartier" or "maille H3"
    hotspot_pictures: list[Picture]
    forecast_picture: Picture
    reports: dict[str, int]  # received, resolved, open (during the week)
    notes: list[str] = field(default_factory=list)


def _cell(value: object) -> str:
    return f"<td>{escape(str(value))}</td>"


def _area_rows(content: Content) -> str:
    rows = []
    for code, r in content.areas.iterrows():
        label = str(r["name"])
        cls = ' class="total"' if code == "" else ""
        rows.append(
            f"<tr{cls}><th>{escape(label)}</th>"
            + _cell(fr_number(int(r["n"])))
            + _cell(fr_number(float(r["baseline"]), 1))
            + _cell(fr_change(r["change"]))
            + _cell(fr_number(int(r["last_year"])))
            + _cell(fr_change(r["change_last_year"]))
            + "</tr>"
        )
    return "\n".join(rows)


def _change_rows(content: Content) -> str:
    rows = []
    for rank, (_, r) in enumerate(content.changes.iterrows(), start=1):
        diff = float(r["difference"])
        rows.append(
            f"<tr><td>{rank}</td><th>{escape(str(r['name']))}</th>"
            + _cell(fr_number(int(r["n"])))
            + _cell(fr_number(float(r["baseline"]), 1))
            + _cell(("+" if diff > 0 else "") + fr_number(diff, 1))
            + _cell(fr_change(r["change"]))
            + "</tr>"
        )
    if not rows:
        return (
            '<tr><td colspan="6">Aucun changement par rapport aux semaines précédentes.</td></tr>'
        )
    return "\n".join(rows)


def _figure(picture: Picture) -> str:
    if picture.path is None:
        return (
            f'<div class="missing"><strong>{escape(picture.caption)}</strong> : '
            f"{escape(picture.missing)}</div>"
        )
    data = base64.b64encode(picture.path.read_bytes()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{escape(picture.caption)}">'
        f"<figcaption>{escape(picture.caption)}</figcaption></figure>"
    )


def render_html(content: Content) -> str:
    """The bulletin as one self-contained HTML page (pictures inline), in French."""
    reports = content.reports
    return _TEMPLATE.substitute(
        week=escape(content.week.label),
        span=escape(content.week.french_span()),
        built=escape(f"{content.built_at:%d/%m/%Y à %H:%M}"),
        summary="\n".join(f"<p>{escape(s)}</p>" for s in content.sentences),
        baseline_weeks=BASELINE_WEEKS,
        last_year=escape(content.last_year.label),
        area_rows=_area_rows(content),
        unlocated=escape(fr_number(content.unlocated)),
        hotspot_figures="\n".join(_figure(p) for p in content.hotspot_pictures),
        changes_unit=escape(content.changes_unit),
        change_rows=_change_rows(content),
        forecast_figure=_figure(content.forecast_picture),
        reports_received=escape(fr_number(reports["received"])),
        reports_resolved=escape(fr_number(reports["resolved"])),
        reports_open=escape(fr_number(reports["open"])),
        notes="\n".join(f"<li>{escape(n)}</li>" for n in content.notes),
    )


def render_pdf(html: str) -> bytes:
    """The PDF of an HTML page (WeasyPrint, imported here: it loads Pango)."""
    pdf: bytes = _weasyprint_html()(string=html).write_pdf()
    return pdf


def _weasyprint_html() -> Any:
    """WeasyPrint's ``HTML`` class, Pillow's settings left as they were.

    Importing WeasyPrint sets Pillow's process-wide ``ImageFile.LOAD_TRUNCATED_IMAGES`` to
    True; in a server that also checks residents' photos, a truncated JPEG would then be
    accepted. The flag is put back as it was: the bulletin's own images are ours, whole.
    """
    from PIL import ImageFile

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        from weasyprint import HTML
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before
    return HTML

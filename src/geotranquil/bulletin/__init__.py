"""The weekly bulletin for decision makers (issue 16 §5): pure parts.

:mod:`~geotranquil.bulletin.weeks` names and bounds ISO weeks, :mod:`~geotranquil.bulletin.figures`
computes changes and the summary, :mod:`~geotranquil.bulletin.document` writes the HTML and the
PDF (WeasyPrint). No database code: the service (``services/bulletin.py``) reads the counts.
"""

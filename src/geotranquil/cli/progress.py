"""Progress bars and summaries for the command line (rich)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console()


@contextmanager
def bytes_bar(label: str) -> Iterator[tuple[Progress, TaskID]]:
    """A bar counting bytes of a file (with rows shown in the description)."""
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]} lignes"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    with bar:
        task = bar.add_task(label, total=None, rows=0)
        yield bar, task


@contextmanager
def steps_bar(label: str, total: int) -> Iterator[tuple[Progress, TaskID]]:
    """A bar counting steps."""
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with bar:
        task = bar.add_task(label, total=total)
        yield bar, task

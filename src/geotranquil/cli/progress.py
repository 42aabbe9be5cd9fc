"""Progress for the command line: bars on a terminal, stage lines anywhere else (logs, pipes).

A bar fits in 80 columns (the label is shortened, never the numbers), and sentences are never
cut by a hard line break when the output is not a terminal: the reader's window wraps them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

console = Console()

#: off a terminal, tasks of at least this many steps also say each tenth of the way
MILESTONES_FROM = 20
#: the longest label shown beside a bar (the rest of the line: about 45 columns)
LABEL_WIDTH = 32


def prepare_console() -> None:
    """Called at the start of each command: no hard line breaks when not a terminal."""
    console.soft_wrap = not console.is_terminal


def short(label: str, width: int = LABEL_WIDTH) -> str:
    """``label`` cut to ``width`` characters, its end kept (a file name ends with its type).

    Examples
    --------
    >>> short("Géocodage des adresses")
    'Géocodage des adresses'
    >>> short("police_municipale ← police_municipale_main_courante.csv")
    'police_municipale ← …ourante.csv'
    """
    if len(label) <= width:
        return label
    head, sep, tail = label.partition(" ← ")
    if sep and len(head) + 4 < width:
        room = width - len(head) - len(sep) - 1
        return f"{head}{sep}…{tail[-room:]}"
    return label[: width - 1] + "…"


def _n(value: int | float) -> str:
    return f"{int(value):,}".replace(",", "\u202f")


class Task:
    """One progress task: a rich bar on a terminal, stage lines otherwise.

    ``update`` takes what rich's does (``completed``, ``total``, ``advance``, ``description``,
    and the ``rows`` field of byte bars). Off a terminal, a line is printed when the task
    starts, at each new description (a new stage), at each tenth of the way, and at the end
    with what it counted.
    """

    def __init__(self, label: str, total: int | None, *, unit: str, lazy: bool) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.completed = 0
        self.rows: str | None = None
        self.description = label
        self.started = time.monotonic()
        self.terminal = console.is_terminal
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.shown = not lazy
        self.seen: set[str] = set()
        self.tenths = 0  # off a terminal: a line at each tenth of the way
        if not lazy:
            self._start()

    def _columns(self) -> list[Any]:
        text = TextColumn("[bold]{task.description}")
        if self.unit == "bytes":
            return [
                text,
                BarColumn(bar_width=16),
                TaskProgressColumn(),
                TextColumn("{task.fields[rows]} lignes"),
                TimeElapsedColumn(),
            ]
        return [text, BarColumn(bar_width=20), MofNCompleteColumn(), TimeElapsedColumn()]

    def _start(self) -> None:
        if self.terminal:
            self.progress = Progress(*self._columns(), console=console)
            self.progress.start()
            self.task = self.progress.add_task(short(self.label), total=self.total, rows="0")
        else:
            console.print(f"{self.label} …", soft_wrap=True, highlight=False)

    def update(
        self,
        *,
        completed: int | None = None,
        total: int | None = None,
        advance: int | None = None,
        description: str | None = None,
        rows: str | None = None,
    ) -> None:
        if total is not None:
            self.total = total
        if completed is not None:
            self.completed = completed
        if advance is not None:
            self.completed += advance
        if rows is not None:
            self.rows = rows
        if not self.shown:
            if not self.total:
                return  # nothing to count yet: no empty bar
            self.shown = True
            self._start()
        if description is not None and description != self.description:
            self.description = description
            if not self.terminal and description not in self.seen:
                self.seen.add(description)
                console.print(f"  {description}", soft_wrap=True, highlight=False)
        if not self.terminal and (self.total or 0) >= MILESTONES_FROM:
            self._milestone()
        if self.progress is not None and self.task is not None:
            fields: dict[str, Any] = {} if rows is None else {"rows": rows}
            self.progress.update(
                self.task,
                completed=self.completed,
                total=self.total,
                description=short(self.description),
                **fields,
            )

    def _milestone(self) -> None:
        tenths = min(10, int(10 * self.completed / (self.total or 1)))
        if 0 < tenths < 10 and tenths > self.tenths:
            self.tenths = tenths
            done = (
                f"{self.rows} lignes"
                if self.unit == "bytes"
                else (f"{_n(self.completed)}/{_n(self.total or 0)}")
            )
            console.print(f"  {self.label} : {10 * tenths} % ({done})", soft_wrap=True)

    def advance(self, step: int = 1) -> None:
        self.update(advance=step)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            return
        if self.terminal or not self.shown:
            return
        seconds = time.monotonic() - self.started
        if self.unit == "bytes":
            done = f"{self.rows or '0'} lignes"
        else:
            done = f"{_n(self.completed)}/{_n(self.total or self.completed)}"
        console.print(f"{self.label} : terminé ({done}, {seconds:.1f} s)", soft_wrap=True)


@contextmanager
def steps_bar(label: str, total: int, *, lazy: bool = False) -> Iterator[Task]:
    """A task counting steps; with ``lazy``, shown only once it has something to count."""
    task = Task(label, total if not lazy else None, unit="steps", lazy=lazy)
    try:
        yield task
    finally:
        task.close()


@contextmanager
def bytes_bar(label: str) -> Iterator[Task]:
    """A task counting the bytes of a file read (rows read given as ``rows``)."""
    task = Task(label, None, unit="bytes", lazy=False)
    try:
        yield task
    finally:
        task.close()

"""The end of a benchmark's run: its outcome kept as JSON, then printed (table, RESULT line).

An outcome is a dataclass with a ``passed`` property (its verdict) and a ``result_line()``: the
one ``RESULT name ... PASS|FAIL`` line that the smoke tests and the documentation read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar


class Outcome(Protocol):
    """What :func:`report` needs of a benchmark's outcome."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def passed(self) -> bool: ...

    def result_line(self) -> str: ...


OutcomeT = TypeVar("OutcomeT", bound=Outcome)


def report(outcome: OutcomeT, path: Path, print_table: Callable[[OutcomeT], None]) -> int:
    """Write ``outcome`` (its fields and ``passed``) as JSON to ``path``, then print its table
    and, last, its RESULT line.

    Returns
    -------
    int
        0, the exit status of the benchmark's ``main`` (the verdict is in the RESULT line).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(asdict(outcome) | {"passed": outcome.passed}, indent=2) + "\n",
        encoding="utf-8",
    )
    print_table(outcome)
    print(outcome.result_line(), flush=True)
    return 0

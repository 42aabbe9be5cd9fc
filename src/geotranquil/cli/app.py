"""The root of the command line: the typer application, errors in French, shared helpers."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
import typer
from rich.markup import escape
from sqlalchemy.exc import OperationalError as SAOperationalError
from typer.core import TyperGroup, TyperOption

from geotranquil.cli.progress import console, prepare_console
from geotranquil.config import Settings
from geotranquil.errors import GeotranquilError

if TYPE_CHECKING:
    from geotranquil.distributed.cluster import ClusterOptions

F = TypeVar("F", bound=Callable[..., Any])

#: said after an internal error only where it is true: ingestion keeps what it validated
RESUME_NOTE = "Rien n'est perdu : ce qui a été validé est enregistré et la même commande reprendra."


def new_app(help_text: str, **options: Any) -> typer.Typer:
    """A typer application (or command group) configured like all of ours."""
    options.setdefault("no_args_is_help", True)
    return typer.Typer(
        help=help_text, rich_markup_mode="rich", pretty_exceptions_enable=False, **options
    )


def _accept_hidden_names(option: TyperOption, shown: list[str], every: list[str]) -> None:
    """``option`` shows ``shown`` in its help but its parser accepts every name."""
    add_to_parser = option.add_to_parser

    def add_every_name(parser: Any, ctx: Any) -> None:
        option.opts = every
        try:
            add_to_parser(parser, ctx)
        finally:
            option.opts = shown

    option.opts = shown
    option.add_to_parser = add_every_name  # type: ignore[method-assign]


def hide_aliases(command: Any) -> None:
    """Show only the first long name of each option, in ``command`` and all its subcommands.

    The other long names are the French names of earlier versions (``--periode`` beside
    ``--period``): still accepted, never offered.
    """
    for param in command.params:
        if isinstance(param, TyperOption):
            longs = [o for o in param.opts if o.startswith("--")]
            if len(longs) > 1:
                every = list(param.opts)
                _accept_hidden_names(param, [o for o in every if o not in longs[1:]], every)
    for sub in getattr(command, "commands", {}).values():
        hide_aliases(sub)


class RootGroup(TyperGroup):
    """The root command: once typer has built the whole tree, the aliases are hidden."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hide_aliases(self)


def _guarded(func: F, resumable: bool) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        prepare_console()
        try:
            return func(*args, **kwargs)
        except GeotranquilError as exc:
            console.print(f"[bold red]Erreur :[/] {escape(str(exc))}")
            raise typer.Exit(2) from None
        except (SAOperationalError, psycopg.OperationalError) as exc:
            first = str(getattr(exc, "orig", exc)).splitlines()[0]
            console.print(f"[bold red]Base de données injoignable :[/] {first}")
            console.print("Vérifiez GEOTRANQUIL_DATABASE_URL et que PostgreSQL est démarré.")
            raise typer.Exit(2) from None
        except typer.Exit:
            raise  # a deliberate exit code (e.g. 1: no row ingested), not an internal error
        except Exception as exc:
            if os.environ.get("GEOTRANQUIL_DEBUG"):
                raise
            console.print(f"[bold red]Erreur interne :[/] {type(exc).__name__}: {exc}")
            if resumable:
                console.print(RESUME_NOTE)
            console.print("Relancez avec GEOTRANQUIL_DEBUG=1 pour le détail technique.")
            raise typer.Exit(3) from None

    return wrapper  # type: ignore[return-value]


def friendly(func: F) -> F:
    """Turn domain errors into a French message and exit code 2, without a traceback."""
    return _guarded(func, resumable=False)


def resumable(func: F) -> F:
    """:func:`friendly`, for commands that keep what they validated (ingestion, BAN load)."""
    return _guarded(func, resumable=True)


def number(value: int) -> str:
    r"""A number the French way (narrow no-break space between thousands).

    Examples
    --------
    >>> number(870321)
    '870\u202f321'
    """
    return f"{value:,}".replace(",", "\u202f")


def load_settings() -> Settings:
    """The settings, built once per command from the environment."""
    return Settings()


def split_codes(value: str | None) -> tuple[str, ...] | None:
    """``"a, b"`` → ``("a", "b")``; ``None`` stays ``None``."""
    return tuple(c.strip() for c in value.split(",") if c.strip()) if value else None


CLUSTER_HELP = (
    "Calcule sur un cluster Dask (adresse du scheduler, ex. tcp://hote:8786), par hexagone "
    "parent (GEOTRANQUIL_DASK_PARENT_RESOLUTION) ; sans cette option, calcul local."
)


def cluster_options(settings: Settings, address: str | None) -> ClusterOptions | None:
    """The Dask cluster of ``--cluster`` with the settings' partitioning, or None (local)."""
    from geotranquil.distributed.cluster import ClusterOptions

    if not address:
        return None
    return ClusterOptions(
        address=address,
        parent_resolution=settings.dask_parent_resolution,
        timeout_s=settings.dask_timeout_s,
    )

"""Imports only go downward (DESIGN.md §2): checked on the source, so it cannot drift."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "src" / "geotranquil"

#: package -> packages it must never import
FORBIDDEN: dict[str, set[str]] = {
    "grid": {"db", "services", "api", "cli", "ingest", "synth", "stats", "forecast"},
    "stats": {"db", "services", "api", "cli", "ingest", "distributed"},
    "forecast": {"db", "services", "api", "cli", "ingest", "distributed"},
    "distributed": {"db", "services", "api", "cli", "ingest", "jobs"},
    "synth": {"db", "services", "api", "cli", "ingest"},
    "charts": {"db", "services", "api", "cli", "ingest", "synth"},
    "geography": {"db", "services", "api", "cli", "ingest", "synth"},
    "bulletin": {"db", "services", "api", "cli", "ingest", "synth", "jobs"},
    "db": {"services", "api", "cli", "ingest", "synth", "jobs"},
    "ingest": {"services", "api", "cli", "geocode"},
    "geocode": {"services", "api", "cli", "tiles", "exports", "features", "synth"},
    "features": {"services", "api", "cli", "ingest", "synth", "tiles", "exports"},
    "tiles": {"services", "api", "cli", "ingest", "synth", "exports"},
    "exports": {"services", "api", "cli", "ingest", "synth", "tiles"},
    "services": {"api", "cli", "jobs"},
    "jobs": {"api", "cli", "db"},
    "api": {"cli"},
}
LEAVES = {"config", "errors", "taxonomy", "roles", "retention_policy"}
WEB = {"fastapi", "starlette", "uvicorn"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def _modules() -> list[tuple[str, Path]]:
    return [(p.relative_to(PKG).parts[0].removesuffix(".py"), p) for p in PKG.rglob("*.py")]


def test_no_upward_imports() -> None:
    problems = []
    for layer, path in _modules():
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] != "geotranquil" or len(parts) < 2:
                continue
            target = parts[1]
            if layer in LEAVES and target not in LEAVES:
                problems.append(f"{path.name}: leaf imports {name}")
            if target in FORBIDDEN.get(layer, set()):
                problems.append(f"{path.relative_to(PKG)} ({layer}) imports {name}")
    assert problems == []


def test_only_api_and_cli_import_the_web_framework() -> None:
    offenders = [
        str(path.relative_to(PKG))
        for layer, path in _modules()
        if layer not in ("api", "cli") and {n.split(".")[0] for n in _imports(path)} & WEB
    ]
    assert offenders == []


def test_only_cli_imports_typer() -> None:
    offenders = [
        str(path.relative_to(PKG))
        for layer, path in _modules()
        if layer != "cli" and any(n.split(".")[0] == "typer" for n in _imports(path))
    ]
    assert offenders == []


def test_the_cli_reaches_the_database_only_through_services() -> None:
    """Issue 15 §1: no ``geotranquil.db`` import anywhere in ``cli/`` (functions included)."""
    offenders = sorted(
        f"{path.relative_to(PKG)}: {name}"
        for layer, path in _modules()
        if layer == "cli"
        for name in _imports(path)
        if name == "geotranquil.db" or name.startswith("geotranquil.db.")
    )
    assert offenders == []
    assert {"main", "app", "progress", "demo", "serve", "forecast_file"} <= {
        p.stem for p in (PKG / "cli").glob("*.py")
    }


def test_cli_modules_stay_small() -> None:
    """One module per command group, each under about 300 lines."""
    sizes = {p.name: len(p.read_text("utf-8").splitlines()) for p in (PKG / "cli").glob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 300} == {}


#: Packages of pure computation: importing any of their modules loads no database code.
PURE = ("grid", "stats", "forecast", "geography", "charts", "synth", "bulletin", "distributed")
#: Top-level modules a pure package must not load, even indirectly.
NOT_IN_PURE = ("sqlalchemy", "psycopg", "geoalchemy2", "alembic")
#: geotranquil packages a pure package must not load, even indirectly.
NOT_IN_PURE_OWN = ("db", "services", "api", "cli", "ingest")

_LOADED = """
import importlib, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    importlib.import_module(info.name)
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("package", PURE)
def test_pure_packages_load_no_database_code(package: str) -> None:
    """Transitively, in a fresh interpreter: every module of the package imported, then the
    modules loaded are checked (a chain such as synth -> geocode -> db shows up here)."""
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, f"geotranquil.{package}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=PKG.parents[1],
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    assert any(m.startswith(f"geotranquil.{package}.") for m in loaded)  # it did import
    offenders = sorted(
        m
        for m in loaded
        if m.split(".")[0] in NOT_IN_PURE
        or (m.startswith("geotranquil.") and m.split(".")[1] in NOT_IN_PURE_OWN)
    )
    assert offenders == []


#: Modules above db/ that still write SQL themselves (issue 15 §3: to move into db/; the list
#: only shrinks).
SQL_OUTSIDE_DB = {
    "api/app.py",
    "services/demo_reports.py",
    "services/open311.py",
    "services/shared_state.py",
    "services/tiles.py",
}


def test_sql_is_written_in_db() -> None:
    """Statements (``sqlalchemy.text``) are written in db/ (and features/ and tiles/, which
    compose the collections' SQL), nowhere else but the modules still listed above."""
    writers = set()
    for layer, path in _modules():
        if layer in ("db", "features", "tiles"):
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "sqlalchemy"
                and any(a.name == "text" for a in node.names)
            ):
                writers.add(str(path.relative_to(PKG)))
    assert sorted(writers - SQL_OUTSIDE_DB) == []

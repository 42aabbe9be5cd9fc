"""docs/architecture.md cannot rot silently: every path and name it gives in backticks exists.

A backticked token is a path when it has a ``/`` or is a file name (``errors.py``), has no
space and is not a URL path such as ``/collections``. It is read from the repository root
(``src/...``, ``tests/...``, ``migrations/...``, ``scripts/...``, ``benchmarks/...``) or, for
short forms such as ``db/copy.py``, from ``src/geotranquil/``. A ``<placeholder>`` stands for
any name (``cli/<group>.py``: at least one file matches). A ``:name`` after a Python file
(``db/copy.py:copy_frame``, ``services/catalogue.py:CatalogueCache.get``) must be defined in
that file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "architecture.md"
PACKAGE = REPO / "src" / "geotranquil"
ROOTS = ("src/", "tests/", "migrations/", "scripts/", "benchmarks/")

_TICKED = re.compile(r"`([^`\n]+)`")
#: a file name without a folder (``errors.py``, ``taxonomy.toml:…``) is a path too
_FILE = re.compile(r"^[\w.-]+\.(py|toml|sql|ini|js|json|sh)(:[\w.]+)?$")


def _tokens(text: str) -> list[str]:
    """The backticked tokens of ``text`` that name a file or folder."""
    out = []
    for raw in _TICKED.findall(text):
        token = raw.strip()
        if " " in token or token.startswith(("/", "http", "..")):
            continue
        if "/" not in token and not _FILE.search(token):
            continue
        out.append(token)
    return out


def _resolve(path: str) -> list[Path]:
    """The files or folders ``path`` names (several for a placeholder), from either root."""
    pattern = re.sub(r"<[^>]+>", "*", path).rstrip("/")
    bases = (REPO,) if path.startswith(ROOTS) else (REPO, PACKAGE)
    found: list[Path] = []
    for base in bases:
        if "*" in pattern:
            found.extend(base.glob(pattern))
        elif (base / pattern).exists():
            found.append(base / pattern)
    return found


def _names(node: ast.stmt) -> list[str]:
    """The names a top-level statement defines (def, class, assignment)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else []
    if isinstance(node, ast.AnnAssign):
        targets = [node.target]
    return [t.id for t in targets if isinstance(t, ast.Name)]


def _defines(module: Path, dotted: str) -> bool:
    """Whether ``dotted`` (``name`` or ``Class.member``) is defined at the top of ``module``."""
    scope: list[ast.stmt] = ast.parse(module.read_text("utf-8")).body
    for part in dotted.split("."):
        found = next((node for node in scope if part in _names(node)), None)
        if found is None:
            return False
        scope = found.body if isinstance(found, ast.ClassDef) else []
    return True


def test_every_path_and_name_in_the_architecture_page_exists() -> None:
    tokens = _tokens(DOC.read_text("utf-8"))
    missing = []
    for token in tokens:
        path, _, name = token.partition(":")
        found = _resolve(path)
        named = not name or any(p.suffix == ".py" and _defines(p, name) for p in found)
        if not found or not named:
            missing.append(token)
    assert missing == []
    # the page really names the code: most of its backticked tokens are paths, checked above
    assert len(tokens) >= 80
    assert sum(1 for t in tokens if ":" in t) >= 30
    assert any(t.startswith(ROOTS) for t in tokens)


def test_the_checker_catches_a_wrong_path_or_name() -> None:
    """The checks above can fail: a misspelt path or a name that is not there is caught."""
    assert _tokens("`db/copy.py` `/collections/{id}` `a b/c` `x` `x.y` `errors.py:NotFound`") == [
        "db/copy.py",
        "errors.py:NotFound",
    ]
    assert _resolve("db/copy.py") and _resolve("src/geotranquil/db/copy.py")
    assert _resolve("db/cpoy.py") == []
    assert _resolve("src/db/copy.py") == []  # a root-relative path is read from the root only
    assert _resolve("cli/<group>.py")
    assert _resolve("cli/<group>.toml") == []
    copy = PACKAGE / "db" / "copy.py"
    assert _defines(copy, "copy_frame")
    assert not _defines(copy, "copy_frames")
    catalogue = PACKAGE / "services" / "catalogue.py"
    assert _defines(catalogue, "CatalogueCache.get")
    assert not _defines(catalogue, "CatalogueCache.put")


def test_the_readme_links_the_architecture_page() -> None:
    assert "(docs/architecture.md)" in (REPO / "README.md").read_text("utf-8")

"""addok, the geocoder of the Base Adresse Nationale, as the peer of the geocoding benchmark.

- :func:`ensure_addok_venv` creates ``.venv-addok`` at the repository root (``python3 -m venv``,
  then ``pip install addok==1.3.2 addok-fr==1.1.0 addok-france==1.2.0``) when it is missing;
  addok is never installed in the project's environment.
- :func:`write_config` writes an addok configuration module: the France set-up of addok's own
  tutorial and of the BAN's production instance (``addok_france`` query cleaning, ordinal
  folding and labels, ``addok_fr`` phonetic folding and French synonyms, ``citycode`` indexed
  and filterable), with its indexes and documents in two DEDICATED Redis databases (default 7
  and 8 on 127.0.0.1:6379) so that other data in Redis is never touched.
- :func:`ban_csv_to_addok` converts a BAN CSV (official ``;``-separated format) to addok's
  JSON lines, like the BAN's own addok export: one ``street`` document per street (its numbers
  in a ``housenumbers`` map, ``"12"`` or ``"12 bis"``), one ``locality`` document per named
  place (``numero`` 99999) and one ``municipality`` document per commune code.
- :func:`index` checks that the Redis databases are empty or were filled by this benchmark
  (a marker key), then ``addok reset --force``, ``addok batch FILE`` and ``addok ngrams``; an
  index already built from the same file and configuration is kept as it is.
- :func:`geocode` is addok's batch mode: one process of the addok environment loads the
  configuration once and calls ``addok.core.search(q, limit=1, autocomplete=False)`` for every
  query (the call behind addok-csv's ``/search/csv``, without HTTP), one warm-up pass over the
  whole list, then one timed pass; it returns the best result of each query and the wall time
  of the timed pass.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ADDOK_VERSION = "1.3.2"
#: the French plugins, pinned to the versions checked with addok 1.3.2
ADDOK_PLUGINS = {"addok-fr": "1.1.0", "addok-france": "1.2.0"}
REPO_ROOT = Path(__file__).resolve().parent.parent
ADDOK_VENV = REPO_ROOT / ".venv-addok"
REDIS_HOST = os.environ.get("GEOTRANQUIL_BENCH_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("GEOTRANQUIL_BENCH_REDIS_PORT", "6379"))
#: addok's indexes go to this Redis database, its documents to the next one
REDIS_DB = int(os.environ.get("GEOTRANQUIL_BENCH_ADDOK_REDIS_DB", "7"))
#: set in the indexes database once it is filled: what it was built from
MARKER_KEY = "geotranquil:bench_geocode:source"
#: addok ``type`` -> :data:`geotranquil.geocode.result.PRECISIONS`
PRECISION_OF_TYPE = {
    "housenumber": "housenumber",
    "street": "street",
    "locality": "locality",
    "municipality": "area",
}
NAMED_PLACE_NUMBER = "99999"
#: "Marseille 1er Arrondissement" -> city "Marseille" (the BAN's addok export: ``district``)
_ARRONDISSEMENT = re.compile(r"\s+\d+\s*(?:er|e|ème)\s+Arrondissement$", re.IGNORECASE)

CONFIG_TEMPLATE = '''"""addok configuration of the geotranquil geocoding benchmark (generated)."""

REDIS = {{
    "host": {host!r},
    "port": {port!r},
    "indexes": {{"db": {db_indexes!r}}},
    "documents": {{"db": {db_documents!r}}},
}}
ATTRIBUTION = "BAN (synthetic, geotranquil benchmark)"
LICENCE = "ETALAB-2.0"
EXTRA_FIELDS = [
    {{"key": "citycode"}},
    {{"key": "oldcitycode"}},
    {{"key": "oldcity"}},
    {{"key": "district"}},
]
FILTERS = ["type", "citycode", "postcode"]
QUERY_PROCESSORS_PYPATHS = [
    "addok.helpers.text.check_query_length",
    "addok_france.extract_address",
    "addok_france.clean_query",
    "addok_france.remove_leading_zeros",
]
SEARCH_RESULT_PROCESSORS_PYPATHS = [
    "addok.helpers.results.match_housenumber",
    "addok_france.make_labels",
    "addok.helpers.results.score_by_importance",
    "addok.helpers.results.score_by_autocomplete_distance",
    "addok.helpers.results.score_by_ngram_distance",
    "addok.helpers.results.score_by_geo_distance",
    "addok.helpers.results.adjust_scores",
]
PROCESSORS_PYPATHS = [
    "addok.helpers.text.tokenize",
    "addok.helpers.text.normalize",
    "addok_france.glue_ordinal",
    "addok_france.fold_ordinal",
    "addok_france.flag_housenumber",
    "addok.helpers.text.synonymize",
    "addok_fr.phonemicize",
]
BATCH_WORKERS = {workers!r}
'''

#: run by the addok environment's interpreter: argv = config, queries (JSON list), output
GEOCODE_SCRIPT = r"""
import json, os, sys, time
os.environ["ADDOK_CONFIG_MODULE"] = sys.argv[1]
from addok.config import config
config.load()
from addok.core import search

with open(sys.argv[2], encoding="utf-8") as f:
    queries = json.load(f)

def one(q):
    found = search(q, limit=1, autocomplete=False)
    if not found:
        return None
    r = found[0]
    def get(key):
        value = getattr(r, key, None)
        return value if isinstance(value, (str, int, float)) or value is None else str(value)
    return {
        "lon": float(r.lon), "lat": float(r.lat), "score": float(r.score),
        "type": get("type"), "label": str(r), "id": get("id"),
        "postcode": get("postcode"), "citycode": get("citycode"),
    }

for q in queries:  # warm-up pass, not timed
    one(q)
started = time.perf_counter()
answers = [one(q) for q in queries]
elapsed = time.perf_counter() - started
with open(sys.argv[3], "w", encoding="utf-8") as f:
    json.dump({"elapsed_s": elapsed, "answers": answers}, f)
"""

#: run by the addok environment's interpreter: argv = config, action (check|mark), value
MARKER_SCRIPT = r"""
import sys, redis
host, port, db, action, key = sys.argv[1:6]
port, db = int(port), int(db)
indexes = redis.Redis(host=host, port=port, db=db)
documents = redis.Redis(host=host, port=port, db=db + 1)
if action == "check":
    marker = indexes.get(key)
    print(repr((indexes.dbsize(), documents.dbsize(), marker.decode() if marker else None)))
else:
    indexes.set(key, sys.argv[6])
"""


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _python(venv: Path = ADDOK_VENV) -> Path:
    return venv / "bin" / "python"


def addok_installed(venv: Path = ADDOK_VENV) -> bool:
    """Whether ``venv`` runs addok at :data:`ADDOK_VERSION` with both French plugins pinned."""
    python = _python(venv)
    if not (python.is_file() and (venv / "bin" / "addok").is_file()):
        return False
    try:
        return plugin_versions(venv) == {"addok": ADDOK_VERSION, **ADDOK_PLUGINS}
    except (subprocess.CalledProcessError, ValueError):
        return False


def ensure_addok_venv(venv: Path = ADDOK_VENV) -> Path:
    """``venv`` with addok and its French plugins, created if missing; its ``addok`` command.

    Idempotent: an existing environment with the right addok is used as it is.
    """
    addok = venv / "bin" / "addok"
    if addok_installed(venv):
        _log(f"addok {ADDOK_VERSION}: using {venv}")
        return addok
    packages = [f"addok=={ADDOK_VERSION}", *(f"{n}=={v}" for n, v in ADDOK_PLUGINS.items())]
    _log(
        f"addok {ADDOK_VERSION} not found in {venv}: creating it (python3 -m venv, then "
        f"pip install {' '.join(packages)}; about 10 to 60 s, PyPI needed)"
    )
    if not _python(venv).is_file():
        python3 = shutil.which("python3") or sys.executable
        subprocess.run([python3, "-m", "venv", str(venv)], check=True)
    done = subprocess.run(
        [
            str(_python(venv)),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *packages,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not addok_installed(venv):
        raise RuntimeError(
            f"could not install addok {ADDOK_VERSION} in {venv} (exit {done.returncode}):\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}\n"
            f"remove {venv} and try again, or install it by hand: "
            f"python3 -m venv {venv} && {venv}/bin/pip install {' '.join(packages)}"
        )
    _log(f"addok {ADDOK_VERSION} installed in {venv}")
    return addok


def plugin_versions(venv: Path = ADDOK_VENV) -> dict[str, str]:
    """Installed versions of addok and its plugins in ``venv``."""
    code = (
        "import json; from importlib.metadata import version; print(json.dumps({n: version(n) "
        f"for n in {['addok', *ADDOK_PLUGINS]!r}}}))"
    )
    done = subprocess.run(
        [str(_python(venv)), "-c", code], capture_output=True, text=True, check=True
    )
    versions: dict[str, str] = json.loads(done.stdout)
    return versions


def write_config(path: Path, db: int = REDIS_DB, workers: int | None = None) -> Path:
    """Write the addok configuration module to ``path`` (Redis db ``db`` and ``db + 1``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        CONFIG_TEMPLATE.format(
            host=REDIS_HOST,
            port=REDIS_PORT,
            db_indexes=db,
            db_documents=db + 1,
            workers=workers or max(1, min(4, (os.cpu_count() or 2) - 1)),
        ),
        encoding="utf-8",
    )
    return path


# --------------------------------------------------------------------------------------------
# BAN CSV -> addok JSON lines


def _importance(numbers: int) -> float:
    """A street's importance in [0.1, 1]: grows with its count of numbers (BAN-like)."""
    return round(min(1.0, 0.1 + math.log10(1 + numbers) / 3), 4)


def _names(name: str, alias: str) -> str | list[str]:
    """A document's name, with the BAN ``alias`` (``|``-separated) as other names."""
    others = [a.strip() for a in alias.split("|") if a.strip() and a.strip() != name]
    return [name, *others] if others else name


def ban_csv_to_addok(csv_path: Path, out_path: Path) -> dict[str, int]:
    """Convert a BAN CSV to addok JSON lines at ``out_path``; counts of documents by type.

    As in the BAN's own export, ``city`` is the commune (``Marseille``) and ``district`` the
    arrondissement (``nom_commune``, ``Marseille 1er Arrondissement``); a municipality document
    is named after the city, with all the postcodes of its code.
    Streets are grouped by (``code_insee``, ``nom_voie``, ``code_postal``); a street's point
    is the mean of its numbers; its ``alias`` names, when the BAN has some, are its other
    names (addok indexes and labels them all). The ``id`` of a number (and of a named place)
    is its BAN ``id``, so that a result tells which BAN address it matched.
    """
    streets: dict[tuple[str, str, str], dict[str, Any]] = {}
    localities: list[dict[str, Any]] = []
    cities: dict[str, dict[str, Any]] = {}
    with csv_path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            lon, lat = float(row["lon"]), float(row["lat"])
            citycode, postcode = row["code_insee"], row["code_postal"]
            district = row["nom_commune"]
            city = _ARRONDISSEMENT.sub("", district) or district
            where = {"citycode": citycode, "city": city}
            if district != city:
                where["district"] = district
            town = cities.setdefault(citycode, {**where, "postcodes": set(), "lon": [], "lat": []})
            town["postcodes"].add(postcode)
            town["lon"].append(lon)
            town["lat"].append(lat)
            if row["numero"] == NAMED_PLACE_NUMBER:
                localities.append(
                    {
                        "id": row["id"],
                        "type": "locality",
                        "name": _names(row["nom_voie"] or row["nom_ld"], row.get("alias") or ""),
                        "postcode": postcode,
                        **where,
                        "lon": lon,
                        "lat": lat,
                        "importance": 0.2,
                    }
                )
                continue
            key = (citycode, row["nom_voie"], postcode)
            street = streets.get(key)
            if street is None:
                street_id = row["id_fantoir"] or row["id"].rsplit("_", 2)[0]
                street = streets[key] = {
                    "id": street_id,
                    "type": "street",
                    "name": _names(row["nom_voie"], row.get("alias") or ""),
                    "postcode": postcode,
                    **where,
                    "housenumbers": {},
                }
            number = row["numero"] + (f" {row['rep']}" if row["rep"] else "")
            street["housenumbers"][number] = {"id": row["id"], "lon": lon, "lat": lat}
    counts: dict[str, int] = defaultdict(int)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", encoding="utf-8") as out:
        for street in streets.values():
            numbers = street["housenumbers"].values()
            street["lon"] = round(sum(n["lon"] for n in numbers) / len(numbers), 6)
            street["lat"] = round(sum(n["lat"] for n in numbers) / len(numbers), 6)
            street["importance"] = _importance(len(numbers))
            out.write(json.dumps(street, ensure_ascii=False) + "\n")
            counts["street"] += 1
            counts["housenumber"] += len(numbers)
        for place in localities:
            out.write(json.dumps(place, ensure_ascii=False) + "\n")
            counts["locality"] += 1
        for citycode, town in sorted(cities.items()):
            doc: dict[str, Any] = {
                "id": citycode,
                "type": "municipality",
                "name": town["city"],
                "postcode": sorted(town["postcodes"]),
                **{k: town[k] for k in ("citycode", "city", "district") if k in town},
                "lon": round(sum(town["lon"]) / len(town["lon"]), 6),
                "lat": round(sum(town["lat"]) / len(town["lat"]), 6),
                "importance": 1.0,
            }
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")
            counts["municipality"] += 1
    return dict(counts)


# --------------------------------------------------------------------------------------------
# indexing and geocoding


def _marker(config: Path, db: int, action: str, value: str = "") -> str:
    done = subprocess.run(
        [
            str(_python()),
            "-c",
            MARKER_SCRIPT,
            REDIS_HOST,
            str(REDIS_PORT),
            str(db),
            action,
            MARKER_KEY,
            value,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"Redis at {REDIS_HOST}:{REDIS_PORT} (db {db}, {db + 1}) did not answer: "
            f"{done.stderr[-1500:]}"
        )
    return done.stdout.strip()


def _addok(config: Path, *args: str, stdin: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADDOK_", "REDIS_"))}
    done = subprocess.run(
        [str(ADDOK_VENV / "bin" / "addok"), "--config", str(config), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        input=stdin,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"addok {' '.join(args)} failed (exit {done.returncode}):\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    return done.stdout


def index(config: Path, jsonl: Path, db: int = REDIS_DB, rebuild: bool = False) -> float:
    """Index ``jsonl`` in addok (Redis db ``db`` and ``db + 1``); seconds spent (0 if kept).

    Refuses to touch databases that hold data this benchmark did not put there.
    """
    digest = hashlib.sha256(jsonl.read_bytes() + config.read_bytes()).hexdigest()
    indexes, documents, marker = _parse_check(_marker(config, db, "check"))
    if (indexes or documents) and marker is None:
        raise RuntimeError(
            f"Redis databases {db} and {db + 1} on {REDIS_HOST}:{REDIS_PORT} hold data "
            f"({indexes} and {documents} keys) that the geocoding benchmark did not write: "
            f"refusing to reset them; set GEOTRANQUIL_BENCH_ADDOK_REDIS_DB to a free pair"
        )
    if marker == digest and not rebuild:
        _log(f"addok: index in Redis db {db}/{db + 1} already built from this file, kept")
        return 0.0
    started = time.perf_counter()
    _addok(config, "reset", "--force")
    _addok(config, "batch", str(jsonl))
    _addok(config, "ngrams")
    seconds = time.perf_counter() - started
    _marker(config, db, "mark", digest)
    _log(f"addok: indexed {jsonl.name} in Redis db {db}/{db + 1} in {seconds:.1f} s")
    return seconds


def _parse_check(text: str) -> tuple[int, int, str | None]:
    line = text.strip().splitlines()[-1]
    indexes, documents, marker = (part.strip() for part in line.strip("()").split(",", 2))
    return int(indexes), int(documents), None if marker == "None" else marker.strip("'\"")


@dataclass(frozen=True)
class AddokRun:
    """addok's answers (one dict or None per query, in order) and its timed pass."""

    answers: list[dict[str, Any] | None]
    elapsed_s: float

    @property
    def per_s(self) -> float:
        return len(self.answers) / self.elapsed_s if self.elapsed_s > 0 else 0.0


def geocode(config: Path, queries: Sequence[str], work_dir: Path) -> AddokRun:
    """addok's batch mode over ``queries``: a warm-up pass, then one timed pass."""
    work_dir.mkdir(parents=True, exist_ok=True)
    script = work_dir / "addok_geocode.py"
    script.write_text(GEOCODE_SCRIPT, encoding="utf-8")
    src = work_dir / "addok_queries.json"
    src.write_text(json.dumps(list(queries), ensure_ascii=False), encoding="utf-8")
    dst = work_dir / "addok_answers.json"
    dst.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADDOK_", "REDIS_"))}
    done = subprocess.run(
        [str(_python()), str(script), str(config), str(src), str(dst)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0 or not dst.is_file():
        raise RuntimeError(
            f"addok geocoding failed (exit {done.returncode}):\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    out = json.loads(dst.read_text(encoding="utf-8"))
    return AddokRun(answers=out["answers"], elapsed_s=float(out["elapsed_s"]))


def to_result(answer: dict[str, Any] | None) -> Any:
    """One addok answer as a :class:`geotranquil.geocode.result.GeocodeResult` (or None)."""
    from geotranquil.geocode.result import GeocodeResult

    if answer is None:
        return None
    kind = str(answer.get("type") or "street")
    precision = PRECISION_OF_TYPE.get(kind, "street")
    return GeocodeResult(
        lon=float(answer["lon"]),
        lat=float(answer["lat"]),
        score=max(0.0, min(1.0, float(answer["score"]))),
        precision=precision,
        label=str(answer.get("label") or ""),
        ban_id=str(answer["id"]) if precision in ("housenumber", "locality") else None,
        postcode=answer.get("postcode"),
        citycode=answer.get("citycode"),
    )

"""Files of the Base Adresse Nationale (BAN): stream the official CSV, write it back.

The official format (``adresses-<département>.csv`` on adresse.data.gouv.fr) is UTF-8, ``;``
separated, with the header :data:`BAN_HEADER`; files are often gzip-compressed (``.csv.gz``,
recognised by their first bytes, whatever their name). :func:`read_ban` yields chunks of at
most ``chunk_rows`` addresses as DataFrames with the columns of the ``ban_addresses`` table
(:data:`ADDRESS_COLUMNS`), and every unusable row as a :class:`BanRejection` with its row number
(data rows numbered from 1, the header not counted), a reason code (:data:`REASONS`) and its raw
text: nothing is dropped silently.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import pandas as pd
from pyproj import Transformer

from geotranquil.errors import InvalidInput

#: The header of the official BAN CSV, in order.
BAN_HEADER: Final[tuple[str, ...]] = (
    "id",
    "id_fantoir",
    "numero",
    "rep",
    "nom_voie",
    "code_postal",
    "code_insee",
    "nom_commune",
    "code_insee_ancienne_commune",
    "nom_ancienne_commune",
    "x",
    "y",
    "lon",
    "lat",
    "type_position",
    "alias",
    "nom_ld",
    "libelle_acheminement",
    "nom_afnor",
    "source_position",
    "source_nom_voie",
    "certification_commune",
    "cad_parcelles",
)

#: Columns of an address frame: those of the ``ban_addresses`` table but geom and release, in
#: the table's order (``tests/unit/test_ban_files.py`` holds them to ``db.ban.STAGE_COLUMNS``;
#: this file format stays free of the database).
ADDRESS_COLUMNS: Final[tuple[str, ...]] = (
    "id",
    "street_key",
    "numero",
    "rep",
    "nom_voie",
    "code_postal",
    "code_insee",
    "nom_commune",
    "nom_ancienne_commune",
    "alias",
    "nom_ld",
    "type_position",
    "source_position",
    "lon",
    "lat",
)
#: Text columns that are ``None`` when the file leaves them empty.
OPTIONAL_COLUMNS: Final[tuple[str, ...]] = (
    "code_postal",
    "nom_ancienne_commune",
    "alias",
    "nom_ld",
    "type_position",
    "source_position",
)

#: ``numero`` of a named place without a house number (lieu-dit), as in the BAN.
PLACE_NUMERO: Final = 99999

#: Reason codes of rejected rows, with their French meaning.
REASONS: Final[dict[str, str]] = {
    "malformed_row": "ligne illisible (nombre de champs, encodage)",
    "missing_id": "identifiant manquant",
    "duplicate_id": "identifiant répété dans le fichier",
    "invalid_numero": "numéro qui n'est pas un entier entre 0 et 99999",
    "missing_position": "longitude ou latitude manquante",
    "invalid_position": "longitude ou latitude non numérique",
    "position_out_of_range": "longitude ou latitude hors des bornes (±180°, ±90°)",
    "missing_nom_voie": "nom de voie manquant",
    "missing_code_insee": "code INSEE manquant",
}

_GZIP_MAGIC: Final = b"\x1f\x8b"
#: Bytes that did not decode, as ``surrogateescape`` leaves them.
_UNDECODED: Final = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class BanRejection:
    """A row of a BAN file that cannot be loaded: its number, reason code, detail, raw text.

    ``ban_id`` is the row's id when one can be read (``''`` otherwise).
    """

    row_number: int
    reason: str
    detail: str
    raw: str
    ban_id: str = ""


@dataclass
class BanChunk:
    """A slice of a BAN file: its usable addresses and its rejected rows.

    ``last_row`` is the number of the last data row read so far (blank lines included) and
    ``bytes_read`` how far into the file (compressed bytes for a gzip file) reading went.
    """

    frame: pd.DataFrame
    rejections: list[BanRejection] = field(default_factory=list)
    last_row: int = 0
    bytes_read: int = 0

    @property
    def rows_read(self) -> int:
        """Non-blank data rows of this chunk (accepted or rejected)."""
        return len(self.frame) + len(self.rejections)


def street_key(ban_id: str) -> str:
    """The street part of a BAN id: the commune code and the street code.

    Examples
    --------
    >>> street_key("13201_1234_00012")
    '13201_1234'
    >>> street_key("13201_1234_00012_bis")
    '13201_1234'
    >>> street_key("13201_b001_99999")
    '13201_b001'
    """
    parts = ban_id.split("_")
    if len(parts) >= 3:
        return f"{parts[0]}_{parts[1]}"
    return "_".join(parts[:-1]) or ban_id


def _frame(columns: dict[str, list[Any]]) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for c in ADDRESS_COLUMNS:
        if c == "numero":
            data[c] = np.asarray(columns[c], dtype=np.int64)
        elif c in ("lon", "lat"):
            data[c] = np.asarray(columns[c], dtype=np.float64)
        else:
            data[c] = pd.Series(columns[c], dtype=object)
    return pd.DataFrame(data)


class _Lines:
    """Iterates over text lines and keeps those not yet claimed by a parsed row."""

    def __init__(self, text: IO[str]) -> None:
        self._text = text
        self.pending: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._text)
        self.pending.append(line)
        return line

    def take(self) -> str:
        raw = "".join(self.pending).rstrip("\r\n")
        self.pending.clear()
        return raw


def _open_text(binary: IO[bytes]) -> IO[str]:
    head = binary.peek(2)[:2] if hasattr(binary, "peek") else b""
    stream: IO[bytes] = binary
    if head == _GZIP_MAGIC:
        stream = gzip.GzipFile(fileobj=binary, mode="rb")  # type: ignore[assignment]
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")


def _check_header(name: str, header: list[str]) -> dict[str, int]:
    index = {h.strip(): i for i, h in enumerate(header)}
    missing = [c for c in BAN_HEADER if c not in index]
    if missing:
        hint = " (le séparateur attendu est « ; »)" if len(header) == 1 and "," in header[0] else ""
        raise InvalidInput(
            f"{name} : ce n'est pas un fichier de la Base Adresse Nationale, colonnes absentes "
            f"de l'en-tête : {', '.join(missing)}{hint}"
        )
    return index


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def _malformed(row: list[str], raw: str, width: int) -> str | None:
    """Why a row cannot even be read, or None."""
    if len(row) != width:
        return f"{len(row)} champs au lieu de {width}"
    if _UNDECODED.search(raw) is not None:
        return "caractères illisibles en UTF-8"
    if "\x00" in raw:
        return "caractère NUL (0x00)"
    return None


def _check_row(values: dict[str, str]) -> tuple[str, str] | None:
    """(reason, detail) of an unusable row, or None."""
    if not values["id"]:
        return "missing_id", "colonne id vide"
    numero = values["numero"]
    if not numero.isascii() or not numero.isdigit() or int(numero) > PLACE_NUMERO:
        return "invalid_numero", f"numero = « {numero} »"
    lon_text, lat_text = values["lon"], values["lat"]
    if not lon_text or not lat_text:
        return "missing_position", f"lon = « {lon_text} », lat = « {lat_text} »"
    lon, lat = _float(lon_text), _float(lat_text)
    if lon is None or lat is None:
        return "invalid_position", f"lon = « {lon_text} », lat = « {lat_text} »"
    if not (math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
        return "position_out_of_range", f"lon = {lon_text}, lat = {lat_text}"
    if not values["nom_voie"]:
        return "missing_nom_voie", "colonne nom_voie vide"
    if not values["code_insee"]:
        return "missing_code_insee", "colonne code_insee vide"
    return None


def read_ban(path: Path, chunk_rows: int = 50_000) -> Iterator[BanChunk]:
    """Stream a BAN CSV file (plain or gzip) as chunks of addresses and rejections.

    Parameters
    ----------
    path
        The file; gzip compression is recognised from its content.
    chunk_rows
        Most rows (accepted or rejected) per chunk.

    Yields
    ------
    BanChunk
        ``frame`` has the columns :data:`ADDRESS_COLUMNS`: ``street_key`` comes from the id,
        ``rep`` is lower case (``''`` when none), empty optional texts are ``None``.

    Raises
    ------
    InvalidInput
        The file is missing or empty, or its header lacks official columns (named).

    Examples
    --------
    >>> import tempfile
    >>> line = "13201_0001_00002_bis;13201_0001;2;BIS;Rue A;13001;13201;Marseille;;;;;5.37;43.29"
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = Path(tmp) / "ban.csv"
    ...     _ = p.write_text(";".join(BAN_HEADER) + "\\n" + line + ";;;;;;;;;\\n", "utf-8")
    ...     chunk = next(read_ban(p))
    >>> chunk.frame.loc[0, ["street_key", "numero", "rep", "lon"]].astype(str).tolist()
    ['13201_0001', '2', 'bis', '5.37']
    """
    if chunk_rows < 1:
        raise InvalidInput("la taille des paquets doit être au moins 1")
    if not path.is_file():
        raise InvalidInput(f"fichier introuvable : {path}")
    with path.open("rb") as binary, _open_text(binary) as text:
        lines = _Lines(text)
        reader = csv.reader(lines, delimiter=";")
        try:
            header = next(reader)
        except StopIteration:
            raise InvalidInput(f"{path.name} : fichier vide (pas de ligne d'en-tête)") from None
        except (OSError, EOFError) as exc:
            raise InvalidInput(f"{path.name} : fichier compressé illisible ({exc})") from None
        lines.take()
        index = _check_header(path.name, header)
        yield from _chunks(reader, lines, index, len(header), chunk_rows, binary)


def _chunks(
    reader: Iterator[list[str]],
    lines: _Lines,
    index: dict[str, int],
    width: int,
    chunk_rows: int,
    binary: IO[bytes],
) -> Iterator[BanChunk]:
    wanted = [
        "id",
        "numero",
        "rep",
        "nom_voie",
        "code_postal",
        "code_insee",
        "nom_commune",
        "nom_ancienne_commune",
        "alias",
        "nom_ld",
        "type_position",
        "source_position",
        "lon",
        "lat",
    ]
    positions = [(name, index[name]) for name in wanted]
    id_at = index["id"]
    seen: set[str] = set()
    row_no = 0
    exhausted = yielded = False
    while not exhausted:
        columns: dict[str, list[Any]] = {c: [] for c in ADDRESS_COLUMNS}
        rejections: list[BanRejection] = []
        count = 0
        while count < chunk_rows:
            try:
                row = next(reader)
            except StopIteration:
                exhausted = True
                break
            except (OSError, EOFError) as exc:
                raise InvalidInput(f"fichier compressé illisible ou tronqué ({exc})") from None
            row_no += 1
            raw = lines.take()
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line: nothing to load, nothing lost
            count += 1
            detail = _malformed(row, raw, width)
            if detail is not None:
                ban_id = row[id_at].strip() if len(row) > id_at else ""
                rejections.append(BanRejection(row_no, "malformed_row", detail, raw, ban_id))
                continue
            values = {name: row[i].strip() for name, i in positions}
            problem = _check_row(values)
            if problem is None and values["id"] in seen:
                problem = ("duplicate_id", f"id {values['id']} déjà lu plus haut")
            if problem is not None:
                rejections.append(BanRejection(row_no, problem[0], problem[1], raw, values["id"]))
                continue
            seen.add(values["id"])
            columns["id"].append(values["id"])
            columns["street_key"].append(street_key(values["id"]))
            columns["numero"].append(int(values["numero"]))
            columns["rep"].append(values["rep"].lower())
            columns["nom_voie"].append(values["nom_voie"])
            columns["code_insee"].append(values["code_insee"])
            columns["nom_commune"].append(values["nom_commune"])
            for c in OPTIONAL_COLUMNS:
                columns[c].append(values[c] or None)
            columns["lon"].append(float(values["lon"]))
            columns["lat"].append(float(values["lat"]))
        if count or not yielded:
            yielded = True
            yield BanChunk(_frame(columns), rejections, row_no, binary.tell())


def read_ban_frame(path: Path) -> tuple[pd.DataFrame, list[BanRejection]]:
    """The whole file at once: every address and every rejection (for tests and notebooks)."""
    frames: list[pd.DataFrame] = []
    rejections: list[BanRejection] = []
    for chunk in read_ban(path):
        frames.append(chunk.frame)
        rejections.extend(chunk.rejections)
    return pd.concat(frames, ignore_index=True), rejections


def ascii_upper(text: str) -> str:
    """Upper case without accents, as in ``nom_afnor``; other signs become spaces.

    Examples
    --------
    >>> ascii_upper("Boulevard de l'Œuvre-Sainte-Élisabeth")
    'BOULEVARD DE L OEUVRE SAINTE ELISABETH'
    """
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = "".join(ch if ch.isalnum() else " " for ch in plain.upper())
    return " ".join(cleaned.split())


def _acheminement(code_insee: str, nom_commune: str) -> str:
    # Marseille's arrondissements (13201 to 13216) all route to MARSEILLE
    if code_insee.startswith("132") and code_insee[3:].isdigit() and 1 <= int(code_insee[3:]) <= 16:
        return "MARSEILLE"
    return ascii_upper(nom_commune)


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def write_ban_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write an address frame in the official BAN CSV format (gzip if ``path`` ends in ``.gz``).

    ``frame`` has the columns :data:`ADDRESS_COLUMNS`. The other official columns are filled
    plausibly: ``x``/``y`` in Lambert-93 (EPSG:2154, centimetres), ``id_fantoir`` from the
    street key, ``libelle_acheminement`` (``MARSEILLE`` for its arrondissements), ``nom_afnor``
    in upper case without accents, ``certification_commune`` 1, ``source_position`` and
    ``source_nom_voie`` "commune" when not given. The output is byte-identical for the same
    frame (the gzip header carries no date).

    Examples
    --------
    >>> import tempfile
    >>> frame = pd.DataFrame({"id": ["13201_0001_00001"], "street_key": ["13201_0001"],
    ...     "numero": [1], "rep": [""], "nom_voie": ["Rue Pavillon"], "code_postal": ["13001"],
    ...     "code_insee": ["13201"], "nom_commune": ["Marseille 1er Arrondissement"],
    ...     "nom_ancienne_commune": [None], "alias": [None], "nom_ld": [None],
    ...     "type_position": ["entrée"], "source_position": [None], "lon": [5.3772],
    ...     "lat": [43.2957]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     text = write_ban_csv(frame, Path(tmp) / "ban.csv").read_text("utf-8")
    >>> fields = dict(zip(BAN_HEADER, text.splitlines()[1].split(";")))
    >>> [fields[c] for c in ("id_fantoir", "x", "y", "libelle_acheminement", "nom_afnor")]
    ['13201_0001', '892993.48', '6246964.42', 'MARSEILLE', 'RUE PAVILLON']
    """
    missing = [c for c in ADDRESS_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(f"colonnes absentes du tableau d'adresses : {', '.join(missing)}")
    lon = frame["lon"].to_numpy(dtype=float)
    lat = frame["lat"].to_numpy(dtype=float)
    x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(lon, lat)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\n")
    writer.writerow(BAN_HEADER)
    cols = {c: frame[c].tolist() for c in ADDRESS_COLUMNS}
    upper = functools.lru_cache(maxsize=65536)(ascii_upper)  # names repeat on every number
    routing = functools.lru_cache(maxsize=4096)(_acheminement)
    for i in range(len(frame)):
        nom_voie = _text(cols["nom_voie"][i])
        code_insee = _text(cols["code_insee"][i])
        nom_commune = _text(cols["nom_commune"][i])
        writer.writerow(
            (
                cols["id"][i],
                cols["street_key"][i],
                int(cols["numero"][i]),
                _text(cols["rep"][i]),
                nom_voie,
                _text(cols["code_postal"][i]),
                code_insee,
                nom_commune,
                "",
                _text(cols["nom_ancienne_commune"][i]),
                f"{x[i]:.2f}",
                f"{y[i]:.2f}",
                repr(float(lon[i])),
                repr(float(lat[i])),
                _text(cols["type_position"][i]),
                _text(cols["alias"][i]),
                _text(cols["nom_ld"][i]),
                routing(code_insee, nom_commune),
                upper(nom_voie),
                _text(cols["source_position"][i]) or "commune",
                "commune",
                1,
                "",
            )
        )
    data = buf.getvalue().encode("utf-8")
    if path.name.endswith(".gz"):
        with path.open("wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as gz:
            gz.write(data)
    else:
        path.write_bytes(data)
    return path

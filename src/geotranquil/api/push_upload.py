"""A pushed body, streamed to a spool file chunk by chunk (never whole in memory).

``multipart/form-data``: the part named ``file`` is written (python-multipart's streaming
parser; other parts are ignored). ``application/json`` and ``application/x-ndjson``: the body
itself. The body's size is counted as it arrives: past ``push_max_bytes`` reading stops, the
partial file is deleted and the answer is 413. The file is fsynced before its batch is stored.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from geotranquil.errors import InvalidInput, TooLarge, UnsupportedMediaType
from geotranquil.ingest.canonical import MEDIA_FORMATS
from geotranquil.services.push import Spooled

MULTIPART = "multipart/form-data"
ACCEPTED = (MULTIPART, *MEDIA_FORMATS)


def media_type(request: Request) -> str:
    """The request's media type, one of :data:`ACCEPTED` (415 otherwise, naming them)."""
    raw = request.headers.get("content-type", "")
    kind = raw.split(";")[0].strip().lower()
    if kind not in ACCEPTED:
        shown = kind[:80] or "aucun"
        raise UnsupportedMediaType(
            f"type de contenu « {shown} » non accepté ; acceptés : multipart/form-data (champ "
            "file, au format déclaré de la source), application/json (tableau d'événements "
            "au schéma canonique) ou application/x-ndjson (un événement par ligne)"
        )
    return kind


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"lot trop lourd : au plus {limit} octets ({limit / 1e6:.1f} Mo) par envoi ; "
        "découpez-le en plusieurs lots"
    )


class _FilePart:
    """Writes the ``file`` part of a multipart body to ``out`` as the parser finds it."""

    def __init__(self, out: BinaryIO, digest: Any) -> None:
        self.out = out
        self.digest = digest
        self.size = 0
        self.found = False
        self._writing = False
        self._field = b""
        self._value = b""
        self._disposition = b""

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._disposition = b""
        self._writing = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        if self._field.lower() == b"content-disposition":
            self._disposition = self._value
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._writing = options.get(b"name") == b"file" and not self.found

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._writing:
            chunk = data[start:end]
            self.out.write(chunk)
            self.digest.update(chunk)
            self.size += len(chunk)

    def _end(self) -> None:
        if self._writing:
            self.found = True
        self._writing = False


async def spool_body(request: Request, dest: Path, max_bytes: int) -> Spooled:
    """Write the request's body (or its ``file`` part) to ``dest``; what was written."""
    kind = media_type(request)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise _too_large(max_bytes)
    digest = hashlib.sha256()
    received = 0
    try:
        with dest.open("wb") as out:
            part: _FilePart | None = None
            parser: MultipartParser | None = None
            if kind == MULTIPART:
                _, params = parse_options_header(request.headers["content-type"])
                boundary = params.get(b"boundary")
                if not boundary:
                    raise InvalidInput("corps multipart sans « boundary » : en-tête incomplet")
                part = _FilePart(out, digest)
                parser = MultipartParser(boundary, part.callbacks())  # type: ignore[arg-type]
            async for chunk in request.stream():
                received += len(chunk)
                if received > max_bytes:
                    raise _too_large(max_bytes)
                if parser is not None:
                    parser.write(chunk)
                else:
                    out.write(chunk)
                    digest.update(chunk)
            if parser is not None and part is not None:
                parser.finalize()
                if not part.found:
                    raise InvalidInput(
                        "formulaire sans champ « file » : envoyez le fichier dans le champ file"
                    )
            out.flush()
            await run_in_threadpool(os.fsync, out.fileno())
        size = part.size if part is not None else received
        if size == 0:
            raise InvalidInput("lot vide : le corps de la requête ne contient aucun octet")
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return Spooled(
        path=dest,
        size=size,
        sha256=digest.hexdigest(),
        format="mapping" if kind == MULTIPART else "canonical",
        media_type=kind,
    )

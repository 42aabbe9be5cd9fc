"""Residents' photos: type and size checked, stored as JPEG without any metadata.

Two paths, one guarantee (nothing but the picture is stored):

- **Rewritten** (the common case: a JPEG from a phone, upright, within the size limits, in
  YCbCr): its segments are read one by one and only the picture's are kept (quantisation and
  Huffman tables, frame, restart interval, scans and their entropy-coded data), behind a fresh
  JFIF header; every APPn (EXIF, GPS, XMP, ICC, Adobe, MPF…), comment, thumbnail and byte after
  the end marker is dropped. The pixels are not decoded nor re-encoded: no quality lost, and a
  few hundred microseconds instead of about 15 ms of CPU for a 1 MB photo.
- **Re-encoded** (anything else: PNG, WebP, a rotated or oversized or CMYK JPEG…): decoded,
  the EXIF orientation applied to the pixels so the photo still shows upright, re-encoded
  from the pixels, which drops EXIF, GPS, XMP, ICC and comments.

The decoded image is encoded as it is, without copying its pixels: its ``info`` (where the
decoder put EXIF, XMP, ICC profile, comment…) is emptied and the encoder gets nothing but the
quality, so nothing of the upload can reach the output. :func:`jpeg_metadata_free` then checks
the encoded file itself (only JFIF, tables, frame and scan segments before the image data), so
the guarantee does not rest on Pillow's internals: a photo that would carry anything else is
refused with an internal error rather than stored.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from geotranquil.errors import InvalidInput, TooLarge

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
OUTPUT_MIME = "image/jpeg"
OUTPUT_QUALITY = 85
#: JPEG segments allowed before the image data: quantisation and Huffman tables, frame
#: headers (baseline, extended, progressive), restart interval; APP0 only as a JFIF header
_IMAGE_SEGMENTS = frozenset({0xDB, 0xC4, 0xC0, 0xC1, 0xC2, 0xDD})
_APP0, _SOS, _EOI = 0xE0, 0xDA, b"\xff\xd9"
_APPN, _COM = range(0xE0, 0xF0), 0xFE
#: the end of a scan's entropy-coded data: a marker other than a stuffed 0xFF00, a restart
#: marker or a fill byte
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
#: a JFIF 1.01 header, no density unit (aspect 1:1), no thumbnail
_JFIF = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


@dataclass(frozen=True)
class CleanPhoto:
    """A re-encoded photo."""

    content: bytes
    mime_type: str
    width: int
    height: int

    @property
    def size(self) -> int:
        return len(self.content)


def _segments(jpeg: bytes) -> Iterator[tuple[int, bytes]]:
    """Each marker segment after SOI as ``(marker, bytes)``, a scan with its entropy-coded
    data, up to and including EOI (then nothing more is read). ``ValueError`` when the file
    is not a well-formed JPEG."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("no SOI")
    pos, size = 2, len(jpeg)
    while pos + 2 <= size:
        if jpeg[pos] != 0xFF:
            raise ValueError(f"no marker at {pos}")
        marker = jpeg[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xD9:
            yield marker, _EOI
            return
        if pos + 4 > size:
            raise ValueError("truncated segment")
        length = int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > size:
            raise ValueError(f"bad segment length at {pos}")
        if marker == _SOS:
            found = _SCAN_END.search(jpeg, end)
            if found is None:
                raise ValueError("scan without end")
            end = found.start()
        yield marker, jpeg[pos:end]
        pos = end
    raise ValueError("no EOI")


def jpeg_metadata_free(jpeg: bytes) -> bool:
    r"""Whether ``jpeg`` holds nothing but the picture: a JFIF header without thumbnail, tables,
    one frame, scans, and nothing after its end marker.

    Any APP1 to APP15 segment (EXIF, XMP, ICC profile, MPF, Adobe, …), comment, APP0 other
    than JFIF, JFIF thumbnail, or byte after the end makes it ``False``, wherever it sits
    (before the first scan or between scans), as does a file that is not a whole JPEG.

    Examples
    --------
    >>> jpeg_metadata_free(b"\xff\xd8" + _JFIF + b"\xff\xd9")
    True
    >>> jpeg_metadata_free(b"\xff\xd8\xff\xfe\x00\x04hi\xff\xd9")  # a comment
    False
    """
    if not jpeg.endswith(_EOI):
        return False
    seen = 2
    try:
        for marker, segment in _segments(jpeg):
            seen += len(segment)
            if marker == _APP0:
                if segment[4:9] != b"JFIF\0" or segment[16:18] != b"\0\0":
                    return False
            elif marker not in _IMAGE_SEGMENTS and marker not in (_SOS, 0xD9):
                return False
    except ValueError:
        return False
    return seen == len(jpeg)


def _rewritten(jpeg: bytes) -> bytes | None:
    """The picture's own segments behind a fresh JFIF header, or None when the file holds a
    segment this path does not know (it is then re-encoded)."""
    out = [b"\xff\xd8", _JFIF]
    try:
        for marker, segment in _segments(jpeg):
            if marker in _IMAGE_SEGMENTS or marker in (_SOS, 0xD9):
                out.append(segment)
            elif marker in _APPN or marker == _COM:
                continue  # metadata: dropped
            else:
                return None
    except ValueError:
        return None
    return b"".join(out)


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except (ValueError, TypeError, SyntaxError):
        return 0  # unreadable EXIF: re-encoded


def clean_photo(data: bytes, *, max_bytes: int, max_side: int, max_pixels: int) -> CleanPhoto:
    """Check and re-encode an uploaded photo (JPEG, PNG or WebP); metadata never survive."""
    if len(data) > max_bytes:
        raise TooLarge(
            f"photo trop lourde : {len(data) / 1e6:.1f} Mo, au plus {max_bytes / 1e6:.1f} Mo"
        )
    if not data:
        raise InvalidInput("photo vide")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))
            fmt = image.format or ""
            if fmt not in ACCEPTED_FORMATS:
                raise InvalidInput(
                    f"format de photo non accepté ({fmt or 'inconnu'}) : JPEG, PNG ou WebP"
                )
            if image.width * image.height > max_pixels:
                raise TooLarge(
                    f"photo trop grande : {image.width}×{image.height} pixels, au plus "
                    f"{max_pixels:,} pixels".replace(",", " ")
                )
            if (
                fmt == "JPEG"
                and image.mode == "RGB"
                and "adobe" not in image.info  # its colour transform would be lost
                and max(image.size) <= max_side
                and _orientation(image) == 1
            ):
                content = _rewritten(data)
                if content is not None and jpeg_metadata_free(content):
                    return CleanPhoto(content, OUTPUT_MIME, image.width, image.height)
            if fmt == "JPEG":  # decode at a reduced scale when the photo is much larger
                image.draft("RGB", (max_side, max_side))
            image.load()
            # upright pixels; no copy when the orientation is already normal
            ImageOps.exif_transpose(image, in_place=True)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInput("photo illisible : envoyez une image JPEG, PNG ou WebP") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(f"photo illisible ou tronquée ({type(exc).__name__})") from None
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # nothing of the upload is passed on: the JPEG encoder reads its own arguments (merged
    # with ``encoderinfo``) and ``info["comment"]``; both are emptied here
    image.info = {}
    vars(image).pop("encoderinfo", None)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=OUTPUT_QUALITY, optimize=False)
    content = out.getvalue()
    if not jpeg_metadata_free(content):
        raise RuntimeError("photo ré-encodée avec des métadonnées : refusée")
    return CleanPhoto(content, OUTPUT_MIME, image.width, image.height)

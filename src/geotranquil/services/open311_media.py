"""Residents' photos: type and size checked, decoded, re-encoded as JPEG without any metadata.

Re-encoding from the pixels (never copying the file) drops EXIF, GPS, XMP, ICC and comments;
the EXIF orientation is applied to the pixels first so the photo still shows upright.

The decoded image is encoded as it is, without copying its pixels: its ``info`` (where the
decoder put EXIF, XMP, ICC profile, comment…) is emptied and the encoder gets nothing but the
quality, so nothing of the upload can reach the output. :func:`jpeg_metadata_free` then checks
the encoded file itself (only JFIF, tables, frame and scan segments before the image data), so
the guarantee does not rest on Pillow's internals: a photo that would carry anything else is
refused with an internal error rather than stored.
"""

from __future__ import annotations

import io
import warnings
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


def jpeg_metadata_free(jpeg: bytes) -> bool:
    """Whether ``jpeg`` holds nothing but the picture: a JFIF header, tables, one frame, scans.

    Any APP1 to APP15 segment (EXIF, XMP, ICC profile, MPF, Adobe, …), comment, or APP0 other
    than JFIF makes it ``False``, as does a file that is not a whole JPEG.
    """
    if jpeg[:2] != b"\xff\xd8" or not jpeg.endswith(_EOI):
        return False
    pos = 2
    while pos + 4 <= len(jpeg):
        if jpeg[pos] != 0xFF:
            return False
        marker = jpeg[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == _SOS:  # the image data follow: the encoder writes no segment after them
            return True
        length = int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
        if length < 2:
            return False
        if marker == _APP0:
            if jpeg[pos + 4 : pos + 9] != b"JFIF\0":
                return False
        elif marker not in _IMAGE_SEGMENTS:
            return False
        pos += 2 + length
    return False


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

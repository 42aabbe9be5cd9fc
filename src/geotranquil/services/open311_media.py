"""Residents' photos: type and size checked, decoded, re-encoded as JPEG without any metadata.

Re-encoding from the pixels (never copying the file) drops EXIF, GPS, XMP, ICC and comments;
the EXIF orientation is applied to the pixels first so the photo still shows upright.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from geotranquil.errors import InvalidInput, TooLarge

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
OUTPUT_MIME = "image/jpeg"


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
            opened = Image.open(io.BytesIO(data))
            fmt = opened.format or ""
            if fmt not in ACCEPTED_FORMATS:
                raise InvalidInput(
                    f"format de photo non accepté ({fmt or 'inconnu'}) : JPEG, PNG ou WebP"
                )
            if opened.width * opened.height > max_pixels:
                raise TooLarge(
                    f"photo trop grande : {opened.width}×{opened.height} pixels, au plus "
                    f"{max_pixels:,} pixels".replace(",", " ")
                )
            if fmt == "JPEG":  # decode at a reduced scale when the photo is much larger
                opened.draft("RGB", (max_side, max_side))
            opened.load()
            image: Image.Image = ImageOps.exif_transpose(opened) or opened
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
    out = io.BytesIO()
    # a fresh image from the pixels only: no exif, icc_profile, comment or xmp is passed on
    Image.frombytes("RGB", image.size, image.tobytes()).save(
        out, format="JPEG", quality=85, optimize=False
    )
    return CleanPhoto(out.getvalue(), OUTPUT_MIME, image.width, image.height)

"""Residents' photos take the short path (no pixel copy) and still keep every guarantee.

``clean_photo`` encodes the decoded image itself instead of a fresh copy of its pixels: these
tests prove the output still carries no metadata of any kind (EXIF, GPS, XMP, ICC, comments,
text chunks) whatever the accepted input format, that the EXIF orientation is applied, that
the longest side is bounded, and that refused photos are still refused. No timing here: the
speed is judged by ``python -m benchmarks.open311_load``.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageOps, JpegImagePlugin, PngImagePlugin

from geotranquil.errors import InvalidInput, TooLarge
from geotranquil.services.open311_media import clean_photo, jpeg_metadata_free

LIMITS = {"max_bytes": 8_000_000, "max_side": 2048, "max_pixels": 50_000_000}
SECRETS = (b"MarqueSecreteXYZ", b"GPSSecretXYZ", b"XmpSecretXYZ", b"IccSecretXYZ", b"ComSecretXYZ")
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
    b'tiff:Orientation="1" tiff:Artist="XmpSecretXYZ"/></rdf:RDF></x:xmpmeta>'
)
ICC = b"IccSecretXYZ" * 40


def _picture(size: tuple[int, int] = (320, 200), mode: str = "RGB") -> Image.Image:
    """Four coloured quadrants: red, green / blue, yellow (top-left first)."""
    w, h = size
    image = Image.new("RGB", size)
    image.paste((220, 20, 20), (0, 0, w // 2, h // 2))
    image.paste((20, 200, 20), (w // 2, 0, w, h // 2))
    image.paste((20, 20, 220), (0, h // 2, w // 2, h))
    image.paste((230, 230, 20), (w // 2, h // 2, w, h))
    return image.convert(mode) if mode != "RGB" else image


def _exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "MarqueSecreteXYZ"  # Make
    exif[0x8825] = {
        1: "N",
        2: (43.0, 17.0, 42.5),
        3: "E",
        4: (5.0, 22.0, 11.25),
        18: "GPSSecretXYZ",
    }
    if orientation is not None:
        exif[0x0112] = orientation
    return exif


def _encode(image: Image.Image, fmt: str, orientation: int | None = None) -> bytes:
    """``image`` in ``fmt`` with every kind of metadata the format can hold."""
    out = io.BytesIO()
    exif = _exif(orientation)
    if fmt == "JPEG":
        image.save(
            out,
            format="JPEG",
            quality=92,
            exif=exif,
            icc_profile=ICC,
            xmp=XMP,
            comment=b"ComSecretXYZ",
        )
    elif fmt == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", "ComSecretXYZ")
        text.add_itxt("XML:com.adobe.xmp", XMP.decode())
        image.save(out, format="PNG", exif=exif, icc_profile=ICC, pnginfo=text)
    else:
        image.save(out, format="WEBP", quality=95, exif=exif, icc_profile=ICC, xmp=XMP)
    data = out.getvalue()
    info = Image.open(io.BytesIO(data)).info  # the metadata really are in the upload
    assert {"exif", "icc_profile"} <= set(info) and ({"xmp", "XML:com.adobe.xmp"} & set(info))
    assert fmt == "WEBP" or "comment" in info or "Comment" in info
    return data


def _assert_clean(content: bytes) -> Image.Image:
    assert jpeg_metadata_free(content)
    for secret in (*SECRETS, b"Exif\x00\x00", b"ICC_PROFILE", b"http://ns.adobe.com/xap"):
        assert secret not in content
    image = Image.open(io.BytesIO(content))
    assert isinstance(image, JpegImagePlugin.JpegImageFile) and image.mode == "RGB"
    assert dict(image.getexif()) == {}
    assert not {"exif", "icc_profile", "xmp", "comment", "adobe", "mp"} & set(image.info)
    assert [marker for marker, _ in image.applist] == ["APP0"]  # JFIF only
    return image


def _close(a: object, b: tuple[int, ...] | object) -> bool:
    """Two RGB pixels within JPEG noise of each other."""
    assert isinstance(a, tuple) and isinstance(b, tuple)
    return all(abs(x - y) <= 40 for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_no_metadata_of_any_kind_survives(fmt: str) -> None:
    photo = clean_photo(_encode(_picture(), fmt), **LIMITS)
    image = _assert_clean(photo.content)
    assert image.size == (photo.width, photo.height) == (320, 200)
    assert photo.mime_type == "image/jpeg" and photo.size == len(photo.content)
    assert _close(image.getpixel((40, 40)), (220, 20, 20))  # the picture itself survives
    assert _close(image.getpixel((280, 160)), (230, 230, 20))


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_orientation_is_applied_to_the_pixels(fmt: str, orientation: int) -> None:
    original = _encode(_picture(), fmt, orientation)
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(original))).convert("RGB")
    image = _assert_clean(clean_photo(original, **LIMITS).content)
    assert image.size == expected.size
    assert image.size == ((200, 320) if orientation >= 5 else (320, 200))
    w, h = image.size
    for x, y in (
        (w // 4, h // 4),
        (3 * w // 4, h // 4),
        (w // 4, 3 * h // 4),
        (3 * w // 4, 3 * h // 4),
    ):
        assert _close(image.getpixel((x, y)), expected.getpixel((x, y))), (x, y)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_longest_side_is_bounded(fmt: str) -> None:
    original = _encode(_picture((1200, 500)), fmt, orientation=6)  # upright: 500 × 1200
    photo = clean_photo(original, **{**LIMITS, "max_side": 300})
    image = _assert_clean(photo.content)
    assert image.size == (photo.width, photo.height)
    assert max(image.size) == 300 and image.size[0] < image.size[1]


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "L", "CMYK"])
def test_every_mode_becomes_rgb(mode: str) -> None:
    fmt = "JPEG" if mode in ("L", "CMYK") else "PNG"
    picture = _picture(mode=mode)
    if mode == "RGBA":
        picture.putalpha(0)  # fully transparent: flattened onto white
    out = io.BytesIO()
    picture.save(out, format=fmt)
    image = _assert_clean(clean_photo(out.getvalue(), **LIMITS).content)
    assert image.size == (320, 200)
    if mode == "RGBA":
        assert _close(image.getpixel((40, 40)), (255, 255, 255))


def test_refused_photos_are_still_refused() -> None:
    gif = io.BytesIO()
    _picture().save(gif, format="GIF")
    with pytest.raises(InvalidInput):
        clean_photo(gif.getvalue(), **LIMITS)
    with pytest.raises(InvalidInput):
        clean_photo(b"%PDF-1.4 not an image", **LIMITS)
    with pytest.raises(InvalidInput):
        clean_photo(b"", **LIMITS)
    jpeg = _encode(_picture(), "JPEG")
    with pytest.raises(InvalidInput):
        clean_photo(jpeg[: len(jpeg) // 2], **LIMITS)  # truncated
    with pytest.raises(TooLarge):
        clean_photo(jpeg, **{**LIMITS, "max_bytes": len(jpeg) - 1})
    with pytest.raises(TooLarge):
        clean_photo(jpeg, **{**LIMITS, "max_pixels": 320 * 200 - 1})


def test_the_output_check_refuses_any_metadata_segment() -> None:
    plain = io.BytesIO()
    _picture().save(plain, format="JPEG")
    assert jpeg_metadata_free(plain.getvalue())
    for extra in ({"exif": _exif()}, {"icc_profile": ICC}, {"xmp": XMP}, {"comment": b"x"}):
        out = io.BytesIO()
        _picture().save(out, format="JPEG", **extra)
        assert not jpeg_metadata_free(out.getvalue()), extra
    assert not jpeg_metadata_free(b"")
    assert not jpeg_metadata_free(plain.getvalue()[:-2])  # no end of image
    png = io.BytesIO()
    _picture().save(png, format="PNG")
    assert not jpeg_metadata_free(png.getvalue())


# ------------------------------------------------------------- the rewritten path (JPEG as is)


def _pixels(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.tobytes()


def _insert_after_first_scan(jpeg: bytes, segment: bytes) -> bytes:
    """``segment`` placed between the first and the second scan of a progressive JPEG."""
    first = jpeg.index(b"\xff\xda")
    second = jpeg.index(b"\xff\xda", first + 2)
    # the second scan is preceded by its tables: put the segment just before its SOS
    return jpeg[:second] + segment + jpeg[second:]


def test_an_upright_jpeg_is_rewritten_without_its_metadata_and_with_the_same_pixels() -> None:
    original = _encode(_picture(), "JPEG")
    photo = clean_photo(original, **LIMITS)
    _assert_clean(photo.content)
    assert _pixels(photo.content) == _pixels(original)  # not re-encoded: nothing lost
    assert len(photo.content) < len(original)


def test_metadata_between_scans_and_after_the_end_are_dropped() -> None:
    out = io.BytesIO()
    _picture((256, 256)).save(out, format="JPEG", quality=90, progressive=True)
    progressive = out.getvalue()
    comment = b"\xff\xfe\x00\x0eComSecretXYZ"
    gps = b"\xff\xe1\x00\x0eGPSSecretXYZ"
    hidden = _insert_after_first_scan(progressive, comment + gps) + b"MarqueSecreteXYZ"
    assert not jpeg_metadata_free(hidden)
    assert _pixels(hidden) == _pixels(progressive)  # a decoder skips them: they are hidden
    photo = clean_photo(hidden, **LIMITS)
    _assert_clean(photo.content)
    assert _pixels(photo.content) == _pixels(progressive)


def test_a_jfif_thumbnail_is_not_kept() -> None:
    out = io.BytesIO()
    _picture().save(out, format="JPEG", quality=90)
    plain = out.getvalue()
    assert plain[2:4] == b"\xff\xe0"
    length = int.from_bytes(plain[4:6], "big")
    thumb = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x01\x01" + b"\xfe\x00\x00"  # a 1x1 thumbnail
    with_thumb = plain[:2] + b"\xff\xe0" + (len(thumb) + 2).to_bytes(2, "big") + thumb
    with_thumb += plain[4 + length :]
    assert not jpeg_metadata_free(with_thumb)
    photo = clean_photo(with_thumb, **LIMITS)
    _assert_clean(photo.content)
    assert b"\xfe\x00\x00" not in photo.content[:40]


def test_an_adobe_jpeg_is_re_encoded_and_a_truncated_one_refused() -> None:
    out = io.BytesIO()
    _picture(mode="CMYK").save(out, format="JPEG", quality=90)  # Pillow writes Adobe APP14
    assert "adobe" in Image.open(io.BytesIO(out.getvalue())).info
    image = _assert_clean(clean_photo(out.getvalue(), **LIMITS).content)
    assert image.mode == "RGB"
    original = _encode(_picture((640, 480)), "JPEG")
    with pytest.raises(InvalidInput, match="illisible"):
        clean_photo(original[: len(original) // 2], **LIMITS)


def test_building_a_bulletin_leaves_truncated_photos_refused() -> None:
    """WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES when imported; the bulletin
    puts it back, so a server that builds a bulletin still refuses a truncated photo."""
    from geotranquil.bulletin.document import render_pdf

    assert render_pdf("<p>Bulletin</p>").startswith(b"%PDF")
    original = _encode(_picture((640, 480)), "JPEG")
    with pytest.raises(InvalidInput, match="illisible"):
        clean_photo(original[: len(original) // 2], **LIMITS)

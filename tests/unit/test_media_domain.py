"""Media rules without servers: declared types and sizes, sniffing from bytes,
object keys, and location metadata stripped from JPEG, PNG and WebP."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from services.media import images
from services.media.domain import (
    MediaType,
    check_upload,
    object_key,
    parse_declared,
    sniff,
    staging_key,
)
from services.shared.errors import InvalidArgument

GPS_IFD = 0x8825


def encoded(fmt: str, *, gps: bool) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: must survive
    if gps:
        exif.get_ifd(GPS_IFD).update({1: "S", 2: (33.0, 51.0, 54.0)})
    out = io.BytesIO()
    Image.new("RGB", (12, 8), (255, 0, 0)).save(out, fmt, exif=exif)
    return out.getvalue()


def test_declared_types_and_limits() -> None:
    assert parse_declared("IMAGE/PNG", 10) is MediaType.PNG
    assert parse_declared("image/gif", 5 * 1024 * 1024) is MediaType.GIF
    assert parse_declared("video/mp4", 512 * 1024 * 1024) is MediaType.MP4
    for content_type, size in (("image/svg+xml", 10), ("image/png", -1),
                               ("image/webp", 5 * 1024 * 1024 + 1)):
        with pytest.raises(InvalidArgument):
            parse_declared(content_type, size)


def test_sniffing_uses_bytes_not_names() -> None:
    assert sniff(encoded("PNG", gps=False)) is MediaType.PNG
    assert sniff(encoded("JPEG", gps=False)) is MediaType.JPEG
    assert sniff(encoded("WEBP", gps=False)) is MediaType.WEBP
    assert sniff(b"GIF89a\x01\x00") is MediaType.GIF
    assert sniff(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00") is MediaType.MP4
    assert sniff(b"\x00\x00\x00\x18ftypqt  \x00\x00\x00\x00") is None  # QuickTime
    assert sniff(b"<svg xmlns=...>") is None
    with pytest.raises(InvalidArgument, match="not a image/png"):
        check_upload(MediaType.PNG, 11, 11, b"hello world")
    with pytest.raises(InvalidArgument, match="is image/jpeg"):
        check_upload(MediaType.PNG, 3, 3, b"\xff\xd8\xff")
    with pytest.raises(InvalidArgument, match="bytes"):
        check_upload(MediaType.PNG, 3, 4, b"\x89PNG\r\n\x1a\n")


def test_object_keys_carry_owner_month_and_id() -> None:
    key = object_key(7, 123, MediaType.JPEG, datetime(2025, 3, 9, tzinfo=UTC))
    assert key == "media/7/2025/03/123.jpg"
    assert staging_key(key) == "uploads/7/2025/03/123.jpg"


@pytest.mark.parametrize(("fmt", "kind"), [("JPEG", MediaType.JPEG), ("PNG", MediaType.PNG),
                                           ("WEBP", MediaType.WEBP)])
def test_gps_is_stripped_and_the_rest_kept(fmt: str, kind: MediaType) -> None:
    found = images.inspect(encoded(fmt, gps=True), kind)
    assert (found.width, found.height) == (12, 8)
    assert found.cleaned is not None
    with Image.open(io.BytesIO(found.cleaned)) as img:
        exif = img.getexif()
        assert GPS_IFD not in exif
        assert exif[0x0112] == 6
        img.load()  # pixels intact
    assert images.inspect(encoded(fmt, gps=False), kind).cleaned is None


def test_xmp_packets_are_dropped_from_jpeg() -> None:
    data = encoded("JPEG", gps=False)
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>exif:GPSLatitude</x:xmpmeta>"
    segment = b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp
    found = images.inspect(data[:2] + segment + data[2:], MediaType.JPEG)
    assert found.cleaned is not None
    assert b"GPSLatitude" not in found.cleaned


def test_broken_and_huge_images_are_invalid() -> None:
    with pytest.raises(InvalidArgument):
        images.inspect(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, MediaType.PNG)
    out = io.BytesIO()
    Image.new("1", (9000, 10)).save(out, "PNG")
    with pytest.raises(InvalidArgument, match="8192"):
        images.inspect(out.getvalue(), MediaType.PNG)

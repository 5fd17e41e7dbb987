"""Media uploads through the edge: test images, and the three steps of an
upload (create, PUT to the presigned URL, complete)."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image

from tests.support.mpo import GPS_IFD
from tests.support.users import Account


def png(width: int = 40, height: int = 30, *, gps: bool = False) -> bytes:
    img = Image.new("RGB", (width, height), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    if gps:
        info = exif.get_ifd(GPS_IFD)
        info.update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    out = io.BytesIO()
    img.save(out, "PNG", exif=exif)
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 0, 0)).save(out, "JPEG")
    return out.getvalue()


async def create(edge: httpx.AsyncClient, who: Account, content_type: str,
                 size: int) -> dict[str, Any]:
    r = await edge.post("/v1/media", json={"contentType": content_type, "sizeBytes": size},
                        headers=who.bearer)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def put(upload: dict[str, Any], data: bytes,
              headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as s3:
        return await s3.request(upload["uploadMethod"], upload["uploadUrl"], content=data,
                                headers=headers or upload["uploadHeaders"])


async def complete(edge: httpx.AsyncClient, who: Account, media_id: str) -> httpx.Response:
    return await edge.post(f"/v1/media/{media_id}/complete", json={}, headers=who.bearer)


async def upload(edge: httpx.AsyncClient, who: Account, data: bytes,
                 content_type: str = "image/png") -> dict[str, Any]:
    """All three steps; returns the READY media."""
    started = await create(edge, who, content_type, len(data))
    assert (await put(started, data)).status_code == 200
    done = await complete(edge, who, started["mediaId"])
    assert done.status_code == 200, done.text
    media: dict[str, Any] = done.json()["media"]
    return media


# Location hidden where the finding of issue 31 found it --------------------------

GPS_MARK = b"GPSLatitude"
XMP_WITH_GPS = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
    b' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"'
    b' exif:GPSLatitude="48,51.4N" exif:GPSLongitude="2,21.05E"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def jpeg_with_segment(marker: int, payload: bytes) -> bytes:
    """A JPEG with one more marker segment right after SOI."""
    base = jpeg()
    return base[:2] + _jpeg_segment(marker, payload) + base[2:]


def jpeg_xmp_spaced() -> bytes:
    """XMP in APP1 behind a namespace header ending in a space, not NUL."""
    return jpeg_with_segment(0xE1, b"http://ns.adobe.com/xap/1.0/ " + XMP_WITH_GPS)


def jpeg_photoshop_xmp() -> bytes:
    """XMP in a Photoshop image resource (0x0424) of an APP13 segment."""
    data = XMP_WITH_GPS + b"\x00" * (len(XMP_WITH_GPS) & 1)
    resource = b"8BIM" + b"\x04\x24" + b"\x00\x00" + len(XMP_WITH_GPS).to_bytes(4, "big") + data
    return jpeg_with_segment(0xED, b"Photoshop 3.0\x00" + resource)


def gif_with_xmp() -> bytes:
    """XMP in a GIF application extension (`XMP DataXMP`), written the way the
    XMP specification says: the raw packet, then the 258-byte magic trailer."""
    out = io.BytesIO()
    Image.new("P", (12, 10), 3).save(out, "GIF")
    base = out.getvalue()
    head = 13 + (3 * (2 << (base[10] & 0x07)) if base[10] & 0x80 else 0)
    trailer = b"\x01" + bytes(range(0xFF, -1, -1)) + b"\x00"
    extension = b"\x21\xff\x0bXMP DataXMP" + XMP_WITH_GPS + trailer
    return base[:head] + extension + base[head:]


def decodes(data: bytes) -> tuple[int, int]:
    """The image's size once every pixel is decoded (raises if it cannot be)."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.size

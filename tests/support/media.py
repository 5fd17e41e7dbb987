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

"""Media benchmark: the whole upload of a 5 MB image through the edge and the
real MinIO (CreateUpload + presigned PUT + CompleteUpload), p50 over a few runs,
for an image without metadata and one with EXIF GPS (rewritten on completion)."""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import time
import uuid

import httpx
from PIL import Image

from benchmarks.accounts import account

RUNS = 7


def _image(gps: bool) -> bytes:
    """An incompressible PNG of about 5 MB (random pixels), under the 5 MiB limit."""
    side = 1290
    img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    exif = Image.Exif()
    if gps:
        exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 24.0)})
    out = io.BytesIO()
    img.save(out, "PNG", exif=exif, compress_level=1)
    return out.getvalue()


async def _token(edge: httpx.AsyncClient) -> dict[str, str]:
    user = await account(edge, f"mbench_{uuid.uuid4().hex[:8]}")
    return {"Authorization": f"Bearer {user['token']}"}


async def _upload(edge: httpx.AsyncClient, s3: httpx.AsyncClient, headers: dict[str, str],
                  data: bytes) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    r = await edge.post("/v1/media", json={"contentType": "image/png", "sizeBytes": len(data)},
                        headers=headers)
    r.raise_for_status()
    upload = r.json()
    t1 = time.perf_counter()
    put = await s3.put(upload["uploadUrl"], content=data, headers=upload["uploadHeaders"])
    put.raise_for_status()
    t2 = time.perf_counter()
    done = await edge.post(f"/v1/media/{upload['mediaId']}/complete", json={}, headers=headers)
    done.raise_for_status()
    assert done.json()["media"]["state"] == "MEDIA_STATE_READY"
    t3 = time.perf_counter()
    return (t3 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000


async def _bench(edge_url: str) -> list[str]:
    lines = []
    async with httpx.AsyncClient(base_url=edge_url, timeout=120) as edge, \
            httpx.AsyncClient(timeout=120) as s3:
        headers = await _token(edge)
        for gps in (False, True):
            data = _image(gps)
            await _upload(edge, s3, headers, data)  # warm-up
            runs = [await _upload(edge, s3, headers, data) for _ in range(RUNS)]
            total, put, complete = (statistics.median(x) for x in zip(*runs, strict=True))
            label = "5 MB PNG upload" + (" with GPS (rewritten)" if gps else "")
            lines.append(f"{label:<42} {len(data) / 1e6:.2f} MB: p50 total {total:7.1f} ms"
                         f" (PUT {put:.1f} ms, CompleteUpload {complete:.1f} ms;"
                         f" {RUNS} runs, max {max(r[0] for r in runs):.1f} ms)")
    return lines


def run(env: dict[str, str]) -> list[str]:
    return asyncio.run(_bench(env["EDGE_URL"]))

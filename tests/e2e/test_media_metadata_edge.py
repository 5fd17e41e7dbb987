"""Location metadata through the edge (issue 31, findings 2 and 3): where the
second attack run found it surviving, the stored file has none left, is still
valid (it decodes or parses) and is otherwise what was sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from services.media.video import inspect_mp4
from tests.support.media import (
    GPS_MARK,
    decodes,
    gif_with_xmp,
    jpeg_photoshop_xmp,
    jpeg_xmp_spaced,
    upload,
)
from tests.support.mpo import ISO6709, location_udta, mp4
from tests.support.users import MakeAccount

pytestmark = pytest.mark.e2e


async def download(url: str) -> bytes:
    async with httpx.AsyncClient(timeout=60) as s3:
        got = await s3.get(url)
    assert got.status_code == 200
    return got.content


@pytest.mark.parametrize(("make", "content_type"), [
    (gif_with_xmp, "image/gif"),  # XMP DataXMP application extension
    (jpeg_photoshop_xmp, "image/jpeg"),  # Photoshop APP13, resource 0x0424
    (jpeg_xmp_spaced, "image/jpeg"),  # APP1 XMP, header ending in a space
])
async def test_xmp_location_is_stripped_wherever_it_hides(
        edge: httpx.AsyncClient, make_account: MakeAccount,
        make: Callable[[], bytes], content_type: str) -> None:
    alice = await make_account("xm")
    data = make()
    assert GPS_MARK in data
    media = await upload(edge, alice, data, content_type)
    stored = await download(media["downloadUrl"])
    assert GPS_MARK not in stored
    assert b"xmpmeta" not in stored
    assert decodes(stored) == decodes(data)  # every pixel still decodes
    assert int(media["sizeBytes"]) == len(stored) < len(data)


@pytest.mark.parametrize("samples", [
    b"\x01" * 64,
    # past S3's 5 MiB part: a multipart copy, the media data copied server-side
    bytes(range(256)) * (12 * 4096),
], ids=["small", "12MiB"])
async def test_phone_video_location_is_blanked_and_the_video_kept(
        edge: httpx.AsyncClient, make_account: MakeAccount, samples: bytes) -> None:
    alice = await make_account("vl")
    data = mp4(64, 48, samples=samples, user_data=location_udta())
    assert ISO6709 in data
    media = await upload(edge, alice, data, "video/mp4")  # ©xyz no longer refused
    assert (media["width"], media["height"]) == (64, 48)
    stored = await download(media["downloadUrl"])
    assert ISO6709 not in stored
    assert b"loci" not in stored
    assert b"\xa9xyz" not in stored
    assert len(stored) == len(data) == int(media["sizeBytes"])
    assert stored.endswith(samples)  # the media data, byte for byte, at its place

    async def read_at(offset: int, length: int) -> bytes:
        return stored[offset:offset + length]
    parsed = await inspect_mp4(read_at, len(stored))  # still a valid MP4
    assert (parsed.width, parsed.height, parsed.patches) == (64, 48, [])


async def test_a_video_without_location_is_stored_as_sent(
        edge: httpx.AsyncClient, make_account: MakeAccount) -> None:
    alice = await make_account("vn")
    data = mp4(64, 48)
    media = await upload(edge, alice, data, "video/mp4")
    assert await asyncio.wait_for(download(media["downloadUrl"]), 60) == data

"""MP4 validation (services/media/video.py) over in-memory bytes: a well-formed
file gives its video's size; anything that merely starts like one is refused."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest

from services.media.video import ReadAt, inspect_mp4
from services.shared.errors import InvalidArgument
from tests.support.mpo import mp4


def reader(data: bytes) -> ReadAt:
    async def read_at(offset: int, length: int) -> bytes:
        return data[offset:offset + length]
    return read_at


async def inspect(data: bytes) -> tuple[int, int]:
    found = await inspect_mp4(reader(data), len(data))
    return found.width, found.height


async def test_a_well_formed_file_gives_its_video_size() -> None:
    assert await inspect(mp4(320, 240)) == (320, 240)
    assert await inspect(mp4(64, 48)) == (64, 48)


def _without_moov(data: bytes) -> bytes:
    ftyp_size = struct.unpack(">I", data[:4])[0]
    moov_size = struct.unpack(">I", data[ftyp_size:ftyp_size + 4])[0]
    return data[:ftyp_size] + data[ftyp_size + moov_size:]


@pytest.mark.parametrize(("make", "why"), [
    (lambda good: good + b"trailing bytes", None),
    (lambda good: good[:-8], None),
    (lambda good: b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2<html></html>", None),
    (lambda good: good.replace(b"isom", b"qt  ", 1), "brand"),
    (_without_moov, "one movie box"),
    (lambda good: good.replace(b"vide", b"soun", 1), "no video track"),
    (lambda good: good[4:], None),
], ids=["trailing bytes", "cut short", "a web page after ftyp", "another brand", "no moov",
        "sound only", "no ftyp first"])
async def test_files_that_only_start_like_an_mp4_are_refused(
        make: Callable[[bytes], bytes], why: str | None) -> None:
    with pytest.raises(InvalidArgument, match=why):
        await inspect(make(mp4()))

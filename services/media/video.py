"""MP4 validation: the whole file must be an ISO base media file, not merely
start like one. Plain Python over a `read(offset, length)` source, so a
512 MiB upload is checked through a few ranged reads (one per top-level box,
and the `moov` box whole), never loaded.

Checked: the top-level boxes tile the file exactly (nothing before, between
or after them); the first is `ftyp` with a brand we accept; there is exactly
one `moov` (bounded in size) and media data (`mdat`, or `moof` fragments);
inside `moov` every container's children tile it exactly, there is a movie
header and at least one video track (`hdlr` of type `vide`) with a sample
table whose chunk offsets all point into the file's media data. The track
header gives the width and height.

Not checked: the coded video itself (that needs a decoder, i.e. FFmpeg's
attack surface in this process); a player finds out what the samples hold.

Location (issue 31): phones record where a video was shot in moov/udta
(`©xyz`, Apple's ISO 6709 string; `loci`, 3GPP's), in a `meta` box (Apple's
`com.apple.quicktime.location.ISO6709` key) and in XMP (`XMP_` in udta, or
a `uuid` box). `inspect_mp4` returns each such box as a patch that turns it
into a `free` box of the same size with zeroed content: no offset in the file
moves, so chunk offsets stay right, and players skip `free` boxes. Not
covered: location inside the media data (a GoPro `gpmd` track, for one).
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.media.domain import MP4_BRANDS
from services.media.patch import Patch
from services.shared.errors import InvalidArgument

ReadAt = Callable[[int, int], Awaitable[bytes]]

MAX_TOP_LEVEL_BOXES = 10_000
MAX_MOOV_BYTES = 64 * 1024 * 1024
MAX_SIDE = 8192
# Boxes whose payload is nothing but boxes (ISO/IEC 14496-12).
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex",
               b"udta", b"tref"}


# Boxes that carry location or free-form metadata, blanked wherever they sit.
_METADATA = {b"loci", b"\xa9xyz", b"XMP_", b"meta"}
_XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")


@dataclass(frozen=True)
class MovieInspection:
    width: int
    height: int
    patches: list[Patch]


def _blank(box: Box) -> Patch:
    """`box` as a `free` box of the same size, its content zeroed."""
    size = struct.pack(">I", box.size) if box.header == 8 else struct.pack(">I", 1)
    extended = b"" if box.header == 8 else struct.pack(">Q", box.size)
    return Patch(box.start, size + b"free" + extended + bytes(box.size - box.header))


def _valid_type(kind: bytes) -> bool:
    """Printable ASCII, and Apple's © (0xA9) that starts QuickTime's user data types."""
    return all(0x20 <= c <= 0x7E or c == 0xA9 for c in kind)


def _invalid(reason: str) -> InvalidArgument:
    return InvalidArgument.field("media_id", f"the upload is not a valid video/mp4 file: {reason}")


@dataclass(frozen=True)
class Box:
    kind: bytes
    start: int  # of the header
    header: int  # header length (8, or 16 with a 64-bit size)
    size: int  # header included

    @property
    def end(self) -> int:
        return self.start + self.size

    @property
    def payload_start(self) -> int:
        return self.start + self.header


def _box_at(head: bytes, start: int, limit: int) -> Box:
    """The box whose header starts `head` (at file offset `start`), ending at or
    before `limit`."""
    if len(head) < 8:
        raise _invalid("a box header is cut short")
    size, kind = struct.unpack(">I4s", head[:8])
    header = 8
    if size == 1:
        if len(head) < 16:
            raise _invalid("a box header is cut short")
        (size,) = struct.unpack(">Q", head[8:16])
        header = 16
    elif size == 0:
        size = limit - start  # "to the end of the file"
    if not _valid_type(kind):
        raise _invalid("a box has no valid type")
    if size < header or start + size > limit:
        raise _invalid(f"box {kind.decode()!r} does not fit")
    return Box(kind, start, header, size)


def _children(data: bytes, offset: int, start: int, end: int) -> list[Box]:
    """The boxes tiling data[start:end] exactly (`offset`: file offset of data[0])."""
    boxes: list[Box] = []
    pos = start
    while pos < end:
        box = _box_at(data[pos:pos + 16], offset + pos, offset + end)
        boxes.append(box)
        pos += box.size
    return boxes


async def top_level(read_at: ReadAt, size: int) -> list[Box]:
    boxes: list[Box] = []
    pos = 0
    while pos < size:
        if len(boxes) >= MAX_TOP_LEVEL_BOXES:
            raise _invalid("too many boxes")
        box = _box_at(await read_at(pos, min(16, size - pos)), pos, size)
        boxes.append(box)
        pos = box.end
    return boxes


@dataclass(frozen=True)
class _Track:
    handler: bytes
    width: int
    height: int
    chunk_offsets: list[int]


def _walk(data: bytes, offset: int, box: Box, found: dict[bytes, list[tuple[Box, bytes]]],
          depth: int = 0) -> None:
    """Collects every box under `box` by type, checking containers tile exactly."""
    if depth > 12:
        raise _invalid("boxes nest too deep")
    start, end = box.payload_start - offset, box.end - offset
    for child in _children(data, offset, start, end):
        payload = data[child.payload_start - offset:child.end - offset]
        found.setdefault(child.kind, []).append((child, payload))
        if child.kind in _CONTAINERS:
            _walk(data, offset, child, found, depth + 1)


def _track(data: bytes, offset: int, trak: Box) -> _Track:
    found: dict[bytes, list[tuple[Box, bytes]]] = {}
    _walk(data, offset, trak, found)
    try:
        [(_, tkhd)] = found[b"tkhd"]
        [(_, hdlr)] = found[b"hdlr"][:1]
    except (KeyError, ValueError) as exc:
        raise _invalid("a track has no header or handler") from exc
    if len(tkhd) < 84 or len(hdlr) < 12:
        raise _invalid("a track header is cut short")
    width, height = (v >> 16 for v in struct.unpack(">II", tkhd[-8:]))  # 16.16 fixed point
    offsets: list[int] = []
    for kind, fmt, width_bytes in ((b"stco", ">I", 4), (b"co64", ">Q", 8)):
        for _, table in found.get(kind, []):
            if len(table) < 8:
                raise _invalid("a chunk offset table is cut short")
            (count,) = struct.unpack(">I", table[4:8])
            if len(table) != 8 + count * width_bytes:
                raise _invalid("a chunk offset table has the wrong length")
            offsets += [struct.unpack(fmt, table[8 + i * width_bytes:8 + (i + 1) * width_bytes])[0]
                        for i in range(count)]
    return _Track(hdlr[8:12], width, height, offsets)


async def _movie_box(read_at: ReadAt, boxes: list[Box]) -> tuple[Box, bytes]:
    """The one movie box (beside media data) and its bytes, bounded in size."""
    moovs = [b for b in boxes if b.kind == b"moov"]
    media = [b for b in boxes if b.kind in (b"mdat", b"moof")]
    if len(moovs) != 1 or not media:
        raise _invalid("it needs one movie box and media data")
    moov = moovs[0]
    if moov.size > MAX_MOOV_BYTES:
        raise _invalid("its movie box is too large")
    data = await read_at(moov.start, moov.size)
    if len(data) != moov.size:
        raise _invalid("its movie box is cut short")
    return moov, data


async def inspect_mp4(read_at: ReadAt, size: int) -> MovieInspection:
    """Width and height of the first video track, and the patches that blank
    its location metadata; INVALID_ARGUMENT unless the file is a well-formed
    MP4 with video (see the module's docstring)."""
    boxes = await top_level(read_at, size)
    if not boxes or boxes[0].kind != b"ftyp":
        raise _invalid("it does not start with a file type box")
    ftyp = await read_at(boxes[0].payload_start, min(boxes[0].size - boxes[0].header, 64))
    if ftyp[:4] not in MP4_BRANDS:
        raise _invalid("its brand is not one we accept")
    moov, data = await _movie_box(read_at, boxes)
    found: dict[bytes, list[tuple[Box, bytes]]] = {}
    _walk(data, moov.start, moov, found)
    if b"mvhd" not in found:
        raise _invalid("it has no movie header")
    tracks = [_track(data, moov.start, trak) for trak, _ in found.get(b"trak", [])]
    videos = [t for t in tracks if t.handler == b"vide"]
    if not videos:
        raise _invalid("it has no video track")
    mdats = [(b.payload_start, b.end) for b in boxes if b.kind == b"mdat"]
    for track in tracks:
        for chunk in track.chunk_offsets:
            if not any(start <= chunk < end for start, end in mdats):
                raise _invalid("a track points outside its media data")
    video = videos[0]
    if not (0 < video.width <= MAX_SIDE and 0 < video.height <= MAX_SIDE):
        raise _invalid("its video has no valid dimensions")
    return MovieInspection(video.width, video.height,
                      await _metadata_patches(read_at, boxes, found))


async def _metadata_patches(read_at: ReadAt, top: list[Box],
                            in_moov: dict[bytes, list[tuple[Box, bytes]]]) -> list[Patch]:
    """A patch per metadata box: inside moov (collected by the walk; a `meta`
    box is not walked into, so none nests in another), and at the top level
    (`meta`, `udta`, and `uuid` boxes holding XMP)."""
    boxes = [box for kind in _METADATA for box, _ in in_moov.get(kind, [])]
    for box in top:
        if box.kind in (b"meta", b"udta", b"XMP_") or (
                box.kind == b"uuid" and box.size >= box.header + 16
                and await read_at(box.payload_start, 16) == _XMP_UUID):
            if box.size > MAX_MOOV_BYTES:
                raise _invalid("its metadata box is too large")
            boxes.append(box)
    return sorted((_blank(box) for box in boxes), key=lambda p: p.offset)

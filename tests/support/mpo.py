"""Test images built in the tests: a Multi-Picture Format JPEG (as some phones
write) whose second image carries GPS, and a minimal MP4."""

from __future__ import annotations

import io
import struct

from PIL import Image

GPS_IFD = 0x8825


def jpeg_with_exif(width: int, height: int, colour: tuple[int, int, int], *,
                   gps: bool) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    if gps:
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG", exif=exif)
    return out.getvalue()


def _mpf_segment(sizes: list[int], offsets: list[int]) -> bytes:
    """An APP2 MPF segment (CIPA DC-007) indexing images of these sizes at
    these offsets (from the segment's TIFF header), little-endian."""
    entries_at = 8 + 2 + 3 * 12 + 4
    ifd = struct.pack("<H", 3) + b"".join([
        struct.pack("<HHI4s", 0xB000, 7, 4, b"0100"),
        struct.pack("<HHII", 0xB001, 4, 1, len(sizes)),
        struct.pack("<HHII", 0xB002, 7, 16 * len(sizes), entries_at),
    ]) + struct.pack("<I", 0)
    entries = b"".join(
        struct.pack("<IIIHH", 0x20030000 if n == 0 else 0x00010001, size, offset, 0, 0)
        for n, (size, offset) in enumerate(zip(sizes, offsets, strict=True)))
    payload = b"MPF\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd + entries
    return b"\xff\xe2" + struct.pack(">H", len(payload) + 2) + payload


def mpo_with_gps_in_second_image(trailer: bytes = b"") -> bytes:
    """Two images indexed by MPF: the primary without GPS, the second with it;
    `trailer` is appended after both, unindexed."""
    first = jpeg_with_exif(32, 24, (200, 40, 40), gps=False)
    second = jpeg_with_exif(16, 12, (40, 200, 40), gps=True)
    # The MPF segment goes right after SOI; its TIFF header is 8 bytes into it.
    size_of_segment = len(_mpf_segment([0, 0], [0, 0]))
    primary = len(first) + size_of_segment
    tiff_at = 2 + 4 + 4
    segment = _mpf_segment([primary, len(second)], [0, primary - tiff_at])
    return first[:2] + segment + first[2:] + second + trailer


def frames_gps(data: bytes) -> list[bool]:
    """For each image Pillow finds in the file: does its EXIF carry GPS?"""
    found = []
    with Image.open(io.BytesIO(data)) as img:
        for n in range(getattr(img, "n_frames", 1)):
            img.seek(n)
            found.append(bool(img.getexif().get_ifd(GPS_IFD)))
    return found


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full(kind: bytes, payload: bytes) -> bytes:
    return _box(kind, b"\x00\x00\x00\x00" + payload)  # version 0, no flags


ISO6709 = b"+48.8584+002.2945+035.000/"  # where the test videos were "shot"


def location_udta() -> bytes:
    """moov/udta as phones write it: Apple's `©xyz` (a 16-bit length, a
    language, the ISO 6709 string) and 3GPP's `loci` (a full box: language,
    name, role, then fixed-point longitude, latitude, altitude)."""
    xyz = _box(b"\xa9xyz", struct.pack(">HH", len(ISO6709), 0x15C7) + ISO6709)
    loci = _full(b"loci", struct.pack(">H", 0x15C7) + b"Eiffel\x00" + b"\x00"
                 + struct.pack(">iii", 148_000, 3_195_000, 2_293_760) + b"earth\x00\x00")
    keys = _full(b"keys", struct.pack(">I", 1) + _box(
        b"mdta", b"com.apple.quicktime.location.ISO6709"))
    ilst = _box(b"ilst", _box(struct.pack(">I", 1), _box(b"data", b"\x00" * 8 + ISO6709)))
    meta = _full(b"meta", _full(b"hdlr", b"\x00" * 4 + b"mdta" + b"\x00" * 13) + keys + ilst)
    return _box(b"udta", xyz + loci) + meta


def mp4(width: int = 320, height: int = 240, *, samples: bytes = b"\x00" * 64,
        user_data: bytes = b"") -> bytes:
    """A structurally complete MP4: ftyp, moov with one video track whose one
    chunk lies in mdat, and mdat (whose bytes no decoder is asked about);
    `user_data` goes at the end of moov (location_udta())."""
    ftyp = _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2avc1mp41")

    def moov(chunk_offset: int) -> bytes:
        tkhd = _full(b"tkhd", b"\x00" * 76 + struct.pack(">II", width << 16, height << 16))
        hdlr = _full(b"hdlr", b"\x00" * 4 + b"vide" + b"\x00" * 12 + b"video\x00")
        stbl = _box(b"stbl", b"".join([
            _full(b"stsd", struct.pack(">I", 0)),
            _full(b"stts", struct.pack(">I", 0)),
            _full(b"stsc", struct.pack(">I", 0)),
            _full(b"stsz", struct.pack(">II", 0, 0)),
            _full(b"stco", struct.pack(">II", 1, chunk_offset)),
        ]))
        minf = _box(b"minf", _full(b"vmhd", b"\x00" * 8) + stbl)
        mdia = _box(b"mdia", _full(b"mdhd", b"\x00" * 20) + hdlr + minf)
        trak = _box(b"trak", tkhd + mdia)
        return _box(b"moov", _full(b"mvhd", b"\x00" * 96) + trak + user_data)

    offset = len(ftyp) + len(moov(0)) + 8  # the samples, just past mdat's header
    return ftyp + moov(offset) + _box(b"mdat", samples)

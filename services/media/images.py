"""Image inspection: the real format and dimensions (Pillow), and location metadata
removed without re-encoding, so pixels are never degraded. Plain Python,
CPU-bound: callers run it in a worker thread.

What is kept is listed, not what is dropped, so a new or misspelt metadata
carrier does not slip through (issue 31: XMP behind a namespace ending in a
space, XMP inside a Photoshop resource, XMP in a GIF application extension):
- JPEG: SOF/DHT/DQT/SOS and the other coding segments, APP0 (JFIF), APP1 EXIF
  without its GPS IFD and without the XMP and IPTC it can embed, APP2 ICC
  profiles and the MPF index, APP14 (Adobe colour transform). Any other APPn
  (XMP under any header, Photoshop/IPTC APP13, vendor data) and comments go.
- PNG: every chunk but text (tEXt, zTXt, iTXt: XMP and raw EXIF profiles live
  there) and eXIf without GPS.
- WebP: every chunk but XMP, EXIF without GPS.
- GIF: image data, graphic control and plain text extensions, and the
  application extensions players use (the NETSCAPE2.0/ANIMEXTS1.0 loop count,
  the ICC profile); other application extensions (XMP DataXMP) and comments go.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from services.media.domain import Inspection, MediaType
from services.shared.errors import InvalidArgument

MAX_SIDE = 8192  # pixels, each way
_PIL_FORMATS = {MediaType.JPEG: "JPEG", MediaType.PNG: "PNG", MediaType.GIF: "GIF",
                MediaType.WEBP: "WEBP"}
_GPS_IFD = 0x8825
# IFD0 tags that embed other metadata blocks (TIFF/EP): XMP and IPTC.
_EMBEDDED_METADATA_TAGS = (0x02BC, 0x83BB)


def inspect(data: bytes, media_type: MediaType) -> Inspection:
    """Dimensions of an image of `media_type`, and its bytes without location
    metadata when it had any. INVALID_ARGUMENT when the bytes are not a valid
    image of that format or are too large in pixels."""
    width, height = _open(data, media_type)
    cleaned = strip_location(data, media_type)
    # The rewrite touches only metadata; the result must still be the same image.
    if cleaned is not None and _open(cleaned, media_type) != (width, height):
        raise InvalidArgument.field("media_id", "the image could not be cleaned")
    return Inspection(width=width, height=height, cleaned=cleaned)


def _open(data: bytes, media_type: MediaType) -> tuple[int, int]:
    fmt = _PIL_FORMATS[media_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                width, height = img.size
                if width > MAX_SIDE or height > MAX_SIDE:
                    raise InvalidArgument.field(
                        "media_id", f"images are limited to {MAX_SIDE}x{MAX_SIDE} pixels")
                img.verify()  # structure and checksums, without decoding every pixel
    except InvalidArgument:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, OSError, SyntaxError, ValueError,
            struct.error) as exc:
        raise InvalidArgument.field(
            "media_id", f"the upload is not a valid {media_type.content_type} image") from exc
    if width <= 0 or height <= 0:
        raise InvalidArgument.field("media_id", "the image has no pixels")
    return width, height


def strip_location(data: bytes, media_type: MediaType) -> bytes | None:
    """The image with only the parts listed in the module's docstring, or None
    when it had nothing else. The rest of EXIF (orientation, colour hints) is kept."""
    if media_type is MediaType.JPEG:
        return _strip_jpeg(data)
    if media_type is MediaType.PNG:
        return _strip_png(data)
    if media_type is MediaType.WEBP:
        return _strip_webp(data)
    return _strip_gif(data)


def exif_without_gps(exif_bytes: bytes) -> bytes | None:
    """EXIF (TIFF, with or without the `Exif\\0\\0` header) minus its GPS IFD
    and any XMP or IPTC block embedded in it, with the `Exif\\0\\0` header;
    None when it had none of them."""
    exif = Image.Exif()
    exif.load(exif_bytes)
    present = [t for t in (_GPS_IFD, *_EMBEDDED_METADATA_TAGS) if t in exif]
    if not present:
        return None
    for tag in present:
        del exif[tag]
    data: bytes = exif.tobytes()
    return data


# JPEG ------------------------------------------------------------------------------
#
# A JPEG file may hold more than one image: phones write a Multi-Picture
# Format (MPF, CIPA DC-007) file, whose first image's APP2 `MPF` segment
# indexes further complete JPEGs appended after it (previews, depth maps, gain
# maps), each with its own EXIF, GPS included. Every indexed image is cleaned,
# the index is rewritten for their new sizes and places, and whatever else
# follows the first image (unindexed appended data) is dropped.

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_APP0, _APP1, _APP2, _APP14, _APP15, _COM = 0xE0, 0xE1, 0xE2, 0xEE, 0xEF, 0xFE
_MPF = b"MPF\x00"
_ICC = b"ICC_PROFILE\x00"
_MP_ENTRY_TAG = 0xB002


@dataclass
class _Jpeg:
    """One image, cleaned: its bytes, where it ended in the input, and where its
    MPF segment's payload sits in `out` (-1: none)."""

    out: bytearray
    end: int
    changed: bool
    mpf_at: int = -1
    mpf_in: int = -1  # the same payload's place in the input


def _jpeg_invalid() -> InvalidArgument:
    return InvalidArgument.field("media_id", "the JPEG structure is invalid")


def _entropy_end(data: bytes, pos: int) -> int:
    """Where entropy-coded data starting at `pos` ends: the next marker that is
    neither a stuffed 0xFF00 nor a restart marker."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            return len(data)
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1 if following == 0xFF else 2
            continue
        return pos


def _clean_jpeg_image(data: bytes, start: int) -> _Jpeg:
    """The image whose SOI is at `start`, up to and including its EOI (or the
    end of the data), with GPS removed from its EXIF and its XMP dropped."""
    if data[start:start + 2] != b"\xff\xd8":
        raise _jpeg_invalid()
    image = _Jpeg(bytearray(data[start:start + 2]), len(data), False)
    pos = start + 2
    while pos + 2 <= len(data):
        if data[pos] != 0xFF:
            raise _jpeg_invalid()
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == _EOI:
            image.out += data[pos:pos + 2]
            image.end = pos + 2
            return image
        if marker in (0x01, _SOI) or 0xD0 <= marker <= 0xD7:  # no length
            image.out += data[pos:pos + 2]
            pos += 2
            continue
        if pos + 4 > len(data):
            raise _jpeg_invalid()
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if length < 2 or pos + 2 + length > len(data):
            raise _jpeg_invalid()
        segment = data[pos:pos + 2 + length]
        payload_at = pos + 4
        pos += 2 + length
        if marker == _SOS:  # a scan: its header, then entropy-coded data
            scan_end = _entropy_end(data, pos)
            image.out += segment + data[pos:scan_end]
            pos = scan_end
        else:
            _append_segment(image, marker, segment, payload_at)
    image.end = len(data)  # no EOI: the image runs to the end
    return image


def _append_segment(image: _Jpeg, marker: int, segment: bytes, payload_at: int) -> None:
    """Adds a marker segment (not a scan) to the image if it is one the module
    keeps (EXIF without GPS), and notes where an MPF index lands
    (`payload_at`: its payload's place in the input)."""
    payload = segment[4:]
    if marker == _APP1 and payload.startswith(b"Exif\x00\x00"):
        cleaned = exif_without_gps(payload)
        if cleaned is not None:
            image.changed = True
            segment = b"\xff\xe1" + (len(cleaned) + 2).to_bytes(2, "big") + cleaned
    elif marker == _APP2 and payload.startswith(_MPF) and image.mpf_at < 0:
        image.mpf_at, image.mpf_in = len(image.out) + 4, payload_at
    elif not _keeps_segment(marker, payload):
        image.changed = True
        return
    image.out += segment


def _keeps_segment(marker: int, payload: bytes) -> bool:
    """Coding segments, JFIF, ICC profiles, the MPF index and Adobe's colour
    transform; no other application segment and no comment."""
    if marker == _COM:
        return False
    if not _APP0 <= marker <= _APP15:
        return True
    return marker in (_APP0, _APP14) or \
        (marker == _APP2 and payload.startswith((_ICC, _MPF)))


def _mp_entries(app2: bytes) -> tuple[str, int, int] | None:
    """(byte order, offset of the MP entries from the TIFF header, their count)
    in an MPF segment's payload, or None when it has no usable index."""
    tiff = app2[len(_MPF):]
    if tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack(order + "I", tiff[4:8])
        (count,) = struct.unpack(order + "H", tiff[ifd:ifd + 2])
        for i in range(count):
            tag, _kind, length, value = struct.unpack(
                order + "HHII", tiff[ifd + 2 + 12 * i:ifd + 14 + 12 * i])
            if tag == _MP_ENTRY_TAG and length % 16 == 0 and value + length <= len(tiff):
                return order, value, length // 16
    except struct.error:
        return None
    return None


def _strip_jpeg(data: bytes) -> bytes | None:
    first = _clean_jpeg_image(data, 0)
    images, index = [first], None
    if first.mpf_at >= 0:
        segment_len = int.from_bytes(first.out[first.mpf_at - 2:first.mpf_at], "big")
        index = _mp_entries(bytes(first.out[first.mpf_at:first.mpf_at + segment_len - 2]))
    # Where the MPF TIFF header was in the input: offsets count from there.
    base_in = first.mpf_in + len(_MPF)
    if index:
        order, at, count = index
        tiff_out = first.mpf_at + len(_MPF)
        for n in range(1, count):
            entry = tiff_out + at + 16 * n
            _attr, _size, offset = struct.unpack(order + "III", first.out[entry:entry + 12])
            if not offset or base_in + offset >= len(data):
                raise _jpeg_invalid()
            images.append(_clean_jpeg_image(data, base_in + offset))
    out = bytearray().join(image.out for image in images)
    if index:
        order, at, count = index
        tiff_out = first.mpf_at + len(_MPF)
        place = 0
        for n, image in enumerate(images):
            entry = tiff_out + at + 16 * n
            offset = 0 if n == 0 else place - tiff_out
            out[entry + 4:entry + 12] = struct.pack(order + "II", len(image.out), offset)
            place += len(image.out)
    changed = any(image.changed for image in images) or len(out) != len(data)
    return bytes(out) if changed else None


# PNG -------------------------------------------------------------------------------

def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))


def _strip_png(data: bytes) -> bytes | None:
    out, pos, changed = [data[:8]], 8, False
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        chunk = data[pos:pos + 12 + length]
        payload = chunk[8:8 + length]
        if kind == b"eXIf":
            cleaned = exif_without_gps(payload)
            if cleaned is not None:
                changed = True
                chunk = _png_chunk(kind, cleaned[6:])  # PNG stores bare TIFF
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            changed = True
            chunk = b""
        out.append(chunk)
        pos += 12 + length
        if kind == b"IEND":
            break
    return b"".join(out) if changed else None


# WebP ------------------------------------------------------------------------------

def _strip_webp(data: bytes) -> bytes | None:
    chunks: list[tuple[bytes, bytes]] = []
    pos, changed = 12, False
    while pos + 8 <= len(data):
        kind = data[pos:pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4:pos + 8])
        payload = data[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)
        if kind == b"EXIF":
            cleaned = exif_without_gps(payload)
            if cleaned is not None:
                changed = True
                payload = cleaned if payload.startswith(b"Exif") else cleaned[6:]
        elif kind == b"XMP ":
            changed = True
            continue
        chunks.append((kind, payload))
    if not changed:
        return None
    has_xmp = any(k == b"XMP " for k, _ in chunks)
    body = b"WEBP"
    for kind, chunk in chunks:
        payload = chunk
        if kind == b"VP8X" and chunk and not has_xmp:
            payload = bytes([chunk[0] & ~0x04]) + chunk[1:]  # the XMP flag
        body += kind + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# GIF -------------------------------------------------------------------------------

_GIF_EXTENSION, _GIF_IMAGE, _GIF_TRAILER = 0x21, 0x2C, 0x3B
_GIF_PLAIN_TEXT, _GIF_GRAPHIC_CONTROL, _GIF_COMMENT, _GIF_APPLICATION = 0x01, 0xF9, 0xFE, 0xFF
# Application extensions that change how the image plays or looks.
_GIF_KEPT_APPLICATIONS = (b"NETSCAPE2.0", b"ANIMEXTS1.0", b"ICCRGBG1012")


def _gif_invalid() -> InvalidArgument:
    return InvalidArgument.field("media_id", "the GIF structure is invalid")


def _gif_sub_blocks(data: bytes, pos: int) -> int:
    """Where the sub-blocks starting at `pos` end (past their terminator). XMP's
    raw packet with its "magic trailer" parses as sub-blocks too, by design."""
    while True:
        if pos >= len(data):
            raise _gif_invalid()
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos


def _gif_colour_table(flags: int) -> int:
    return 3 * (2 << (flags & 0x07)) if flags & 0x80 else 0


def _strip_gif(data: bytes) -> bytes | None:
    if len(data) < 13:
        raise _gif_invalid()
    head = 13 + _gif_colour_table(data[10])
    out, pos, changed = [data[:head]], head, False
    while True:
        if pos >= len(data):
            raise _gif_invalid()
        kind = data[pos]
        if kind == _GIF_TRAILER:
            out.append(data[pos:pos + 1])
            changed = changed or pos + 1 != len(data)  # nothing may hide after it
            break
        if kind == _GIF_IMAGE:
            if pos + 10 > len(data):
                raise _gif_invalid()
            start = pos + 10 + _gif_colour_table(data[pos + 9]) + 1  # + LZW code size
            end = _gif_sub_blocks(data, start)
            out.append(data[pos:end])
        elif kind == _GIF_EXTENSION and pos + 2 <= len(data):
            label, end = data[pos + 1], _gif_sub_blocks(data, pos + 2)
            first = data[pos + 3:pos + 3 + data[pos + 2]]
            if label in (_GIF_GRAPHIC_CONTROL, _GIF_PLAIN_TEXT) or (
                    label == _GIF_APPLICATION and first in _GIF_KEPT_APPLICATIONS):
                out.append(data[pos:end])
            else:
                changed = True
        else:
            raise _gif_invalid()
        pos = end
    return b"".join(out) if changed else None

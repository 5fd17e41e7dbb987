"""Media rules: supported types and their limits, type sniffing from bytes, object
keys. Plain Python, no gRPC, S3 or driver imports."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from enum import IntEnum

from services.shared.errors import InvalidArgument, Validator

MIB = 1024 * 1024


class MediaType(IntEnum):
    """The same numbers as twitter.media.v1.MediaType."""

    JPEG = 1
    PNG = 2
    GIF = 3
    WEBP = 4
    MP4 = 5

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self]

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self]

    @property
    def is_image(self) -> bool:
        return self is not MediaType.MP4

    @property
    def max_bytes(self) -> int:
        return 512 * MIB if self is MediaType.MP4 else 5 * MIB


class MediaState(IntEnum):
    """The same numbers as twitter.media.v1.MediaState."""

    PENDING_UPLOAD = 1
    READY = 2
    REJECTED = 3


_CONTENT_TYPES = {MediaType.JPEG: "image/jpeg", MediaType.PNG: "image/png",
                  MediaType.GIF: "image/gif", MediaType.WEBP: "image/webp",
                  MediaType.MP4: "video/mp4"}
_BY_CONTENT_TYPE = {v: k for k, v in _CONTENT_TYPES.items()}
_EXTENSIONS = {MediaType.JPEG: "jpg", MediaType.PNG: "png", MediaType.GIF: "gif",
               MediaType.WEBP: "webp", MediaType.MP4: "mp4"}

# How many leading bytes `sniff` needs.
SNIFF_BYTES = 64
BOX_HEADER_BYTES = 8  # an ISO-BMFF box: 32-bit size, then its 4-byte type
# ISO base media brands that browsers play as MP4 (H.264/AAC and friends).
MP4_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1",
               b"M4V ", b"M4A ", b"dash", b"msnv", b"3gp4", b"3gp5", b"mmp4"}


@dataclass(frozen=True)
class MediaRecord:
    media_id: int
    owner_id: int
    media_type: MediaType
    state: MediaState
    size_bytes: int
    object_key: str
    created_at: datetime
    width: int = 0
    height: int = 0
    rejection_reason: str = ""

    def visible_to(self, caller: int) -> bool:
        """Only the owner reads media by id. Everyone else sees it through the
        live tweets it is attached to (their views carry the download URL), so a
        media id alone, attached or not, shows nothing."""
        return self.owner_id == caller

    def ready(self, *, size_bytes: int, width: int, height: int) -> MediaRecord:
        return replace(self, state=MediaState.READY, size_bytes=size_bytes, width=width,
                       height=height)

    def rejected(self, reason: str) -> MediaRecord:
        return replace(self, state=MediaState.REJECTED, rejection_reason=reason)


@dataclass(frozen=True)
class Inspection:
    """What validating an uploaded image found."""

    width: int
    height: int
    # The bytes to store instead of the upload (location metadata removed), or
    # None when the upload is fine as it is.
    cleaned: bytes | None = None


def new_media_id() -> int:
    """A random positive 63-bit id: unlike a snowflake (time, worker, sequence)
    it cannot be guessed from another id or the time of an upload."""
    while True:
        media_id = secrets.randbits(63)
        if media_id:
            return media_id


def parse_declared(content_type: str, size_bytes: int) -> MediaType:
    """The media type of a CreateUpload request; INVALID_ARGUMENT for an
    unsupported type or a size outside its limit."""
    v = Validator()
    media_type = _BY_CONTENT_TYPE.get(content_type.strip().lower())
    v.check(media_type is not None, "content_type",
            f"must be one of {', '.join(sorted(_BY_CONTENT_TYPE))}")
    v.check(size_bytes > 0, "size_bytes", "must be positive")
    if media_type is not None and size_bytes > media_type.max_bytes:
        v.check(False, "size_bytes",
                f"{media_type.content_type} files are limited to"
                f" {media_type.max_bytes // MIB} MiB")
    v.raise_if_any()
    assert media_type is not None
    return media_type


def sniff(head: bytes) -> MediaType | None:
    """The type of a file from its first bytes (magic numbers), never its name."""
    if head.startswith(b"\xff\xd8\xff"):
        return MediaType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaType.PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return MediaType.GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaType.WEBP
    # MP4: the first box is `ftyp` with a major brand we accept.
    if head[4:8] == b"ftyp" and int.from_bytes(head[:4], "big") >= BOX_HEADER_BYTES \
            and head[8:12] in MP4_BRANDS:
        return MediaType.MP4
    return None


def check_upload(declared: MediaType, declared_size: int, actual_size: int,
                 head: bytes) -> None:
    """INVALID_ARGUMENT when the uploaded bytes are not what CreateUpload declared."""
    if actual_size != declared_size:
        raise InvalidArgument.field(
            "media_id", f"the upload has {actual_size} bytes, {declared_size} were declared")
    if actual_size > declared.max_bytes:  # the declared size was checked; belt and braces
        raise InvalidArgument.field("media_id", "the upload is over the size limit")
    found = sniff(head)
    if found is None:
        raise InvalidArgument.field(
            "media_id", f"the upload is not a {declared.content_type} file (its content is"
                        " not a supported image or video)")
    if found is not declared:
        raise InvalidArgument.field(
            "media_id", f"the upload is {found.content_type}, {declared.content_type} was"
                        " declared")


MEDIA_PREFIX = "media/"
# Clients upload here, once (the presigned PUT carries `If-None-Match: *`);
# CompleteUpload stores the bytes it validated at the media key and leaves an
# empty object here, so the upload URL can write neither place again.
STAGING_PREFIX = "uploads/"


def object_key(owner_id: int, media_id: int, media_type: MediaType, created_at: datetime) -> str:
    """`media/<owner>/<yyyy>/<mm>/<media id>.<ext>`: the owner spreads keys over
    S3 partitions and makes a user's objects easy to find (export, deletion);
    the month keeps listings and lifecycle rules by age cheap; the random id
    is the unique part, and makes the key (a CDN URL) unguessable."""
    return (f"{MEDIA_PREFIX}{owner_id}/{created_at:%Y}/{created_at:%m}/{media_id}"
            f".{media_type.extension}")


def staging_key(key: str) -> str:
    """Where the client uploads the bytes of the media stored at `key`."""
    return STAGING_PREFIX + key.removeprefix(MEDIA_PREFIX)

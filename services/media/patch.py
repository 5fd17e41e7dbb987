"""Writing a few byte ranges over a large stored object without moving it
through the service: the plan of a multipart copy whose clean stretches are
server-side copies (UploadPartCopy) and whose patched stretches are uploaded.
S3 wants every part but the last to be at least 5 MiB, so a patched part is
widened to that with the clean bytes around it. Plain Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MIN_PART_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Patch:
    """Bytes to write over the object at `offset` (as many as they replace)."""

    offset: int
    data: bytes

    @property
    def end(self) -> int:
        return self.offset + len(self.data)


@dataclass(frozen=True)
class Part:
    start: int
    end: int
    copy: bool  # True: copied server-side as is; False: read, patched, uploaded


def plan_parts(size: int, patches: Sequence[Patch],
               min_part: int = MIN_PART_BYTES) -> list[Part]:
    """Parts tiling [0, size): every patch inside an uploaded part, every part
    but the last at least `min_part` long. `patches` sorted, not overlapping."""
    parts: list[Part] = []
    pos, pending = 0, sorted(patches, key=lambda p: p.offset)
    while pos < size:
        pending = [p for p in pending if p.end > pos]
        if not pending:
            parts.append(Part(pos, size, copy=True))
            break
        nearest = pending[0].offset
        if nearest - pos >= min_part:
            parts.append(Part(pos, nearest, copy=True))
            pos = nearest
            continue
        end = min(size, max(pending[0].end, pos + min_part))
        for p in pending:  # a patch the cut would split goes wholly into this part
            if p.offset < end < p.end:
                end = p.end
        parts.append(Part(pos, end, copy=False))
        pos = end
    return parts


def apply(data: bytearray, start: int, patches: Sequence[Patch]) -> bytearray:
    """`data` (the object's bytes from `start`) with the patches that fall in it."""
    for p in patches:
        lo, hi = max(p.offset, start), min(p.end, start + len(data))
        if lo < hi:
            data[lo - start:hi - start] = p.data[lo - p.offset:hi - p.offset]
    return data

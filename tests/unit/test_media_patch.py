"""The plan of a patched multipart copy (services/media/patch.py)."""

from __future__ import annotations

from itertools import pairwise

import pytest

from services.media.patch import Part, Patch, apply, plan_parts

MIN = 10


def check(size: int, patches: list[Patch]) -> list[Part]:
    parts = plan_parts(size, patches, min_part=MIN)
    assert parts[0].start == 0
    assert parts[-1].end == size
    assert all(a.end == b.start for a, b in pairwise(parts))
    assert all(p.end - p.start >= MIN for p in parts[:-1])
    for patch in patches:  # wholly inside one uploaded part
        assert any(not p.copy and p.start <= patch.offset and patch.end <= p.end for p in parts)
    return parts


@pytest.mark.parametrize(("size", "where"), [
    (100, [(2, 3)]),  # near the start (moov first)
    (100, [(95, 5)]),  # at the very end (moov last)
    (100, [(50, 4)]),  # in the middle
    (100, [(2, 3), (8, 4), (40, 2), (97, 3)]),  # several, one straddling a cut
    (12, [(0, 12)]),  # all of it
    (100, [(5, 30)]),  # longer than a part
])
def test_parts_tile_the_object_and_hold_every_patch(size: int,
                                                    where: list[tuple[int, int]]) -> None:
    check(size, [Patch(at, b"x" * n) for at, n in where])


def test_clean_stretches_are_copied_server_side() -> None:
    parts = check(100, [Patch(50, b"xx")])
    assert parts == [Part(0, 50, True), Part(50, 60, False), Part(60, 100, True)]


def test_apply_writes_only_the_overlap() -> None:
    data = bytearray(b"0123456789")  # the object's bytes 5 to 14
    patched = apply(data, 5, [Patch(3, b"abcd"), Patch(9, b"zz"), Patch(20, b"q")])
    assert patched == bytearray(b"cd23zz6789")

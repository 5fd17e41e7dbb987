"""GPS is removed from every image of a Multi-Picture Format JPEG, and bytes
after the last indexed image are dropped (issue 22, finding 5)."""

from __future__ import annotations

import io

from PIL import Image

from services.media import images
from services.media.domain import MediaType
from tests.support.mpo import frames_gps, jpeg_with_exif, mpo_with_gps_in_second_image


def test_gps_in_the_second_image_is_removed_and_the_index_rewritten() -> None:
    trailer = jpeg_with_exif(8, 8, (0, 0, 200), gps=True)
    data = mpo_with_gps_in_second_image(trailer)
    assert frames_gps(data) == [False, True]
    found = images.inspect(data, MediaType.JPEG)
    assert (found.width, found.height) == (32, 24)
    assert found.cleaned is not None
    assert frames_gps(found.cleaned) == [False, False]
    with Image.open(io.BytesIO(found.cleaned)) as img:
        entries = img.mpinfo[0xB002]  # type: ignore[attr-defined]
        assert sum(e["Size"] for e in entries) == len(found.cleaned)  # no trailing bytes
        sizes = []
        for n in range(2):
            img.seek(n)
            img.load()  # decodes: the offsets point at whole images
            sizes.append(img.size)
            assert img.getexif()[0x010F] == "TestCam"  # the rest of EXIF stays
    assert sizes == [(32, 24), (16, 12)]


def test_bytes_after_a_plain_jpeg_are_dropped() -> None:
    plain = jpeg_with_exif(16, 16, (9, 9, 9), gps=False)
    hidden = jpeg_with_exif(8, 8, (0, 0, 200), gps=True)
    found = images.inspect(plain + hidden, MediaType.JPEG)
    assert found.cleaned == plain


def test_a_clean_jpeg_is_left_alone() -> None:
    plain = jpeg_with_exif(16, 16, (9, 9, 9), gps=False)
    assert images.inspect(plain, MediaType.JPEG).cleaned is None

"""Startup objects out of the collector's sight (services/shared/concurrency/long_lived.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from services.shared.concurrency.long_lived import freeze_startup_objects


@pytest.fixture
def unfreeze() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfreeze")
def test_what_startup_built_is_frozen_and_its_garbage_collected_first() -> None:
    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle only the collector can free
    survivor = [Node() for _ in range(100)]
    del a, b
    frozen_before = gc.get_freeze_count()
    freeze_startup_objects()
    assert gc.get_freeze_count() >= frozen_before + len(survivor)
    # The cycle was collected before the freeze, so it is not kept for ever.
    assert not any(isinstance(o, Node) and o not in survivor for o in gc.get_objects())
    # A full collection no longer walks them.
    assert not any(o is survivor for o in gc.get_objects())

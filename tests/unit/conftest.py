"""The unit layer's shared setup: nothing here needs the stack."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import structlog

from services.shared.observability.logging import processors


@pytest.fixture(autouse=True)
def plain_logs() -> Iterator[None]:
    """Logs rendered as the services render them (JSON), into a buffer. Left
    unconfigured, structlog pretty-prints every logged exception with rich, a
    couple of seconds each: the fallbacks the unit tests drive log plenty."""
    saved = structlog.get_config()
    structlog.configure(processors=processors(json=True),
                        logger_factory=structlog.PrintLoggerFactory(io.StringIO()),
                        cache_logger_on_first_use=False)
    yield
    structlog.configure(**saved)

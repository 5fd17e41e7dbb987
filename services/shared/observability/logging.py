"""Structured logging: JSON lines with the request id, method and caller bound per call,
and the trace and span ids of the span the line was written in (so a log line
leads to its trace in the trace backend).

Logs never carry secrets: tracebacks are rendered without frame locals (a
login's locals hold the password, a DM's its text), and every event goes
through `scrub`, which masks values under sensitive keys and anything shaped
like a bearer token or a JWT wherever it appears.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer

from services.shared.observability.telemetry import current_ids

REDACTED = "[REDACTED]"

# Key names (lower-cased) whose values are masked whatever they hold:
# credentials, and the content of messages and tweets.
_SENSITIVE_PARTS = ("password", "passwd", "secret", "token", "authorization", "cookie",
                    "api_key", "apikey", "private_key", "dsn")
_SENSITIVE_KEYS = frozenset({"content", "text", "body", "plaintext", "ciphertext", "message_text",
                             "new_password", "credentials", "key"})
# Secrets recognisable by shape, wherever they appear (exception messages too).
_PATTERNS = (
    re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),  # a JWT
    re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),  # an Authorization value
)


def _sensitive(key: str) -> bool:
    k = key.lower()
    return k in _SENSITIVE_KEYS or any(part in k for part in _SENSITIVE_PARTS)


def _scrub_text(value: str) -> str:
    for pattern in _PATTERNS:
        value = pattern.sub(REDACTED, value)
    return value


def _scrub_value(value: Any, depth: int = 0) -> Any:
    if depth > 8:  # nested beyond anything we log: drop rather than walk on
        return REDACTED
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, bytes):
        return REDACTED  # raw bytes in a log line are a payload, not a diagnosis
    if isinstance(value, Mapping):
        return {k: (REDACTED if isinstance(k, str) and _sensitive(k)
                    else _scrub_value(v, depth + 1)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(v, depth + 1) for v in value]
    return value


def scrub(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: masks secrets in the event (after exceptions are
    rendered, so their messages are covered too)."""
    for key, value in list(event.items()):
        event[key] = REDACTED if _sensitive(key) else _scrub_value(value)
    return event


def add_trace_ids(_logger: Any, _method: str,
                  event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: trace_id and span_id of the current span, if sampled."""
    ids = current_ids()
    if ids is not None:
        event["trace_id"], event["span_id"] = ids
    return event


def processors(*, json: bool = True) -> list[structlog.types.Processor]:
    """The chain every service logs through (exported for tests)."""
    exceptions: structlog.types.Processor = (
        # Frames without their locals: file, line and function are enough.
        structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
        if json else structlog.processors.format_exc_info)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback))
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        add_trace_ids,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        exceptions,
        scrub,
        renderer,
    ]


def configure_logging(service_name: str, level: str = "INFO", *, json: bool = True,
                      stream: TextIO | None = None) -> None:
    structlog.configure(
        processors=processors(json=json),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service_name)
    # Libraries log through the standard library; keep them quiet unless they warn.
    logging.basicConfig(stream=stream or sys.stdout, level=logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]

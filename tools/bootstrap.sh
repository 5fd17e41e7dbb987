#!/usr/bin/env bash
# Installs the pinned uv if missing, then syncs .venv with uv.lock (a no-op in
# well under a second when nothing changed).
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
if ! python3 -m uv --version 2>/dev/null | grep -q "uv ${UV_VERSION}"; then
  python3 -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}"
fi
python3 -m uv sync --frozen --quiet
# xds-protos ships an older copy of opentelemetry/proto/common/v1/common_pb2.py
# than opentelemetry-proto; uv installs in parallel, so either may land last.
# The services' OTLP exporter needs opentelemetry-proto's (InstrumentationScope).
if ! .venv/bin/python -c 'from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope' 2>/dev/null; then
  python3 -m uv sync --frozen --quiet --reinstall-package opentelemetry-proto
fi

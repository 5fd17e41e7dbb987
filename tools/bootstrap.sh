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
# Bytecode. This machine and the image run with PYTHONDONTWRITEBYTECODE=1, so
# without compiled files every process start compiles each module it imports:
# 1.1-1.9 s of CPU more for each service's start (docs/CAPACITY.md). uv
# compiles the whole environment (~7 s), so only once per lock; the project's
# own code every time (compileall skips current files).
stamp=".venv/.bytecode-$(sha256sum uv.lock | cut -c1-16)"
if [[ ! -e "$stamp" ]]; then
  python3 -m uv sync --frozen --quiet --compile-bytecode
  rm -f .venv/.bytecode-*
  touch "$stamp"
fi
.venv/bin/python -m compileall -qq -j0 services generated stack edge

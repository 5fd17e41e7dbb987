#!/usr/bin/env bash
# Run the Envoy edge in the foreground (supervisord manages it). edge.render writes the
# configuration from the same environment the services read (ports, *_ADDR, ...).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
: "${STACK_DIR:?STACK_DIR must be set (absolute)}"
CONFIG="$STACK_DIR/envoy/envoy.yaml"
mkdir -p "$(dirname "$CONFIG")"
cd "$REPO"
"$REPO/.venv/bin/python" -m edge.render "$CONFIG"
# Hot restart is never used under supervisord, and its shared-memory domain socket
# would clash with a second Envoy on this machine (e.g. one a test starts).
# One worker thread (EDGE_CONCURRENCY), not one per core: here Envoy shares the
# cores with every single-threaded service it calls, and a second worker only
# contends with them. Measured on 2 cores (docs/CAPACITY.md, fourth pass): the
# trivial edge read 1,260 -> 2,243 req/s; home pages and the mix unchanged.
# A pod has its cores to itself and sets its own (k8s/base/edge.yaml).
exec "$REPO/.venv/bin/envoy" -c "$CONFIG" --log-level warn --disable-hot-restart \
  --concurrency "${EDGE_CONCURRENCY:-1}"

#!/usr/bin/env bash
# Run Jaeger (all in one, traces in memory) in the FOREGROUND for supervisord.
# Binary from stack/install/jaeger.sh. Every address is on 127.0.0.1, every
# port from the stack's topology (stack/topology.py):
#   OTLP_GRPC_PORT, OTLP_HTTP_PORT  where services and Envoy send spans (OTLP)
#   JAEGER_UI_PORT                  query API and UI (HTTP)
#   JAEGER_GRPC_PORT                query API (gRPC)
#   JAEGER_ADMIN_PORT               health check (/status)
#   JAEGER_METRICS_PORT             Jaeger's own Prometheus metrics
#   JAEGER_MAX_TRACES               traces kept in memory (default 20000: a few
#                                   minutes of a test run at full sampling)
#   JAEGER_MEMORY_LIMIT             the Go runtime's soft memory limit (GOMEMLIMIT,
#                                   default 192MiB): past it Jaeger collects garbage
#                                   harder instead of growing (its heap was 225 MiB
#                                   after a full `make test` with 50000 traces)
#   JAEGER_UI_ASSETS                a built Jaeger UI (its build/ directory) to serve;
#                                   the module ships only a placeholder page, and no
#                                   registry here serves the UI built
set -euo pipefail
: "${STACK_DIR:?STACK_DIR must be set (absolute)}"
TWITTER_CACHE="${TWITTER_CACHE:-$HOME/.cache/twitter-mesh}"
BIN="$TWITTER_CACHE/bin/jaeger"
if [[ ! -x "$BIN" ]]; then
    echo "run/jaeger: $BIN not found; run stack/install/jaeger.sh first" >&2
    exit 1
fi
for var in OTLP_GRPC_PORT OTLP_HTTP_PORT JAEGER_UI_PORT JAEGER_GRPC_PORT JAEGER_ADMIN_PORT \
        JAEGER_METRICS_PORT; do
    : "${!var:?$var must be set}"
done
UI=""
if [[ -n "${JAEGER_UI_ASSETS:-}" ]]; then
    UI="    ui:
      assets_path: $JAEGER_UI_ASSETS"
fi
CONFIG="$STACK_DIR/jaeger/config.yaml"
mkdir -p "$(dirname "$CONFIG")"
cat > "$CONFIG" <<YAML
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: basic
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: $JAEGER_METRICS_PORT
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:$JAEGER_ADMIN_PORT
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:$JAEGER_UI_PORT
    grpc:
      endpoint: 127.0.0.1:$JAEGER_GRPC_PORT
$UI
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: ${JAEGER_MAX_TRACES:-20000}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$OTLP_GRPC_PORT
      http:
        endpoint: 127.0.0.1:$OTLP_HTTP_PORT
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
YAML
GOMEMLIMIT="${JAEGER_MEMORY_LIMIT:-192MiB}" exec "$BIN" --config "$CONFIG"

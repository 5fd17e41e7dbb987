#!/usr/bin/env bash
# Run a local single-node, single-drive MinIO (S3) server in the FOREGROUND (for supervisord).
# Binary comes from stack/install/minio.sh ($TWITTER_CACHE/bin/minio).
#
# Env (ports required: the stack passes them from services/shared/ports.py; the rest optional):
#   STACK_DIR           data root; objects live in $STACK_DIR/minio            (default: <repo>/.stack)
#   MINIO_PORT          S3 API port on 127.0.0.1
#   MINIO_CONSOLE_PORT  web console port on 127.0.0.1
#   MINIO_BROWSER       "on" to serve the web console, "off" to skip it         (default: off)
#   S3_ACCESS_KEY       -> MINIO_ROOT_USER     (>= 3 chars)                     (default: twitter-local)
#   S3_SECRET_KEY       -> MINIO_ROOT_PASSWORD (>= 8 chars)                     (default: twitter-local-secret)
#   S3_REGION           -> MINIO_SITE_REGION                                    (default: us-east-1)
#   TWITTER_CACHE       install cache holding bin/minio                         (default: ~/.cache/twitter-mesh)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TWITTER_CACHE="${TWITTER_CACHE:-$HOME/.cache/twitter-mesh}"
STACK_DIR="${STACK_DIR:-$REPO/.stack}"
MINIO_PORT="${MINIO_PORT:?set by the stack (services/shared/ports.py)}"
MINIO_CONSOLE_PORT="${MINIO_CONSOLE_PORT:?set by the stack (services/shared/ports.py)}"

case "$STACK_DIR" in /*) ;; *) STACK_DIR="$(pwd)/$STACK_DIR" ;; esac

MINIO_BIN="$TWITTER_CACHE/bin/minio"
if [[ ! -x "$MINIO_BIN" ]]; then
    echo "run/minio: $MINIO_BIN not found; run stack/install/minio.sh first" >&2
    exit 1
fi

DATA_DIR="$STACK_DIR/minio"
mkdir -p "$DATA_DIR"

export MINIO_ROOT_USER="${S3_ACCESS_KEY:-twitter-local}"
export MINIO_ROOT_PASSWORD="${S3_SECRET_KEY:-twitter-local-secret}"
export MINIO_SITE_REGION="${S3_REGION:-us-east-1}"

# Offline / quiet local dev: no update checks, no call-home, console off unless asked for.
export MINIO_UPDATE=off
export MINIO_CALLHOME_ENABLE=off
export MINIO_BROWSER="${MINIO_BROWSER:-off}"
# Let the local stack scrape /minio/v2/metrics/* without a bearer token.
export MINIO_PROMETHEUS_AUTH_TYPE="${MINIO_PROMETHEUS_AUTH_TYPE:-public}"
# Keep MinIO's certs dir out of $HOME (~/.minio/certs); no TLS is configured, it stays empty.
CERTS_DIR="$STACK_DIR/minio-certs"
mkdir -p "$CERTS_DIR"

exec "$MINIO_BIN" server \
    --certs-dir "$CERTS_DIR" \
    --address "127.0.0.1:$MINIO_PORT" \
    --console-address "127.0.0.1:$MINIO_CONSOLE_PORT" \
    "$DATA_DIR"

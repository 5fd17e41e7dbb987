#!/usr/bin/env bash
# Install a pinned Jaeger (v2: the OpenTelemetry Collector with Jaeger's storage
# and query extensions, one binary), built from the Go module proxy (no release
# download is reachable here). The stack's trace backend.
#
# Result: $TWITTER_CACHE/bin/jaeger-<version>  (the real binary)
#         $TWITTER_CACHE/bin/jaeger            (symlink to it)
# Idempotent: if the pinned binary already exists, only the symlink is (re)checked.
# The module carries no built UI (its assets are a placeholder page): traces are
# read through the query API (`make trace`), which is what the tests use.
set -euo pipefail
source "$(dirname "$0")/go_binary.sh"

JAEGER_VERSION="v1.76.0"
JAEGER_PACKAGE="github.com/jaegertracing/jaeger/cmd/jaeger"

go_binary_begin jaeger "$JAEGER_VERSION"
echo "jaeger install: building $JAEGER_PACKAGE@$JAEGER_VERSION (takes several minutes)..." >&2
# Jaeger's go.mod has replace directives, so `go install pkg@version` refuses
# it: build it as a tool of a scratch module instead (its requirements resolve
# the same way every time from Jaeger's own go.mod).
(
    cd "$TMP_BIN"
    "$GO" mod init twitter-mesh/jaeger-build >/dev/null 2>&1
    "$GO" get -tool "$JAEGER_PACKAGE@$JAEGER_VERSION"
    "$GO" build -trimpath -o "$TMP_BIN/jaeger" "$JAEGER_PACKAGE"
)
go_binary_finish jaeger "$JAEGER_VERSION"

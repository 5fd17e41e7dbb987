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

JAEGER_VERSION="v1.76.0"
JAEGER_PACKAGE="github.com/jaegertracing/jaeger/cmd/jaeger"

CACHE="${TWITTER_CACHE:-$HOME/.cache/twitter-mesh}"
BIN_DIR="$CACHE/bin"
TARGET="$BIN_DIR/jaeger-$JAEGER_VERSION"
LINK="$BIN_DIR/jaeger"

ensure_link() {
    if [[ "$(readlink "$LINK" 2>/dev/null || true)" != "jaeger-$JAEGER_VERSION" ]]; then
        ln -sfn "jaeger-$JAEGER_VERSION" "$LINK"
    fi
}

if [[ -x "$TARGET" ]]; then
    ensure_link
    exit 0
fi

GO="${GO:-}"
if [[ -z "$GO" ]]; then
    if command -v go >/dev/null 2>&1; then
        GO="$(command -v go)"
    elif [[ -x /usr/local/go/bin/go ]]; then
        GO=/usr/local/go/bin/go
    else
        echo "jaeger install: Go toolchain not found (set GO=/path/to/go)" >&2
        exit 1
    fi
fi

mkdir -p "$BIN_DIR"
TMP_BIN="$(mktemp -d "$BIN_DIR/.jaeger-build.XXXXXX")"
trap 'rm -rf "$TMP_BIN"' EXIT

echo "jaeger install: building $JAEGER_PACKAGE@$JAEGER_VERSION (takes several minutes)..." >&2
# Jaeger's go.mod has replace directives, so `go install pkg@version` refuses
# it: build it as a tool of a scratch module instead (its requirements resolve
# the same way every time from Jaeger's own go.mod).
# Static pure-Go build; never fetch another toolchain; ignore stray GOFLAGS.
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
(
    cd "$TMP_BIN"
    "$GO" mod init twitter-mesh/jaeger-build >/dev/null 2>&1
    "$GO" get -tool "$JAEGER_PACKAGE@$JAEGER_VERSION"
    "$GO" build -trimpath -o "$TMP_BIN/jaeger" "$JAEGER_PACKAGE"
)

mv -f "$TMP_BIN/jaeger" "$TARGET"
ensure_link
echo "jaeger install: installed $TARGET" >&2

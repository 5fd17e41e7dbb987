#!/usr/bin/env bash
# Install a pinned MinIO server binary, built from source via the Go module proxy.
# (dl.min.io is not reachable here, so we `go install` instead of downloading a release.)
#
# Result: $TWITTER_CACHE/bin/minio-<version>  (the real binary)
#         $TWITTER_CACHE/bin/minio            (symlink to it)
# Idempotent: if the pinned binary already exists, only the symlink is (re)checked.
# The `mc` client is intentionally not installed; the project talks S3 via boto3.
set -euo pipefail

# MinIO publishes no semver tags on the proxy; releases resolve to pseudo-versions.
# Pinned to the resolved `github.com/minio/minio@latest` (commit 7aac2a2c5b7c, 2026-02-12).
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
MINIO_MODULE="github.com/minio/minio"

CACHE="${TWITTER_CACHE:-$HOME/.cache/twitter-mesh}"
BIN_DIR="$CACHE/bin"
TARGET="$BIN_DIR/minio-$MINIO_VERSION"
LINK="$BIN_DIR/minio"

ensure_link() {
    if [[ "$(readlink "$LINK" 2>/dev/null || true)" != "minio-$MINIO_VERSION" ]]; then
        ln -sfn "minio-$MINIO_VERSION" "$LINK"
    fi
}

# Fast path: pinned binary already built.
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
        echo "minio install: Go toolchain not found (set GO=/path/to/go)" >&2
        exit 1
    fi
fi

mkdir -p "$BIN_DIR"
# Build into a private temp GOBIN so a half-finished build never lands at $TARGET
# and so a plain `minio` from a previous build does not get clobbered mid-flight.
TMP_BIN="$(mktemp -d "$BIN_DIR/.minio-build.XXXXXX")"
trap 'rm -rf "$TMP_BIN"' EXIT

echo "minio install: building $MINIO_MODULE@$MINIO_VERSION (takes several minutes)..." >&2
# CGO_ENABLED=0: static pure-Go build, no C compiler needed.
# GOTOOLCHAIN=local: never try to download a different Go toolchain.
# GOFLAGS=-mod=mod: ignore any stray GOFLAGS (e.g. -mod=vendor) from the environment.
env GOBIN="$TMP_BIN" CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod \
    "$GO" install -trimpath "$MINIO_MODULE@$MINIO_VERSION"

mv -f "$TMP_BIN/minio" "$TARGET"
ensure_link
echo "minio install: installed $TARGET" >&2

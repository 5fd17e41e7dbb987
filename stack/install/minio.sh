#!/usr/bin/env bash
# Install a pinned MinIO server binary, built from source via the Go module proxy.
# (dl.min.io is not reachable here, so we `go install` instead of downloading a release.)
#
# Result: $TWITTER_CACHE/bin/minio-<version>  (the real binary)
#         $TWITTER_CACHE/bin/minio            (symlink to it)
# Idempotent: if the pinned binary already exists, only the symlink is (re)checked.
# The `mc` client is intentionally not installed; the project talks S3 via boto3.
set -euo pipefail
source "$(dirname "$0")/go_binary.sh"

# MinIO publishes no semver tags on the proxy; releases resolve to pseudo-versions.
# Pinned to the resolved `github.com/minio/minio@latest` (commit 7aac2a2c5b7c, 2026-02-12).
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
MINIO_MODULE="github.com/minio/minio"

go_binary_begin minio "$MINIO_VERSION"
echo "minio install: building $MINIO_MODULE@$MINIO_VERSION (takes several minutes)..." >&2
GOBIN="$TMP_BIN" "$GO" install -trimpath "$MINIO_MODULE@$MINIO_VERSION"
go_binary_finish minio "$MINIO_VERSION"

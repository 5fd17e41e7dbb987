#!/usr/bin/env bash
# Install a pinned grpcurl (the command-line gRPC client the README shows),
# built from the Go module proxy. tests/e2e/test_grpc_reflection.py describes
# every method with it.
#
# Result: $TWITTER_CACHE/bin/grpcurl-<version>  (the real binary)
#         $TWITTER_CACHE/bin/grpcurl            (symlink to it)
# Idempotent: if the pinned binary already exists, only the symlink is (re)checked.
set -euo pipefail
source "$(dirname "$0")/go_binary.sh"

GRPCURL_VERSION="v1.9.3"
GRPCURL_PACKAGE="github.com/fullstorydev/grpcurl/cmd/grpcurl"

go_binary_begin grpcurl "$GRPCURL_VERSION"
echo "grpcurl install: building $GRPCURL_PACKAGE@$GRPCURL_VERSION..." >&2
GOBIN="$TMP_BIN" "$GO" install -trimpath "$GRPCURL_PACKAGE@$GRPCURL_VERSION"
go_binary_finish grpcurl "$GRPCURL_VERSION"

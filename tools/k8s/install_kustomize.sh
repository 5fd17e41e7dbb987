#!/usr/bin/env bash
# Install a pinned kustomize, built from the Go module proxy, for tools/k8s/validate.py
# (`make lint` renders every overlay with it). A pinned build rather than the
# kustomize inside whatever kubectl a machine has: the same rendering everywhere.
#
# Result: $TWITTER_CACHE/bin/kustomize-<version>, and the symlink kustomize.
# Idempotent: with the pinned binary present it only checks the symlink.
set -euo pipefail
source "$(dirname "$0")/../../stack/install/go_binary.sh"

KUSTOMIZE_VERSION="v5.7.1"
KUSTOMIZE_PACKAGE="sigs.k8s.io/kustomize/kustomize/v5"

go_binary_begin kustomize "$KUSTOMIZE_VERSION"
echo "kustomize install: building $KUSTOMIZE_PACKAGE@$KUSTOMIZE_VERSION..." >&2
GOBIN="$TMP_BIN" "$GO" install -trimpath "$KUSTOMIZE_PACKAGE@$KUSTOMIZE_VERSION"
go_binary_finish kustomize "$KUSTOMIZE_VERSION"

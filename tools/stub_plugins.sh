#!/usr/bin/env bash
# Installs the pinned protoc plugins `buf generate` runs (buf.gen.yaml) and
# prints the directory holding them, for PATH:
# - protoc-gen-go and protoc-gen-go-grpc, built once with `go install` from the
#   Go module proxy into ~/.cache/twitter-mesh/bin (versioned names);
# - protoc-gen-ts_proto from npm (package.json, package-lock.json), installed
#   with `npm ci` into node_modules/ only when the lock file changed.
# Idempotent; a no-op in well under a second when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.0
CACHE_BIN="${TWITTER_CACHE:-$HOME/.cache/twitter-mesh}/bin"
PLUGINS=build/stub-plugins

go_plugin() {  # go_plugin NAME MODULE@VERSION
  local name=$1 target="$CACHE_BIN/$1-${2##*@}"
  if [ ! -x "$target" ]; then
    mkdir -p "$CACHE_BIN"
    local tmp
    tmp="$(mktemp -d)"
    GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "$2" >&2
    mv "$tmp/$name" "$target"
    rm -rf "$tmp"
  fi
  ln -sfn "$target" "$PLUGINS/$name"
}

mkdir -p "$PLUGINS"
go_plugin protoc-gen-go "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
go_plugin protoc-gen-go-grpc \
  "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"

# npm ci only when node_modules does not match the lock file.
if ! cmp -s package-lock.json node_modules/.twitter-mesh-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json node_modules/.twitter-mesh-lock
fi
ln -sfn "$PWD/node_modules/.bin/protoc-gen-ts_proto" "$PLUGINS/protoc-gen-ts_proto"
echo "$PWD/$PLUGINS"

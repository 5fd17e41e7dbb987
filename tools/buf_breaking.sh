#!/usr/bin/env bash
# `buf breaking` against the main branch. main's googleapis include folder is
# not in git (it comes from a wheel), so build main's image in a scratch copy
# that gets the local include folder, then compare the working tree with it.
set -euo pipefail
cd "$(dirname "$0")/.."
AGAINST=${1:-main}
if ! git cat-file -e "${AGAINST}:buf.yaml" 2>/dev/null; then
  echo "buf breaking: no buf.yaml on ${AGAINST}; nothing to compare" >&2
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$AGAINST" protos buf.yaml | tar -x -C "$tmp"
mkdir -p "$tmp/build" && cp -r build/proto-include "$tmp/build/"
(cd "$tmp" && "$OLDPWD/.venv/bin/buf" build -o image.binpb)
.venv/bin/buf build -o "$tmp/current.binpb"
.venv/bin/buf breaking "$tmp/current.binpb" --against "$tmp/image.binpb"

#!/usr/bin/env bash
# Build the twitter-mesh image without a container engine (the Containerfile's
# twin): a Debian root filesystem from mmdebstrap (Debian's python3.11, no
# build tools), the locked runtime dependencies and the project synced into
# /app/.venv by uv inside it, packed by umoci as an OCI image layout.
#
#   tools/image/build.sh [TAG]     (root: mmdebstrap and umoci need it)
#
# Result: build/image/oci (OCI layout, image twitter-mesh:TAG) and
#         build/image/bundle (the unpacked runtime bundle, for the smoke test).
# Needs: apt-get install mmdebstrap umoci. uv downloads the locked wheels into
# a cache inside the root filesystem, removed before packing (nothing of the
# host is mounted into it, so cleaning up can never reach the host's files),
# trusting the host's CA bundle while it downloads (a proxy's CA may be in it).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
TAG="${1:-dev}"
OUT="$REPO/build/image"
SUITE=bookworm
# The same runtime packages as the Containerfile's final stage.
PACKAGES=python3.11,ca-certificates,tzdata
UV_BIN="$(python3 -c 'import uv; print(uv.find_uv_bin())')"

rm -rf --one-file-system "$OUT"
mkdir -p "$OUT"
# Only what git tracks (no .venv, .data, secrets), as the Containerfile's COPY.
git -C "$REPO" ls-files -z -- pyproject.toml uv.lock README.md services stack edge generated \
    | tar -C "$REPO" --null -T - -cf "$OUT/app.tar"

start=$(date +%s)
# (opentelemetry-proto is installed again last: xds-protos carries an older copy
# of one of its files, see tools/bootstrap.sh.)
# customize hooks run on the host with the root filesystem in $1; `sync` runs
# uv inside it (chroot) against Debian's interpreter, then the build-only
# pieces (uv, its cache, apt lists) are removed. The project's own code is
# compiled as the Containerfile does it (the pods cannot write bytecode).
mmdebstrap --variant=minbase --include="$PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='mkdir -p "$1/app" "$1/tmp/uv-cache" && tar -C "$1/app" -xf '"$OUT/app.tar" \
    --customize-hook='cp '"$UV_BIN"' "$1/tmp/uv" && cp /etc/ssl/certs/ca-certificates.crt "$1/tmp/host-ca.crt"' \
    --customize-hook='chroot "$1" sh -c "cd /app && UV_CACHE_DIR=/tmp/uv-cache UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 UV_PROJECT_ENVIRONMENT=/app/.venv SSL_CERT_FILE=/tmp/host-ca.crt /tmp/uv sync --frozen --no-dev --group edge --python /usr/bin/python3.11 --quiet && UV_CACHE_DIR=/tmp/uv-cache UV_PROJECT_ENVIRONMENT=/app/.venv SSL_CERT_FILE=/tmp/host-ca.crt UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 /tmp/uv sync --frozen --no-dev --group edge --python /usr/bin/python3.11 --quiet --reinstall-package opentelemetry-proto"' \
    --customize-hook='chroot "$1" sh -c "cd /app && .venv/bin/python -m compileall -qq -j0 --invalidation-mode unchecked-hash services stack edge generated"' \
    --customize-hook='rm -rf "$1/tmp/uv" "$1/tmp/host-ca.crt" "$1/tmp/uv-cache" "$1/var/lib/apt/lists"/* "$1/var/cache/apt"/*' \
    --customize-hook='chroot "$1" groupadd --gid 10001 app && chroot "$1" useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin app' \
    "$SUITE" "$OUT/rootfs"
rm "$OUT/app.tar"

# Pack: an empty image, unpacked to a bundle, the root filesystem put in,
# repacked as one layer, then the runtime config (user, workdir, PATH).
IMAGE="$OUT/oci:twitter-mesh:$TAG"
umoci init --layout "$OUT/oci"
umoci new --image "$IMAGE"
umoci unpack --image "$IMAGE" "$OUT/bundle"
rmdir "$OUT/bundle/rootfs" && mv "$OUT/rootfs" "$OUT/bundle/rootfs"
umoci repack --image "$IMAGE" "$OUT/bundle"
umoci config --image "$IMAGE" --config.user 10001:10001 --config.workingdir /app \
    --config.env PATH=/app/.venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.env PYTHONDONTWRITEBYTECODE=1 --config.env PYTHONUNBUFFERED=1 \
    --config.cmd python --config.cmd -m --config.cmd services.users \
    --config.label org.opencontainers.image.source=twitter-mesh
umoci gc --layout "$OUT/oci"
end=$(date +%s)
echo "image built in $((end - start)) s: $IMAGE"
echo "layer size (compressed): $(du -b "$OUT/oci/blobs" | tail -1 | cut -f1) bytes; unpacked: $(du -sb "$OUT/bundle/rootfs" | cut -f1) bytes"

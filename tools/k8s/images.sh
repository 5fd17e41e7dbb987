#!/usr/bin/env bash
# Images for the single-node cluster (root; no registry is reachable, so every
# image is built here and imported into containerd's k8s.io namespace).
#
#   images.sh system          the sandbox image registry.k8s.io/pause:3.10.1
#                             (Kubernetes' pause.c, static, alone in its image)
#   images.sh release TAG     build/image/oci's twitter-mesh:TAG (`make image`) as
#                             ghcr.io/example/twitter-mesh:TAG
#   images.sh datastores      twitter-datastores:<version>: Redis, PostgreSQL
#                             and NATS from Debian's packages, Cassandra from
#                             the jars the stack runs, MinIO from its cached
#                             binary (k8s/datastores-plain runs it)
#
# Built layouts are cached in $CACHE/k8s/images; an image already in containerd
# is not imported again.
set -euo pipefail
source "$(dirname "$0")/cluster_env.sh"
IMAGES="$CACHE/k8s/images"
# Bump when tools/k8s/datastore-image/ or the package list changes.
DATASTORES_VERSION="bookworm-1"
DATASTORES_REF="localhost/twitter-datastores:$DATASTORES_VERSION"
PAUSE_REF="registry.k8s.io/pause:3.10.1"
mkdir -p "$IMAGES"

# REF is in containerd with the manifest DIGEST (a re-built image is not).
present() { ctr -n k8s.io images ls | awk -v ref="$1" -v d="$2" '$1 == ref && $3 == d {f = 1} END {exit !f}'; }

# OCI layout DIR (tag TAG inside) -> containerd image REF: the layout's index
# names the image by its full reference, as `ctr images import` expects.
import_layout() {  # DIR TAG REF
    local dir="$1" tag="$2" ref="$3" started digest
    digest="$(python3 -c 'import json, sys; print(next(m["digest"] for m in json.load(open(sys.argv[1]))["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[2]))' "$dir/index.json" "$tag")"
    if present "$ref" "$digest"; then echo "  $ref: already imported"; return; fi
    started=$(date +%s)
    python3 - "$dir" "$tag" "$ref" <<'PY' | ctr -n k8s.io images import --base-name "${3%:*}" - >/dev/null
import io, json, os, sys, tarfile
layout, tag, ref = sys.argv[1:]
index = json.load(open(os.path.join(layout, "index.json")))
key = "org.opencontainers.image.ref.name"
index["manifests"] = [m for m in index["manifests"] if m.get("annotations", {}).get(key) == tag]
if not index["manifests"]:
    sys.exit(f"no image tagged {tag} in {layout}")
index["manifests"][0]["annotations"][key] = ref
with tarfile.open(fileobj=sys.stdout.buffer, mode="w|") as tar:
    tar.add(os.path.join(layout, "oci-layout"), "oci-layout")
    tar.add(os.path.join(layout, "blobs"), "blobs")
    data = json.dumps(index).encode()
    info = tarfile.TarInfo("index.json"); info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
PY
    echo "  $ref: imported in $(($(date +%s) - started)) s"
}

# One-layer image from a directory: umoci packs DIR/rootfs as the root.
pack() {  # WORK TAG CONFIG-ARGS...: WORK/rootfs -> WORK/oci:TAG
    local work="$1" tag="$2"; shift 2
    rm -rf "$work/oci" "$work/bundle"
    umoci init --layout "$work/oci"
    umoci new --image "$work/oci:$tag"
    umoci unpack --image "$work/oci:$tag" "$work/bundle" >/dev/null
    rmdir "$work/bundle/rootfs" && mv "$work/rootfs" "$work/bundle/rootfs"
    umoci repack --image "$work/oci:$tag" "$work/bundle"
    umoci config --image "$work/oci:$tag" "$@"
    umoci gc --layout "$work/oci"
    rm -rf "$work/bundle"
}

system_images() {
    local work="$IMAGES/pause-3.10.1"
    if [[ ! -f "$work/oci/index.json" ]]; then
        rm -rf "$work" && mkdir -p "$work/rootfs"
        cp "$BIN/pause" "$work/rootfs/pause"
        pack "$work" 3.10.1 --config.entrypoint /pause --config.user 65535:65535
    fi
    import_layout "$work/oci" 3.10.1 "$PAUSE_REF"
}

release_image() {  # TAG
    local tag="$1" ref="ghcr.io/example/twitter-mesh:$1"
    [[ -f "$REPO/build/image/oci/index.json" ]] \
        || { echo "images: no build/image/oci; run make image TAG=$tag first" >&2; exit 1; }
    import_layout "$REPO/build/image/oci" "twitter-mesh:$tag" "$ref"
}

datastores_image() {
    local work="$IMAGES/datastores-$DATASTORES_VERSION" started
    local cassandra_version cassandra_home
    cassandra_version="$(sed -n 's/^CASSANDRA_VERSION="\([^"]*\)".*/\1/p' "$REPO/stack/install/cassandra.sh")"
    cassandra_home="$CACHE/cassandra-$cassandra_version"
    if [[ ! -f "$work/oci/index.json" ]]; then
        started=$(date +%s)
        "$REPO/stack/install/minio.sh" >/dev/null
        [[ -d "$cassandra_home/lib" ]] || bash "$REPO/stack/install/cassandra.sh"
        rm -rf "$work" && mkdir -p "$work"
        # Debian's servers (their packages' own services never start in a
        # chroot build), Java for Cassandra, and the stack's Cassandra jars and
        # config templates, MinIO's binary, the entrypoints. (openjdk's
        # update-alternatives needs man1, even with the manuals excluded.)
        mmdebstrap --variant=minbase \
            --include=redis-server,postgresql-15,nats-server,openjdk-17-jre-headless,ca-certificates,curl,procps \
            --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
            --dpkgopt='path-exclude=/usr/share/locale/*' \
            --setup-hook='mkdir -p "$1/usr/share/man/man1"' \
            --customize-hook='mkdir -p "$1/opt/cassandra" "$1/data"' \
            --customize-hook="cp -r '$cassandra_home/lib' \"\$1/opt/cassandra/lib\"" \
            --customize-hook="cp -r '$REPO/stack/cassandra' \"\$1/opt/cassandra/templates\"" \
            --customize-hook="cp -L '$BIN/minio' \"\$1/usr/local/bin/minio\"" \
            --customize-hook="cp '$REPO/tools/k8s/datastore-image/'*.sh \"\$1/usr/local/bin/\"" \
            --customize-hook='rm -rf "$1/var/lib/apt/lists"/* "$1/var/cache/apt"/* "$1/var/lib/postgresql/15/main" "$1/etc/postgresql"' \
            --customize-hook='chroot "$1" groupadd --gid 10002 store && chroot "$1" useradd --uid 10002 --gid 10002 --no-create-home --home-dir /data --shell /usr/sbin/nologin store && chown 10002:10002 "$1/data"' \
            bookworm "$work/rootfs"
        pack "$work" "$DATASTORES_VERSION" --config.user 10002:10002 --config.workingdir /data \
            --config.env PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
        echo "  datastores image built in $(($(date +%s) - started)) s"
    fi
    import_layout "$work/oci" "$DATASTORES_VERSION" "$DATASTORES_REF"
}

case "${1:-}" in
    system) system_images ;;
    release) release_image "${2:?TAG}" ;;
    datastores) datastores_image ;;
    *) echo "usage: images.sh system | release TAG | datastores" >&2; exit 2 ;;
esac

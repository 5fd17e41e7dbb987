#!/usr/bin/env bash
# `make k8s-apiserver-check`: for each overlay, a fresh etcd + kube-apiserver
# (built by tools/k8s/install_apiserver.sh, cached) and a server-side apply of
# the namespace and the overlay as release v0.1.0, then again as v0.2.0 (new
# image tag, new RELEASE): the second release must apply too. Pod Security
# warnings ("restricted" is enforced on the namespace) fail the check.
# Everything runs on loopback in a temporary directory and is stopped on exit.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${TWITTER_CACHE:-$HOME/.cache/twitter-mesh}/bin"
# The pinned client built beside the server (tools/k8s/install_apiserver.sh).
kubectl() { "$BIN/kubectl" "$@"; }
ETCD_PORT="${K8S_CHECK_ETCD_PORT:-23379}"
API_PORT="${K8S_CHECK_API_PORT:-26443}"
WORK="$(mktemp -d)"
PIDS=()
# Throwaway data: stop at once, API server first.
stop() {
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        kill -KILL "${PIDS[i]}" 2>/dev/null || true
        wait "${PIDS[i]}" 2>/dev/null || true
    done
    PIDS=()
}
trap 'stop; rm -rf "$WORK"' EXIT

start_cluster() {
    rm -rf "$WORK/etcd" "$WORK/certs" && mkdir -p "$WORK/certs"
    "$BIN/etcd" --data-dir "$WORK/etcd" --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
        --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
        --initial-cluster "default=http://127.0.0.1:$((ETCD_PORT + 1))" \
        > "$WORK/etcd.log" 2>&1 &
    PIDS+=($!)
    openssl genrsa -out "$WORK/sa.key" 2048 2>/dev/null
    openssl rsa -in "$WORK/sa.key" -pubout -out "$WORK/sa.pub" 2>/dev/null
    TOKEN="$(openssl rand -hex 16)"
    echo "$TOKEN,admin,admin,system:masters" > "$WORK/tokens.csv"
    "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
        --bind-address 127.0.0.1 --secure-port "$API_PORT" --advertise-address 127.0.0.1 \
        --cert-dir "$WORK/certs" --token-auth-file "$WORK/tokens.csv" \
        --authorization-mode RBAC --service-cluster-ip-range 10.96.0.0/16 \
        --service-account-issuer https://kubernetes.default.svc \
        --service-account-key-file "$WORK/sa.pub" --service-account-signing-key-file "$WORK/sa.key" \
        > "$WORK/apiserver.log" 2>&1 &
    PIDS+=($!)
    cat > "$WORK/kubeconfig" <<CFG
apiVersion: v1
kind: Config
clusters: [{name: check, cluster: {server: "https://127.0.0.1:$API_PORT", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: "$TOKEN"}}]
contexts: [{name: check, context: {cluster: check, user: admin}}]
current-context: check
CFG
    export KUBECONFIG="$WORK/kubeconfig"
    for _ in $(seq 120); do
        kubectl get --raw /readyz >/dev/null 2>&1 && break
        sleep 1
    done
    kubectl get --raw /readyz >/dev/null || { tail -20 "$WORK/apiserver.log"; exit 1; }
    echo "  kube-apiserver $(kubectl get --raw /version | python3 -c 'import json,sys; print(json.load(sys.stdin)["gitVersion"])')"
}

# One release of an overlay: its copy with the image tag and RELEASE set
# (k8s/ and edge/, whose kustomization makes the rate-limit ConfigMap).
apply_release() {
    local overlay="$1" tag="$2" release="${2//./-}"  # RELEASE is a DNS label
    local tree="$WORK/tree-$release" copy="$WORK/tree-$release/k8s"
    rm -rf "$tree" && mkdir -p "$tree" && cp -r "$REPO/k8s" "$REPO/edge" "$tree/"
    (cd "$copy/overlays/$overlay" \
        && kubectl kustomize . >/dev/null \
        && sed -i "s/^\(    newTag: \).*/\1$tag/; s/^\(      - RELEASE=\).*/\1$release/" kustomization.yaml)
    kubectl kustomize "$copy/overlays/$overlay" > "$WORK/$overlay-$release.yaml"
    grep -q "image: ghcr.io/example/twitter-mesh:$tag" "$WORK/$overlay-$release.yaml"
    grep -q "name: migrate-$release" "$WORK/$overlay-$release.yaml"
    kubectl apply --server-side --field-manager=k8s-check -f "$WORK/$overlay-$release.yaml" \
        > "$WORK/applied" 2> "$WORK/warnings"
    if grep -i "warning" "$WORK/warnings"; then echo "FAIL: warnings above" >&2; exit 1; fi
    echo "  $overlay $tag (Job migrate-$release): applied $(grep -c '^kind:' "$WORK/$overlay-$release.yaml") objects server-side, no warnings"
}

for overlay in production dev; do
    echo "== $overlay"
    start_cluster
    kubectl apply --server-side -f "$REPO/tools/k8s/crds/" >"$WORK/crds.log" || { cat "$WORK/crds.log"; exit 1; }
    kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null
    kubectl apply --server-side -k "$REPO/k8s/namespace" >/dev/null
    kubectl apply --server-side -k "$REPO/k8s/datastores" > "$WORK/applied" 2> "$WORK/warnings"
    if grep -i "warning" "$WORK/warnings"; then echo "FAIL: datastores: warnings above" >&2; exit 1; fi
    echo "  datastores: applied $(wc -l < "$WORK/applied") objects server-side, no warnings"
    apply_release "$overlay" v0.1.0
    apply_release "$overlay" v0.2.0
    kubectl -n twitter get jobs -o name | sed 's/^/  /'
    stop
done
echo "k8s-apiserver-check: passed"

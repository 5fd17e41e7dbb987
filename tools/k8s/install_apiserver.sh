#!/usr/bin/env bash
# Build pinned Kubernetes binaries from the Go module proxy (no release
# download is reachable here); cached outside the repository as
# $TWITTER_CACHE/bin/<name>-<version> (+ a <name> symlink).
#
#   install_apiserver.sh            etcd, kube-apiserver, kubectl
#                                   (`make k8s-apiserver-check`)
#   install_apiserver.sh --cluster  also kube-controller-manager,
#                                   kube-scheduler, kubelet, kube-proxy,
#                                   CoreDNS and the pause binary (`make k8s-up`)
#
# Heavy the first time (about 25 min for all on two cores); every build shares
# Go's one build cache, so a later binary compiles only its own packages.
set -euo pipefail
STACK_INSTALL="$(cd "$(dirname "$0")/../../stack/install" && pwd)"

KUBE_VERSION="v1.35.4"       # staging modules (k8s.io/api, ...) are v0.35.4
ETCD_VERSION="v3.6.5"        # the etcd that kube-apiserver v1.35 is built against
COREDNS_VERSION="v1.13.1"    # the CoreDNS kubeadm v1.35 deploys
PAUSE_VERSION="3.10.1"       # build/pause of k8s.io/kubernetes v1.35.4

# k8s.io/kubernetes points its staging modules at ./staging/src (replace
# directives), so `go install pkg@version` refuses it: a scratch module
# requires it and replaces each staging module by its published copy.
build_kube() (  # NAME: a command of k8s.io/kubernetes (kube-apiserver, kubectl)
    source "$STACK_INSTALL/go_binary.sh"
    go_binary_begin "$1" "$KUBE_VERSION"
    echo "$1 install: building k8s.io/kubernetes@$KUBE_VERSION (takes a long while)..." >&2
    cd "$TMP_BIN"
    "$GO" mod init "twitter-mesh/$1-build" >/dev/null 2>&1
    staging="$(curl -fsS "${GOPROXY%%,*}/k8s.io/kubernetes/@v/$KUBE_VERSION.mod" \
        | sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p')"
    for module in $staging; do
        "$GO" mod edit -replace "$module=$module@v0${KUBE_VERSION#v1}"
    done
    "$GO" get "k8s.io/kubernetes@$KUBE_VERSION"
    # The version the server reports (kubectl and PodSecurity's "latest" read it).
    minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
    pkg=k8s.io/component-base/version
    "$GO" build -trimpath -o "$TMP_BIN/$1" -ldflags "-X $pkg.gitVersion=$KUBE_VERSION \
        -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean" \
        "k8s.io/kubernetes/cmd/$1"
    go_binary_finish "$1" "$KUBE_VERSION"
)

build_etcd() (
    source "$STACK_INSTALL/go_binary.sh"
    go_binary_begin etcd "$ETCD_VERSION"
    echo "etcd install: building go.etcd.io/etcd/server/v3@$ETCD_VERSION..." >&2
    cd "$TMP_BIN"
    "$GO" mod init twitter-mesh/etcd-build >/dev/null 2>&1
    "$GO" get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    "$GO" build -trimpath -o "$TMP_BIN/etcd" go.etcd.io/etcd/server/v3
    go_binary_finish etcd "$ETCD_VERSION"
)

build_coredns() (
    source "$STACK_INSTALL/go_binary.sh"
    go_binary_begin coredns "$COREDNS_VERSION"
    echo "coredns install: building github.com/coredns/coredns@$COREDNS_VERSION..." >&2
    cd "$TMP_BIN"
    "$GO" mod init twitter-mesh/coredns-build >/dev/null 2>&1
    "$GO" get -tool "github.com/coredns/coredns@$COREDNS_VERSION"
    "$GO" build -trimpath -o "$TMP_BIN/coredns" github.com/coredns/coredns
    go_binary_finish coredns "$COREDNS_VERSION"
)

# The sandbox ("pause") container's program: Kubernetes' own pause.c from the
# module just downloaded, linked statically (the image holds nothing else).
build_pause() (
    source "$STACK_INSTALL/go_binary.sh"
    go_binary_begin pause "$PAUSE_VERSION"
    src="$("$GO" mod download -json "k8s.io/kubernetes@$KUBE_VERSION" \
        | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/build/pause/linux/pause.c"
    gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION" -o "$TMP_BIN/pause" "$src"
    go_binary_finish pause "$PAUSE_VERSION"
)

export GOPROXY="${GOPROXY:-$(go env GOPROXY 2>/dev/null || echo https://proxy.golang.org)}"
BIN="${TWITTER_CACHE:-$HOME/.cache/twitter-mesh}/bin"
started=$(date +%s)
before="$(ls "$BIN" 2>/dev/null | wc -l)"
build_etcd
build_kube kube-apiserver
build_kube kubectl
if [[ "${1:-}" == "--cluster" ]]; then
    for name in kube-controller-manager kube-scheduler kubelet kube-proxy; do
        build_kube "$name"
    done
    build_coredns
    build_pause
    # A run that built something records how long it took (`make k8s-e2e`
    # prints it beside the cached time).
    if [[ "$(ls "$BIN" | wc -l)" != "$before" ]]; then
        mkdir -p "$BIN/../k8s"
        echo "$(($(date +%s) - started)) s on $(date -u +%F)" > "$BIN/../k8s/cold-build"
    fi
fi

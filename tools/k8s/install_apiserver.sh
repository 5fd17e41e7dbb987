#!/usr/bin/env bash
# Build a pinned kube-apiserver, kubectl and etcd from the Go module proxy (no
# release download is reachable here), for `make k8s-apiserver-check`. Heavy
# (10-20 min on two cores the first time); cached outside the repository:
#   $TWITTER_CACHE/bin/kube-apiserver-<version>, .../kubectl-<version>,
#   .../etcd-<version> (+ symlinks)
set -euo pipefail
STACK_INSTALL="$(cd "$(dirname "$0")/../../stack/install" && pwd)"

KUBE_VERSION="v1.35.4"       # staging modules (k8s.io/api, ...) are v0.35.4
ETCD_VERSION="v3.6.5"        # the etcd that kube-apiserver v1.35 is built against

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

export GOPROXY="${GOPROXY:-$(go env GOPROXY 2>/dev/null || echo https://proxy.golang.org)}"
build_etcd
build_kube kube-apiserver
build_kube kubectl

# Sourced by the installers of programs built from the Go module proxy
# (minio.sh, jaeger.sh): the cached, versioned binary and its symlink.
#
#   go_binary_begin NAME VERSION   exits 0 at once when the pinned binary is
#                                  built; otherwise sets GO (the toolchain) and
#                                  TMP_BIN (a private build dir, removed on exit)
#   go_binary_finish NAME VERSION  moves $TMP_BIN/NAME into place, links it
#
# Result: $TWITTER_CACHE/bin/NAME-VERSION (the binary), $TWITTER_CACHE/bin/NAME
# (a symlink to it). A half-finished build never lands at the target.

BIN_DIR="${TWITTER_CACHE:-$HOME/.cache/twitter-mesh}/bin"

_go_binary_link() {
    if [[ "$(readlink "$BIN_DIR/$1" 2>/dev/null || true)" != "$1-$2" ]]; then
        ln -sfn "$1-$2" "$BIN_DIR/$1"
    fi
}

go_binary_begin() {
    if [[ -x "$BIN_DIR/$1-$2" ]]; then
        _go_binary_link "$1" "$2"
        exit 0
    fi
    GO="${GO:-}"
    if [[ -z "$GO" ]]; then
        if command -v go >/dev/null 2>&1; then
            GO="$(command -v go)"
        elif [[ -x /usr/local/go/bin/go ]]; then
            GO=/usr/local/go/bin/go
        else
            echo "$1 install: Go toolchain not found (set GO=/path/to/go)" >&2
            exit 1
        fi
    fi
    mkdir -p "$BIN_DIR"
    TMP_BIN="$(mktemp -d "$BIN_DIR/.$1-build.XXXXXX")"
    trap 'rm -rf "$TMP_BIN"' EXIT
    # Static pure-Go builds; never fetch another toolchain; ignore stray GOFLAGS.
    export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
}

go_binary_finish() {
    mv -f "$TMP_BIN/$1" "$BIN_DIR/$1-$2"
    _go_binary_link "$1" "$2"
    echo "$1 install: installed $BIN_DIR/$1-$2" >&2
}

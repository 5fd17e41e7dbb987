#!/usr/bin/env bash
# Rebuilds generated/ from protos/: Python messages, gRPC stubs, .pyi type stubs,
# the descriptor set (with imports) that Envoy's gRPC-JSON transcoder reads, the
# OpenAPI document, and the Go (generated/go) and TypeScript (generated/ts) stubs.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
INCLUDE=build/proto-include

# google/api and google/rpc come from the googleapis-common-protos wheel.
"$PY" - "$INCLUDE" <<'PYEOF'
import pathlib, shutil, sys
import google.api, google.rpc
dest = pathlib.Path(sys.argv[1]) / "google"
for pkg in (google.api, google.rpc):
    src = pathlib.Path(pkg.__path__[0])
    out = dest / src.name
    shutil.rmtree(out, ignore_errors=True)
    for proto in src.rglob("*.proto"):
        target = out / proto.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(proto, target)
PYEOF

# protoc-gen-openapiv2 (grpc-gateway), built once with `go install` at a pinned
# version into the shared cache, like the stack's other Go tools.
OPENAPIV2_VERSION=v2.27.3
CACHE_BIN="${TWITTER_CACHE:-$HOME/.cache/twitter-mesh}/bin"
OPENAPIV2="$CACHE_BIN/protoc-gen-openapiv2-$OPENAPIV2_VERSION"
if [ ! -x "$OPENAPIV2" ]; then
  mkdir -p "$CACHE_BIN"
  GOBIN_TMP="$(mktemp -d)"
  GOBIN="$GOBIN_TMP" GOFLAGS=-buildvcs=false go install \
    "github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$OPENAPIV2_VERSION"
  mv "$GOBIN_TMP/protoc-gen-openapiv2" "$OPENAPIV2"
  rm -rf "$GOBIN_TMP"
fi

rm -rf generated/twitter generated/descriptors generated/openapi
mkdir -p generated/descriptors generated/openapi
mapfile -t PROTOS < <(cd protos && find twitter -name '*.proto' | sort)

(cd protos && "../$PY" -m grpc_tools.protoc \
  -I. -I"../$INCLUDE" \
  --python_out=../generated --pyi_out=../generated \
  --grpc_python_out=../generated \
  --plugin=protoc-gen-mypy_grpc=../.venv/bin/protoc-gen-mypy_grpc --mypy_grpc_out=../generated \
  "${PROTOS[@]}") 2> >(grep -v '^Writing mypy to' >&2)  # keep errors, drop the plugin's chatter

# The descriptor also carries google.rpc error details, so the edge can render
# BadRequest/RetryInfo details of error responses as JSON.
(cd protos && "../$PY" -m grpc_tools.protoc \
  -I. -I"../$INCLUDE" \
  --include_imports --include_source_info \
  --descriptor_set_out=../generated/descriptors/twitter.pb \
  "${PROTOS[@]}" google/rpc/error_details.proto)

# The OpenAPI document of the REST surface, served by the edge at GET
# /openapi.json. protoc-gen-openapiv2 writes Swagger 2.0 (only RPCs with a
# google.api.http rule; field names are the JSON, lowerCamelCase, ones) into
# build/; tools/openapi3.py turns it into the OpenAPI 3.1 document client
# generators accept (its docstring says what else it fixes on the way).
# The plugin is written in Go and wants a Go package per file; any name will do.
GO_PACKAGES=()
for proto in "${PROTOS[@]}"; do
  GO_PACKAGES+=("--openapiv2_opt=M$proto=twitter.invalid/$(dirname "$proto")")
done
SWAGGER_DIR=build/openapiv2
rm -rf "$SWAGGER_DIR" && mkdir -p "$SWAGGER_DIR"
(cd protos && "../$PY" -m grpc_tools.protoc \
  -I. -I"../$INCLUDE" \
  --plugin=protoc-gen-openapiv2="$OPENAPIV2" \
  --openapiv2_out="../$SWAGGER_DIR" \
  --openapiv2_opt=allow_merge=true,merge_file_name=twitter,output_format=json \
  --openapiv2_opt=json_names_for_fields=true,disable_service_tags=false \
  --openapiv2_opt=openapi_naming_strategy=simple,enums_as_ints=false \
  "${GO_PACKAGES[@]}" "${PROTOS[@]}")
"$PY" tools/openapi3.py "$SWAGGER_DIR/twitter.swagger.json" \
  generated/descriptors/twitter.pb generated/openapi/twitter.json

# Go and TypeScript stubs (buf.gen.yaml, buf.gen.ts.yaml) with the pinned local
# plugins tools/stub_plugins.sh installs. generated/go/go.mod and go.sum are
# kept: they pin the Go stubs' dependencies.
rm -rf generated/go/twitter generated/ts
PLUGINS="$(tools/stub_plugins.sh)"
PATH="$PLUGINS:$PATH" .venv/bin/buf generate --template buf.gen.yaml
PATH="$PLUGINS:$PATH" .venv/bin/buf generate --template buf.gen.ts.yaml

# Mark every generated directory as a package so tools resolve imports alike.
find generated/twitter -type d -exec touch {}/__init__.py \;
touch generated/twitter/py.typed
echo "generated/ rebuilt from ${#PROTOS[@]} proto files"

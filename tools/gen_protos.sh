#!/usr/bin/env bash
# Rebuilds generated/ from protos/: Python messages, gRPC stubs, .pyi type stubs
# and the descriptor set (with imports) that Envoy's gRPC-JSON transcoder reads.
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

rm -rf generated/twitter generated/descriptors
mkdir -p generated/descriptors
mapfile -t PROTOS < <(cd protos && find twitter -name '*.proto' | sort)

(cd protos && "../$PY" -m grpc_tools.protoc \
  -I. -I"../$INCLUDE" \
  --python_out=../generated --pyi_out=../generated \
  --grpc_python_out=../generated \
  --plugin=protoc-gen-mypy_grpc=../.venv/bin/protoc-gen-mypy_grpc --mypy_grpc_out=../generated \
  "${PROTOS[@]}")

# The descriptor also carries google.rpc error details, so the edge can render
# BadRequest/RetryInfo details of error responses as JSON.
(cd protos && "../$PY" -m grpc_tools.protoc \
  -I. -I"../$INCLUDE" \
  --include_imports --include_source_info \
  --descriptor_set_out=../generated/descriptors/twitter.pb \
  "${PROTOS[@]}" google/rpc/error_details.proto)

# Mark every generated directory as a package so tools resolve imports alike.
find generated/twitter -type d -exec touch {}/__init__.py \;
touch generated/twitter/py.typed
echo "generated/ rebuilt from ${#PROTOS[@]} proto files"

#!/usr/bin/env bash
# Smoke-test the image tools/image/build.sh made: start one service from the
# unpacked bundle (private mount and PID namespaces, chroot, uid 10001, the root
# filesystem read-only and a tmpfs on /tmp, as the pods run it) and ask its
# gRPC health. Root only. The service is ratelimit (its health needs only
# Redis): start your stack first (`source .stack-env && make up`), whose Redis
# it uses. Everything it starts is gone when it returns.
#
#   tools/image/smoke.sh [SERVICE]      (default: ratelimit)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
ROOTFS="$REPO/build/image/bundle/rootfs"
SERVICE="${1:-ratelimit}"
PORT="${SMOKE_PORT:-27917}"
[[ -x "$ROOTFS/app/.venv/bin/python" ]] || { echo "smoke: build the image first (make image)" >&2; exit 1; }
eval "$(cd "$REPO" && .venv/bin/python -m stack env | grep -E '^export (REDIS_URL|INTERNAL_TOKEN|PG_DSN|NATS_URL)=')"

# Inside the new namespaces: the mounts die with them, so nothing is left on the host.
unshare --mount --pid --fork --kill-child --propagation private sh -c '
    set -e
    rootfs="$1"; shift
    mount --bind "$rootfs" "$rootfs" && mount -o remount,bind,ro "$rootfs"
    mount --rbind /dev "$rootfs/dev"
    mount -t proc proc "$rootfs/proc"
    mount -t tmpfs -o size=64m,mode=1777 tmpfs "$rootfs/tmp"
    exec chroot --userspec=10001:10001 "$rootfs" "$@"
' smoke "$ROOTFS" env -i PATH=/app/.venv/bin:/usr/bin:/bin HOME=/tmp \
    PYTHONDONTWRITEBYTECODE=1 REDIS_URL="$REDIS_URL" INTERNAL_TOKEN="$INTERNAL_TOKEN" \
    PG_DSN="${PG_DSN:-}" NATS_URL="${NATS_URL:-}" GRPC_HOST=127.0.0.1 GRPC_PORT="$PORT" \
    sh -c "cd /app && exec python -m services.$SERVICE" > "$REPO/build/image/smoke.log" 2>&1 &
pid=$!
# The service is PID 1 of its namespace: SIGTERM it (it drains), then unshare ends.
trap 'pkill -TERM -P "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT

"$REPO/.venv/bin/python" - "$PORT" "$SERVICE" <<'PY'
import sys, time
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

port, service = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + 60
with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
    stub = health_pb2_grpc.HealthStub(channel)
    while True:
        try:
            status = stub.Check(health_pb2.HealthCheckRequest(), timeout=2).status
            if status == health_pb2.HealthCheckResponse.SERVING:
                print(f"smoke: {service} from the image answers gRPC health: SERVING")
                break
        except grpc.RpcError as exc:
            status = exc.code()
        if time.monotonic() > deadline:
            sys.exit(f"smoke: {service} not SERVING after 60 s ({status}); see build/image/smoke.log")
        time.sleep(0.5)
PY

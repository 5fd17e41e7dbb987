#!/usr/bin/env bash
# `make k8s-e2e` (root): the walk of k8s/README.md ("A real cluster on this
# machine") on the single-node cluster of `make k8s-up`:
#   1. the cluster (bring-up time) and its images (release, datastores);
#   2. k8s/datastores-plain, then the namespace, the JWT key and
#      k8s/overlays/single-node (the dev overlay on those datastores): the
#      migration Job, the init containers, every pod Ready (deploy-to-ready);
#   3. the end-to-end suite's edge-only tests against the edge's NodePort on
#      127.0.0.1 (every service and both workers);
#   4. release v0.2.0 (a new image tag whose image adds a migration) as a
#      rolling update under traffic: the rollout table;
#   5. two replicas each, one pod of each Deployment deleted under traffic:
#      the pod-kill table;
#   6. `kubectl delete -k` the app; the datastores' data is still there;
#   7. the cluster's memory; `make k8s-down` (K8S_KEEP=1 leaves it up).
# Traffic from the host goes to 127.0.0.1 only.
set -euo pipefail
source "$(dirname "$0")/cluster_env.sh"
[[ $EUID -eq 0 ]] || { echo "k8s-e2e: run as root" >&2; exit 1; }
PY="$REPO/.venv/bin/python"
WORK="$(mktemp -d /tmp/k8s-e2e.XXXXXX)"
EDGE="http://127.0.0.1:$EDGE_NODE_PORT"
NS=twitter
DEPLOYMENTS=(users tweets timeline timeline-worker search search-worker media messages
    notifications notifications-worker ratelimit edge)
V2=v0.2.0
REPORT="$WORK/report"
say() { echo "$*" | tee -a "$REPORT"; }
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }
FORWARD_PID=""
TRAFFIC_PID=""
finish() {
    local rc=$?
    for pid in $FORWARD_PID $TRAFFIC_PID; do kill "$pid" 2>/dev/null || true; done
    if [[ "${K8S_KEEP:-0}" != 1 ]]; then "$REPO/tools/k8s/cluster_down.sh" || rc=1; fi
    echo; echo "==== k8s-e2e summary"; cat "$REPORT" 2>/dev/null
    [[ $rc -eq 0 ]] && echo "k8s-e2e: passed" || echo "k8s-e2e: FAILED (rc $rc); logs in $STATE/logs and $WORK" >&2
    exit $rc
}
trap finish EXIT

# ---- 1. binaries, cluster, images
started=$(now)
"$REPO/tools/k8s/install_apiserver.sh" --cluster
say "build (cached): $(since "$started") s; cold: $(cat "$CACHE/k8s/cold-build" 2>/dev/null || echo 'not recorded')"
"$REPO/tools/k8s/cluster_up.sh" | tee "$WORK/up.log"
say "$(grep '^bring-up:' "$WORK/up.log")"

# The release image, (re)built when missing or older than the code it packs.
index="$REPO/build/image/oci/index.json"
if [[ ! -f "$index" ]] || ! grep -q '"twitter-mesh:dev"' "$index" \
        || [[ -n "$(cd "$REPO" && find services stack edge generated pyproject.toml uv.lock \
                    -type f -newer "$index" -print -quit)" ]]; then
    (cd "$REPO" && make image TAG=dev)
fi
"$REPO/tools/k8s/images.sh" release dev
# v0.2.0: the dev image plus one expand-only migration (a new table), so the
# release runs a migration Job and its users pods wait for it.
last="$(ls "$REPO/services/users/migrations/postgres" | sort | tail -1)"
number=$((10#${last%%_*} + 1))
migration="$(printf '%04d' "$number")_k8s_e2e_release_marker.sql"
if ! grep -q "\"twitter-mesh:$V2\"" "$REPO/build/image/oci/index.json"; then
    printf -- '-- depends: %s\n-- k8s-e2e release %s: expand only.\nCREATE TABLE k8s_e2e_releases (release text PRIMARY KEY);\nINSERT INTO k8s_e2e_releases VALUES (%s);\n' \
        "${last%.sql}" "$V2" "'$V2'" > "$WORK/$migration"
    umoci tag --image "$REPO/build/image/oci:twitter-mesh:dev" "twitter-mesh:$V2"
    umoci insert --image "$REPO/build/image/oci:twitter-mesh:$V2" "$WORK/$migration" \
        "/app/services/users/migrations/postgres/$migration"
fi
"$REPO/tools/k8s/images.sh" release "$V2"
"$REPO/tools/k8s/images.sh" datastores

# ---- 2. datastores, then the app
# Storage: the node's disk under the run's state (gone with k8s-down), as
# PersistentVolumes of a default StorageClass without a provisioner.
kubectl apply --server-side -f - >/dev/null <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: node-local
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
YAML
for store in redis postgres nats cassandra minio; do
    mkdir -p "$STATE/volumes/$store" && chown 10002:10002 "$STATE/volumes/$store"
    kubectl apply --server-side -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: data-$store}
spec:
  capacity: {storage: 20Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: node-local
  persistentVolumeReclaimPolicy: Retain
  claimRef: {namespace: $store, name: data-$store-0}
  hostPath: {path: "$STATE/volumes/$store", type: Directory}
YAML
done
kubectl apply -f "$REPO/k8s/datastores-plain/namespaces.yaml" >/dev/null
# The dev overlay's fake credentials (k8s/overlays/dev): the stores are made with them.
secret() { kubectl -n "$1" create secret generic "$2" "${@:3}" --dry-run=client -o yaml | kubectl apply -f - >/dev/null; }
secret postgres postgres-credentials --from-literal=POSTGRES_USER=twitter \
    --from-literal=POSTGRES_PASSWORD=FAKE-dev-password
secret minio minio-root --from-literal=MINIO_ROOT_USER=FAKE-dev-access-key \
    --from-literal=MINIO_ROOT_PASSWORD=FAKE-dev-secret-key
started=$(now)
kubectl apply -k "$REPO/k8s/datastores-plain" >/dev/null
# Presigned media URLs name 127.0.0.1:30900 (the overlay): MinIO's NodePort.
kubectl -n minio apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: minio-node-port}
spec:
  type: NodePort
  selector: {app.kubernetes.io/name: minio}
  ports: [{name: s3, port: 9000, targetPort: s3, nodePort: 30900}]
YAML
for store in redis postgres nats cassandra minio; do
    kubectl -n "$store" rollout status "statefulset/$store" --timeout=15m >/dev/null
done
say "datastores Ready: $(since "$started") s"

kubectl apply -k "$REPO/k8s/namespace" >/dev/null
if ! kubectl -n "$NS" get secret twitter-jwt-keys >/dev/null 2>&1; then
    key="$WORK/k$(date -u +%Y%m%dT%H%MZ).pem"
    openssl genpkey -algorithm ed25519 -out "$key" 2>/dev/null
    kubectl -n "$NS" create secret generic twitter-jwt-keys --from-file="$key" >/dev/null
fi
wait_app() {  # RELEASE: the migration Job, then every Deployment rolled out
    kubectl -n "$NS" wait --for=condition=complete "job/migrate-$1" --timeout=15m >/dev/null
    for d in "${DEPLOYMENTS[@]}"; do
        kubectl -n "$NS" rollout status "deployment/$d" --timeout=15m >/dev/null
    done
}
started=$(now)
kubectl apply -k "$REPO/k8s/overlays/single-node" >/dev/null
wait_app dev
say "deploy-to-ready (dev: migration Job, init containers, ${#DEPLOYMENTS[@]} Deployments): $(since "$started") s"
kubectl -n "$NS" get pods -o wide | tee -a "$REPORT"
not_ready="$(kubectl -n "$NS" get pods --no-headers | awk '$3 == "Running" && split($2, r, "/") && r[1] != r[2]')"
[[ -z "$not_ready" ]] || { echo "pods not Ready: $not_ready" >&2; exit 1; }
init_waits="$(kubectl -n "$NS" get pods -o jsonpath='{range .items[*]}{range .status.initContainerStatuses[*]}{.name}={.state.terminated.reason}{"\n"}{end}{end}' | sort | uniq -c)"
say "init containers: $(echo $init_waits)"
curl -fsS "$EDGE/healthz" | grep -q ok

# ---- 3. the end-to-end suite through the edge
# Files that go through the edge: users, tweets, timeline (timeline-worker
# fanout), search (search-worker indexing), media, messages, notifications
# (+ worker), lists, polls, blocks, ...; ratelimit answers every request. The
# few tests that reach into the local stack's stores are left out
# (tools/k8s/e2e-deselect.txt).
E2E_FILES=(test_users_edge test_tweets_edge test_timeline_edge test_search_edge
    test_media_edge test_messages_edge test_notifications_edge test_lists_edge
    test_polls_edge test_blocks_edge test_block_matrix test_page_tokens
    test_pinned_tweet_edge test_quotes_bookmarks_edge test_text_rules_edge
    test_trends_by_place_edge)
E2E_DESELECT="${K8S_E2E_DESELECT:-$(cat "$REPO/tools/k8s/e2e-deselect.txt" 2>/dev/null | grep -v '^#' | tr '\n' ' ')}"
# The fixture that makes accounts (media, messages) signs up over gRPC: the
# users Service, port-forwarded to 127.0.0.1 at the address the tests use.
users_addr="$(cd "$REPO" && "$PY" -c 'from stack import contract, topology; print(contract.build(topology.load())["USERS_ADDR"])')"
kubectl -n "$NS" port-forward svc/users "${users_addr##*:}:50051" --address 127.0.0.1 > "$WORK/port-forward.log" 2>&1 &
FORWARD_PID=$!
token_secret="$(kubectl -n "$NS" get secret -o name | grep twitter-internal-token | head -1)"
internal_token="$(kubectl -n "$NS" get "$token_secret" -o jsonpath='{.data.INTERNAL_TOKEN}' | base64 -d)"
args=()
for f in "${E2E_FILES[@]}"; do args+=("tests/e2e/$f.py"); done
for t in $E2E_DESELECT; do args+=(--deselect "$t"); done
set +e
(cd "$REPO" && EDGE_PORT="$EDGE_NODE_PORT" INTERNAL_TOKEN="$internal_token" nice -n 5 "$PY" -m pytest -q -p no:cacheprovider \
    -o addopts="" "${args[@]}" 2>&1 | tee "$WORK/e2e.log" | tail -25)
set -e
kill "$FORWARD_PID" 2>/dev/null || true; wait "$FORWARD_PID" 2>/dev/null || true
say "e2e (edge-only subset, ${#E2E_FILES[@]} files): $(grep -E '^[0-9]+ (passed|failed)|passed|failed' "$WORK/e2e.log" | tail -1)"

# ---- memory, now that everything runs
rss() {  # PID...: their resident memory, MiB
    local total=0 pid
    for pid in "$@"; do
        total=$((total + $(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)))
    done
    echo $((total / 1024))
}
mem_report() {  # WHEN
    local pids=() c shims pods_mib
    for c in "${COMPONENTS[@]}"; do pids+=("$(pid_of "$c")"); done
    shims=($(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" || true))
    pods_mib=$(( $(cat /sys/fs/cgroup/memory/kubepods/memory.usage_in_bytes 2>/dev/null || echo 0) / 1048576 ))
    say "memory ($1): host components (etcd ... CoreDNS) $(rss "${pids[@]}") MiB RSS," \
        "${#shims[@]} shims $(rss "${shims[@]}") MiB, pods (kubepods cgroup) $pods_mib MiB"
}
mem_report "datastores + app, 1 replica each"

# ---- traffic helpers
traffic_start() {  # NAME
    rm -f "$WORK/$1.stop" "$WORK/$1.json.ready"
    (cd "$REPO" && "$PY" -m tools.k8s.traffic --edge "$EDGE" --until "$WORK/$1.stop" \
        --out "$WORK/$1.json" > "$WORK/$1.log" 2>&1) &
    TRAFFIC_PID=$!
    for _ in $(seq 240); do [[ -f "$WORK/$1.json.ready" ]] && return; sleep 0.5; done
    echo "traffic $1: setup failed" >&2; cat "$WORK/$1.log" >&2; exit 1
}
traffic_stop() {  # NAME: the table row
    touch "$WORK/$1.stop"
    wait "$TRAFFIC_PID" || { cat "$WORK/$1.log" >&2; exit 1; }
    "$PY" - "$WORK/$1.json" "$2" <<'PY' | tee -a "$REPORT"
import json, sys
s = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]:<22} | {s['seconds']:>5} | {s['reads']:>5} | {s['failed_reads']:>6} | {s['writes']:>6} "
      f"| {s['answered']:>8} | {s['refused']:>7} | {s['unanswered']:>10} | {s['lost']:>4} | {s['p99_ms']:>6} |")
for what, n in sorted(s["failures"].items()):
    print(f"|   {n} x {what}")
PY
}
table_head() {
    say "| $(printf '%-22s' "$1") |     s | reads | failed | writes | answered | refused | unanswered | lost | p99 ms |"
    say "|------------------------|-------|-------|--------|--------|----------|---------|------------|------|--------|"
}

# ---- 4. release v0.2.0 under traffic
# k8s/ and edge/ (whose kustomization makes the rate-limit ConfigMap).
tree="$WORK/release-$V2/k8s"
mkdir -p "$WORK/release-$V2" && cp -r "$REPO/k8s" "$REPO/edge" "$WORK/release-$V2/"
sed -i "s/^\(    newTag: \).*/\1$V2/; s/^\(      - RELEASE=\).*/\1${V2//./-}/" "$tree/overlays/dev/kustomization.yaml"
say ""; say "rolling release dev -> $V2 (Job migrate-${V2//./-} adds $migration) under traffic:"
table_head phase
traffic_start rollout
started=$(now)
kubectl apply -k "$tree/overlays/single-node" >/dev/null
wait_app "${V2//./-}"
rollout_seconds=$(since "$started")
traffic_stop rollout "rollout ($rollout_seconds s)"
images="$(kubectl -n "$NS" get deploy -o jsonpath='{range .items[*]}{.spec.template.spec.containers[0].image}{"\n"}{end}' | sort -u)"
say "images after the rollout: $(echo $images)"
[[ "$images" == "ghcr.io/example/twitter-mesh:$V2" ]] || { echo "rollout incomplete" >&2; exit 1; }

# ---- 5. one pod of each Deployment deleted under traffic (two replicas each)
for d in "${DEPLOYMENTS[@]}"; do
    kubectl -n "$NS" patch hpa "$d" --type merge -p '{"spec":{"minReplicas":2,"maxReplicas":2}}' >/dev/null
done
for d in "${DEPLOYMENTS[@]}"; do
    for _ in $(seq 600); do
        [[ "$(kubectl -n "$NS" get deploy "$d" -o jsonpath='{.status.readyReplicas}')" == 2 ]] && break
        sleep 1
    done
done
say ""; say "one pod deleted under traffic (2 replicas each; the row ends once 2 are Ready again):"
table_head "deleted pod of"
for d in "${DEPLOYMENTS[@]}"; do
    traffic_start "kill-$d"
    pod="$(kubectl -n "$NS" get pods -l "app.kubernetes.io/name=$d" -o jsonpath='{.items[0].metadata.name}')"
    started=$(now)
    kubectl -n "$NS" delete pod "$pod" --wait=false >/dev/null
    # Until the deleted pod is gone and two are Ready again.
    for _ in $(seq 600); do
        if ! kubectl -n "$NS" get pod "$pod" >/dev/null 2>&1 \
            && [[ "$(kubectl -n "$NS" get deploy "$d" -o jsonpath='{.status.readyReplicas}')" == 2 ]]; then
            break
        fi
        sleep 1
    done
    traffic_stop "kill-$d" "$d ($(since "$started") s)"
done
mem_report "datastores + app, 2 replicas each"

# ---- 6. the app goes; the data stays
counts() {
    echo "postgres users=$(kubectl -n postgres exec postgres-0 -- psql -h /tmp -U twitter -d twitter -tAc 'SELECT count(*) FROM users' 2>/dev/null)" \
        "redis keys=$(kubectl -n redis exec redis-0 -- redis-cli dbsize 2>/dev/null)" \
        "nats messages=$(kubectl -n nats exec nats-0 -- curl -fsS 'http://127.0.0.1:8222/jsz' 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["messages"])')" \
        "cassandra keyspace+commitlog KiB=$(kubectl -n cassandra exec cassandra-0 -- sh -c 'du -sk /data/data/twitter /data/commitlog | cut -f1 | paste -sd+' 2>/dev/null)" \
        "minio objects dir=$(kubectl -n minio exec minio-0 -- sh -c 'ls /data/twitter-media 2>/dev/null | wc -l')"
}
say ""
say "before delete -k: $(counts)"
started=$(now)
kubectl delete -k "$tree/overlays/single-node" --wait=true >/dev/null
for _ in $(seq 300); do
    [[ -z "$(kubectl -n "$NS" get pods --no-headers --field-selector status.phase=Running 2>/dev/null)" ]] && break
    sleep 1
done
say "app deleted in $(since "$started") s; running pods left in $NS: $(kubectl -n "$NS" get pods --no-headers --field-selector status.phase=Running 2>/dev/null | wc -l)"
say "after delete -k:  $(counts)"
release_row="$(kubectl -n postgres exec postgres-0 -- psql -h /tmp -U twitter -d twitter -tAc 'SELECT release FROM k8s_e2e_releases')"
say "v0.2.0's migration applied: k8s_e2e_releases = $release_row"


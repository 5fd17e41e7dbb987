#!/usr/bin/env bash
# `make k8s-up` (root): a single-node Kubernetes v1.35 cluster on this machine
# from the pinned binaries of tools/k8s/install_apiserver.sh --cluster and
# Debian's containerd/runc/CNI plugins. Starts, in order: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, containerd, kubelet, kube-proxy,
# CoreDNS; a component already running is left alone (idempotent). The machine
# state it is about to change is recorded first (cluster_down.sh restores it).
#
# The host's facts behind the settings (issue 30): cgroup v1 (kubelet
# failCgroupV1: false, cgroupfs), no CAP_SYS_RESOURCE (containerd
# restrict_oom_score_adj), no registry (a local pause image), loopback only
# (kubelet and every port on 127.0.0.1, the hostname resolves to 127.0.0.1).
set -euo pipefail
source "$(dirname "$0")/cluster_env.sh"
[[ $EUID -eq 0 ]] || { echo "k8s-up: run as root" >&2; exit 1; }
started_at=$(date +%s.%N)

"$REPO/tools/k8s/install_runtime.sh"
"$REPO/tools/k8s/install_apiserver.sh" --cluster

# --- the machine before us (only when nothing of ours runs: a second k8s-up
# must not record the cluster's own changes as the baseline)
if [[ ! -f "$BASELINE/sysctl" ]]; then
    mkdir -p "$BASELINE"
    for key in "${SYSCTLS[@]}"; do
        echo "$key=$(sysctl -n "$key" 2>/dev/null || echo absent)"
    done > "$BASELINE/sysctl"
    nft list ruleset > "$BASELINE/nft"
    nft list tables > "$BASELINE/nft.tables"
    mkdir -p "$BASELINE/nft.d"
    while read -r _ family name; do
        nft list table "$family" "$name" > "$BASELINE/nft.d/$family.$name"
    done < "$BASELINE/nft.tables"
    findmnt -rn -o TARGET | sort > "$BASELINE/mounts"
    for path in "${VAR_PATHS[@]}" /run/containerd /run/netns /etc/cni; do
        [[ -e "$path" ]] && echo "$path"
    done > "$BASELINE/paths" || true
    echo "k8s-up: machine state recorded in $BASELINE"
fi

mkdir -p "$STATE"/{pids,logs,pki,cni/net.d,containerd} "$CONTAINERD_ROOT"

# A config file is rewritten only when it changes: kube-proxy exits when its
# file is touched, and a second k8s-up must leave a running cluster alone.
write() {  # FILE < content
    local tmp; tmp="$(mktemp "$1.XXXXXX")"
    cat > "$tmp"
    if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv -f "$tmp" "$1"; fi
}

# --- certificates: one CA; client certificates name each component's user
pki="$STATE/pki"
cert() {  # NAME SUBJECT [SAN]: pki/NAME.{key,crt} signed by the CA
    [[ -f "$pki/$1.crt" ]] && return
    openssl genrsa -out "$pki/$1.key" 2048 2>/dev/null
    openssl req -new -key "$pki/$1.key" -subj "$2" -out "$pki/$1.csr" 2>/dev/null
    local ext="$pki/$1.ext"
    {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        if [[ -n "${3:-}" ]]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$3"
        else echo "extendedKeyUsage=clientAuth"; fi
    } > "$ext"
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
        -days 30 -extfile "$ext" -out "$pki/$1.crt" 2>/dev/null
}
kubeconfig() {  # NAME: STATE/NAME.kubeconfig with pki/NAME's certificate
    write "$STATE/$1.kubeconfig" <<CFG
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: "$pki/ca.crt"}}]
users: [{name: $1, user: {client-certificate: "$pki/$1.crt", client-key: "$pki/$1.key"}}]
contexts: [{name: local, context: {cluster: local, user: $1}}]
current-context: local
CFG
}
if [[ ! -f "$pki/ca.crt" ]]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" \
        -days 30 -subj "/CN=twitter-k8s-ca" 2>/dev/null
    openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
    openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
fi
cert apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
cert admin "/O=system:masters/CN=admin"
cert kube-controller-manager "/CN=system:kube-controller-manager"
cert kube-scheduler "/CN=system:kube-scheduler"
cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
cert kube-proxy "/CN=system:kube-proxy"
cert coredns "/CN=system:coredns"
for user in admin kube-controller-manager kube-scheduler kubelet kube-proxy coredns; do
    kubeconfig "$user"
done

start() {  # NAME COMMAND...: in the background, logged, its pid recorded
    local name="$1"; shift
    if running "$name"; then echo "  $name: already running (pid $(pid_of "$name"))"; return; fi
    setsid "$@" >> "$STATE/logs/$name.log" 2>&1 < /dev/null &
    echo $! > "$STATE/pids/$name"
    echo "  $name: started (pid $!)"
}
wait_for() {  # WHAT SECONDS COMMAND...: until COMMAND succeeds
    local what="$1" seconds="$2"; shift 2
    for ((i = 0; i < seconds * 4; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    echo "k8s-up: $what not ready after ${seconds}s; see $STATE/logs/" >&2
    exit 1
}

# --- control plane
start etcd "$BIN/etcd" --name "$NODE_NAME" --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster "$NODE_NAME=http://127.0.0.1:$((ETCD_PORT + 1))" \
    --listen-metrics-urls "http://127.0.0.1:$((ETCD_PORT + 2))" --quota-backend-bytes 2147483648
wait_for etcd 60 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

start kube-apiserver "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --secure-port "$API_PORT" --advertise-address 127.0.0.1 \
    --endpoint-reconciler-type none --kubelet-preferred-address-types Hostname \
    --client-ca-file "$pki/ca.crt" --tls-cert-file "$pki/apiserver.crt" \
    --tls-private-key-file "$pki/apiserver.key" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --authorization-mode Node,RBAC --service-cluster-ip-range "$SERVICE_CIDR" \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --enable-admission-plugins NodeRestriction --profiling=false
wait_for kube-apiserver 120 kubectl get --raw /readyz

start kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig "$STATE/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$STATE/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig "$STATE/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --profiling=false
start kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$STATE/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$STATE/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$STATE/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --profiling=false

# --- node: containerd, the bridge network, kubelet
write "$STATE/containerd/config.toml" <<TOML
version = 2
root = "$CONTAINERD_ROOT"
state = "$STATE/containerd/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10.1"
  # runc cannot write /proc/self/oom_score_adj without CAP_SYS_RESOURCE.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
TOML
start containerd containerd --config "$STATE/containerd/config.toml"
wait_for containerd 60 ctr version

# The pods' bridge, made before CoreDNS binds its gateway address (the bridge
# plugin adopts it). Pods get routes to the bridge and to the Service range
# (kube-proxy turns those into pod addresses) and no default route, no
# masquerading: nothing beyond the cluster is reachable from a pod.
write "$STATE/cni/net.d/10-twitter.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "twitter-k8s",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "isDefaultGateway": true, "ipMasq": true,
     "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$BRIDGE_IP"}]],
              "dataDir": "$STATE/cni/ipam"}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
JSON
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$BRIDGE_IP/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
fi

"$REPO/tools/k8s/images.sh" system   # pause (the sandbox image)

# The pods resolve through CoreDNS only; nothing upstream of it is reachable.
: > "$STATE/resolv.conf"
write "$STATE/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$pki/ca.crt"}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: "unix://$CONTAINERD_SOCK"
clusterDNS: ["$CLUSTER_DNS"]
clusterDomain: cluster.local
resolvConf: "$STATE/resolv.conf"
podCIDR: "$POD_CIDR"
staticPodPath: ""
rotateCertificates: false
evictionHard: {memory.available: 200Mi, nodefs.available: 2%, imagefs.available: 2%, nodefs.inodesFree: 2%}
imageGCHighThresholdPercent: 95
imageGCLowThresholdPercent: 90
YAML
start kubelet "$BIN/kubelet" --config "$STATE/kubelet.yaml" --kubeconfig "$STATE/kubelet.kubeconfig" \
    --hostname-override "$NODE_NAME"
wait_for "node $NODE_NAME Ready" 120 \
    kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s

# --- Services: kube-proxy (iptables mode: the nftables mode has no NodePorts on
# 127.0.0.1), then CoreDNS on the bridge's gateway for the pods.
write "$STATE/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$STATE/kube-proxy.kubeconfig"}
hostnameOverride: "$NODE_NAME"
mode: iptables
clusterCIDR: "$POD_CIDR"
nodePortAddresses: ["127.0.0.1/32"]
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Leave the host's conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s,
            udpTimeout: 0s, udpStreamTimeout: 0s}
YAML
start kube-proxy "$BIN/kube-proxy" --config "$STATE/kube-proxy.yaml"
wait_for kube-proxy 60 curl -fsS http://127.0.0.1:10256/healthz

kubectl apply --server-side -f - >/dev/null <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
  - apiGroups: [""]
    resources: [endpoints, services, pods, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:coredns"}]
YAML
write "$STATE/Corefile" <<COREFILE
.:53 {
    bind $BRIDGE_IP
    errors
    health 127.0.0.1:8181
    ready 127.0.0.1:8182
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $STATE/coredns.kubeconfig local
        pods insecure
        ttl 5
    }
    cache 5
}
COREFILE
start coredns "$BIN/coredns" -conf "$STATE/Corefile"
wait_for coredns 60 curl -fsS http://127.0.0.1:8182/ready

echo "k8s-up: node $NODE_NAME Ready, API https://127.0.0.1:$API_PORT," \
    "KUBECONFIG=$STATE/admin.kubeconfig"
awk -v s="$started_at" -v e="$(date +%s.%N)" 'BEGIN { printf "bring-up: %.1f s\n", e - s }'

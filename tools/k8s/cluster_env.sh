# Sourced by tools/k8s/cluster_{up,down}.sh, images.sh and e2e.sh: where the
# single-node cluster keeps its binaries, state and logs, and its addresses.
# Everything listens on 127.0.0.1 except CoreDNS, which answers the pods on the
# bridge's gateway address; pods talk among themselves on that bridge.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${TWITTER_CACHE:-$HOME/.cache/twitter-mesh}"
BIN="$CACHE/bin"
# Images stay between runs (importing them is slow); containers never do.
CONTAINERD_ROOT="$CACHE/k8s/containerd"
# Everything else of a run: certificates, etcd, logs, pids. Removed by k8s-down.
STATE="${K8S_STATE:-/run/twitter-k8s}"
CONTAINERD_SOCK="$STATE/containerd/containerd.sock"
# Machine state before the first k8s-up, restored and checked by k8s-down.
BASELINE="$CACHE/k8s/baseline"

NODE_NAME="$(hostname | tr '[:upper:]' '[:lower:]')"
API_PORT="${K8S_API_PORT:-6443}"
ETCD_PORT="${K8S_ETCD_PORT:-2379}"
POD_CIDR="10.244.0.0/24"
BRIDGE="cni-twk8s0"
BRIDGE_IP="10.244.0.1"
SERVICE_CIDR="10.96.0.0/16"
CLUSTER_DNS="$BRIDGE_IP"
EDGE_NODE_PORT="${K8S_EDGE_NODE_PORT:-30080}"

# What the kubelet, the bridge plugin and kube-proxy change (the issue's list);
# k8s-down puts back the values found before the first k8s-up.
SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward
    net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables
    net.bridge.bridge-nf-call-ip6tables net.ipv4.conf.all.forwarding
    net.ipv6.conf.all.forwarding net.netfilter.nf_conntrack_max)
# Where the run leaves files: removed (with their mounts) by k8s-down.
VAR_PATHS=(/var/lib/kubelet /var/lib/cni /var/log/containers /var/log/pods "$STATE")

# The host processes, in start order (k8s-down stops them in reverse).
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet
    kube-proxy coredns)

kubectl() { KUBECONFIG="$STATE/admin.kubeconfig" "$BIN/kubectl" "$@"; }
ctr() { command ctr --address "$CONTAINERD_SOCK" "$@"; }

pid_of() { cat "$STATE/pids/$1" 2>/dev/null || true; }
running() {  # NAME: its recorded process is alive (and is that program)
    local pid; pid="$(pid_of "$1")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null \
        && grep -q "$1" "/proc/$pid/cmdline" 2>/dev/null
}

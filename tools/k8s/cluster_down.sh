#!/usr/bin/env bash
# `make k8s-down` (root): stop what `make k8s-up` started and put the machine
# back as k8s-up found it (cluster_up.sh recorded it in $BASELINE): sysctls,
# nftables/iptables rules, mounts, cgroups, the bridge, network namespaces and
# /var/lib/kubelet, /var/lib/cni, /var/log/{containers,pods}. Then it checks
# each of those and prints the check; it fails if anything is left.
# Images stay in $CONTAINERD_ROOT (a cache; containers and their snapshots go).
set -uo pipefail
source "$(dirname "$0")/cluster_env.sh"
[[ $EUID -eq 0 ]] || { echo "k8s-down: run as root" >&2; exit 1; }

stop() {  # NAME: SIGTERM, then SIGKILL after 20 s
    local pid; pid="$(pid_of "$1")"
    if running "$1"; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        echo "  $1: stopped (pid $pid)"
    fi
    rm -f "$STATE/pids/$1"
}

# --- the pods first, while the kubelet can still stop their sandboxes (which
# runs the CNI plugins' DEL: veths, IPAM, portmap rules go with them). The
# controllers go first so that nothing re-creates a deleted pod.
if running kube-apiserver && running kubelet; then
    stop kube-controller-manager
    stop kube-scheduler
    kubectl delete pods --all --all-namespaces --force --grace-period=0 --wait=false >/dev/null 2>&1
    for _ in $(seq 240); do
        [[ -z "$(ctr -n k8s.io tasks ls -q 2>/dev/null)" ]] && break
        sleep 0.25
    done
fi
for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    name="${COMPONENTS[i]}"
    if [[ "$name" == containerd ]] && running containerd; then
        # Whatever the kubelet left: kill, delete (their snapshots go too).
        for task in $(ctr -n k8s.io tasks ls -q 2>/dev/null); do
            ctr -n k8s.io tasks kill -s SIGKILL "$task" >/dev/null 2>&1
            ctr -n k8s.io tasks delete -f "$task" >/dev/null 2>&1
        done
        for container in $(ctr -n k8s.io containers ls -q 2>/dev/null); do
            ctr -n k8s.io containers delete "$container" >/dev/null 2>&1
        done
    fi
    stop "$name"
done
# containerd's shims outlive it: only those serving this cluster's socket.
for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" || true); do
    kill -KILL "$pid" 2>/dev/null && echo "  shim: killed (pid $pid)"
done

# --- netfilter: kube-proxy's own cleanup, then every table back to the baseline
[[ -x "$BIN/kube-proxy" ]] && "$BIN/kube-proxy" --cleanup >/dev/null 2>&1
restore_nft() {
    local family name
    nft list tables 2>/dev/null | while read -r _ family name; do
        grep -qx "table $family $name" "$BASELINE/nft.tables" 2>/dev/null \
            || nft delete table "$family" "$name"
    done
    while read -r _ family name; do
        [[ -z "$family" ]] && continue
        if ! diff -q <(nft list table "$family" "$name" 2>/dev/null) \
                "$BASELINE/nft.d/$family.$name" >/dev/null; then
            nft delete table "$family" "$name" 2>/dev/null
            nft -f "$BASELINE/nft.d/$family.$name"
        fi
    done < "$BASELINE/nft.tables"
}
[[ -f "$BASELINE/nft.tables" ]] && restore_nft

# --- network: namespaces the CNI made, the bridge
for netns in /run/netns/cni-*; do
    [[ -e "$netns" ]] && ip netns delete "$(basename "$netns")" 2>/dev/null
done
ip link show "$BRIDGE" >/dev/null 2>&1 && ip link delete "$BRIDGE"

# --- mounts under the run's paths (deepest first), then the paths themselves
new_mounts() {
    findmnt -rn -o TARGET | sort | comm -23 - "$BASELINE/mounts" 2>/dev/null \
        | grep -E "^(/var/lib/kubelet|$STATE|$CONTAINERD_ROOT|/run/containerd|/run/netns|/var/run/netns)" \
        | sort -r
}
if [[ -f "$BASELINE/mounts" ]]; then
    for target in $(new_mounts); do
        umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null
    done
fi
# The kubelet's cgroups (cgroupfs driver), leaves first.
for root in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d "$root" ]] && find "$root" -depth -type d -exec rmdir {} + 2>/dev/null
done
for path in "${VAR_PATHS[@]}" /run/containerd /run/netns /etc/cni; do
    grep -qx "$path" "$BASELINE/paths" 2>/dev/null || rm -rf --one-file-system "$path"
done
# The containers' snapshots went with them; leave the image cache tidy.
rm -rf "$CONTAINERD_ROOT/io.containerd.runtime.v2.task" 2>/dev/null

# --- sysctls
if [[ -f "$BASELINE/sysctl" ]]; then
    while IFS='=' read -r key value; do
        [[ "$value" == absent ]] && continue
        [[ "$(sysctl -n "$key" 2>/dev/null)" == "$value" ]] || sysctl -qw "$key=$value"
    done < "$BASELINE/sysctl"
fi

# --- the check
echo "k8s-down check:"
failed=0
check() {  # LABEL COMMAND...: COMMAND succeeds when the machine is clean
    local label="$1"; shift
    if "$@"; then printf '  %-58s ok\n' "$label"
    else printf '  %-58s LEFT BEHIND\n' "$label"; failed=1; fi
}
no_processes() {
    local left=0 name
    for name in "${COMPONENTS[@]}"; do running "$name" && { echo "    $name"; left=1; }; done
    pgrep -f -- "-address $CONTAINERD_SOCK" >/dev/null && { echo "    containerd shims"; left=1; }
    return $left
}
sysctls_restored() {
    local key value ok=0
    while IFS='=' read -r key value; do
        [[ "$value" == absent ]] && continue
        local now; now="$(sysctl -n "$key" 2>/dev/null)"
        [[ "$now" == "$value" ]] || { echo "    $key=$now (was $value)"; ok=1; }
    done < "$BASELINE/sysctl"
    return $ok
}
nft_restored() { diff <(nft list ruleset) "$BASELINE/nft" >/dev/null; }
no_new_mounts() { [[ -z "$(new_mounts)" ]]; }
no_paths() {
    local path left=0
    for path in "${VAR_PATHS[@]}" /run/containerd /run/netns /etc/cni; do
        if [[ -e "$path" ]] && ! grep -qx "$path" "$BASELINE/paths"; then echo "    $path"; left=1; fi
    done
    return $left
}
no_link() { ! ip link show "$BRIDGE" >/dev/null 2>&1 && ! ip -o link | grep -q "master $BRIDGE"; }
no_cgroups() { ! ls -d /sys/fs/cgroup/*/kubepods >/dev/null 2>&1; }
if [[ ! -f "$BASELINE/sysctl" ]]; then
    echo "  (no baseline recorded: k8s-up never ran here)"
    check "no cluster process (etcd ... coredns, shims)" no_processes
    exit $failed
fi
check "no cluster process (etcd ... coredns, shims)" no_processes
check "sysctls as before ($(wc -l < "$BASELINE/sysctl") keys)" sysctls_restored
check "nftables/iptables ruleset identical to before" nft_restored
check "no mount left (kubelet volumes, snapshots, netns)" no_new_mounts
check "no /var/lib/kubelet, /var/lib/cni, /var/log/{containers,pods}" no_paths
check "no bridge $BRIDGE, no veth" no_link
check "no kubepods cgroup" no_cgroups
if ((failed)); then echo "k8s-down: something is left behind (above)" >&2; exit 1; fi
rm -rf "$BASELINE"
echo "k8s-down: the machine is as k8s-up found it"

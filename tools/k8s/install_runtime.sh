#!/usr/bin/env bash
# The node's runtime from Debian (root): containerd 1.6, runc, the CNI plugins,
# and the netfilter tools kube-proxy and the teardown use; mmdebstrap and umoci
# build the images (tools/image/build.sh, tools/k8s/images.sh). Quiet and
# quick when installed.
set -euo pipefail
PACKAGES=(containerd runc containernetworking-plugins iptables conntrack nftables mmdebstrap umoci)
missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "k8s runtime: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

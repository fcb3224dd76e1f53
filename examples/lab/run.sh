#!/usr/bin/env bash
# The Reflex cluster scene, step by step, in network namespaces (as root):
# etcd, two route reflectors, three nodes with bgp-client and Felix,
# workloads added by the calico CNI plugin, pings, a policy, a reflector
# killed, CNI DEL. Builds the release binaries first; installs missing tools.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
bash scripts/install-deps.sh
cargo build --release --bins -p bgp-reflector -p bgp-client -p reflex-cni -p reflex-lab
exec target/release/reflex-lab --bin-dir target/release "$@"

#!/usr/bin/env bash
# Install the system tools that Reflex's tests need, if they are missing.
#
# Idempotent: a tool that is already on PATH is left alone, and `apt-get
# update` runs only when at least one Debian package has to be installed.
# Written for Debian 12 as root with only the Rust toolchain installed (the
# developers' machines and CI); with sudo available it also works as a user.
#
# To add a tool, add one line to APT_TOOLS ("command-to-look-for  package",
# or "/path/of/a/file  package" for a package without a command) or to
# CARGO_TOOLS ("cargo-subcommand  crate").
set -euo pipefail

# command on PATH that proves the package is installed, then the Debian package.
APT_TOOLS=(
    "tshark     tshark"   # Wireshark's dissectors: the independent oracle for our encoder
    "bgpdump    bgpdump"  # RIPE's MRT reader: the reference output for our MRT decoder
    "c++        g++"      # cargo-fuzz builds libFuzzer (C++)
    "ip         iproute2" # network namespaces for the interop lab
    "ping       iputils-ping"
    "bird       bird2"    # real peers for the interop tests
    "gobgpd     gobgpd"
    "vtysh      frr"
    "etcd       etcd-server"  # the datastore's real backend
    "nft        nftables"     # Felix's ACLs (bgp-client::felix)
    "/usr/lib/cni/host-local  containernetworking-plugins"  # reference CNI plugins (reflex-cni tests)
    "protoc     protobuf-compiler"
    # google/protobuf/*.proto that etcd-client's build needs
    "/usr/include/google/protobuf/timestamp.proto  libprotobuf-dev"
)

# cargo subcommand (as in `cargo NAME`), then the crate that provides it.
CARGO_TOOLS=(
    "fuzz  cargo-fuzz"
)

log() { printf '[install-deps] %s\n' "$*"; }

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        log "not root and no sudo: missing packages cannot be installed"
    fi
fi

# Is the command (or, for an absolute path, the file) there?
present() {
    if [[ $1 == /* ]]; then
        [[ -e $1 ]]
    else
        command -v "$1" >/dev/null 2>&1
    fi
}

missing=()
for entry in "${APT_TOOLS[@]}"; do
    read -r cmd pkg <<<"$entry"
    present "$cmd" || missing+=("$pkg")
done

if ((${#missing[@]} > 0)); then
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark's postinst asks whether non-root users may capture; answer "no".
    echo "wireshark-common wireshark-common/install-setuid boolean false" \
        | "${SUDO[@]}" debconf-set-selections
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    log "system packages present"
fi

for entry in "${CARGO_TOOLS[@]}"; do
    read -r sub crate <<<"$entry"
    if cargo "$sub" --help >/dev/null 2>&1; then
        log "cargo $sub present"
    else
        log "installing $crate (cargo install --locked)"
        cargo install "$crate" --locked
    fi
done

# Verify: every tool must now be usable, or the test run would fail later
# with a less clear message.
for entry in "${APT_TOOLS[@]}"; do
    read -r cmd pkg <<<"$entry"
    present "$cmd" || { log "ERROR: $cmd ($pkg) still missing"; exit 1; }
done
for entry in "${CARGO_TOOLS[@]}"; do
    read -r sub crate <<<"$entry"
    cargo "$sub" --help >/dev/null 2>&1 || { log "ERROR: cargo $sub ($crate) still missing"; exit 1; }
done
log "all tools present"

//! The cluster scene (`reflex-lab`) as a test: etcd, two reflectors, three
//! nodes with Felix, workloads from the CNI plugin, pings, policy, failover
//! and DEL, with the real binaries. Every check is in the scene; this test
//! fails when any of them does.
//!
//! It needs the workspace's other binaries next to `reflex-lab` in cargo's
//! target directory; `cargo test --workspace` builds them all. Missing
//! ones are built here with `cargo build` (a stale one is not rebuilt: run
//! the workspace's tests, or `cargo build --bins`, after changing them).

use std::path::{Path, PathBuf};
use std::process::Command;

use reflex_testlab::skip_unless;

const LAB: &str = env!("CARGO_BIN_EXE_reflex-lab");
const PACKAGES: [(&str, &str); 4] = [
    ("bgp-reflector", "bgp-reflector"),
    ("bgp-client", "bgp-client"),
    ("calico", "reflex-cni"),
    ("calico-ipam", "reflex-cni"),
];

/// The directory of the workspace's binaries, with every one the scene
/// needs (missing ones are built).
fn bin_dir() -> PathBuf {
    for (bin, package) in PACKAGES {
        reflex_testlab::workspace_binary(LAB, bin, package);
    }
    Path::new(LAB)
        .parent()
        .expect("the binary's directory")
        .to_path_buf()
}

#[test]
fn the_whole_cluster_scene_holds() {
    if skip_unless(&["etcd", "nft", "ping"]) {
        return;
    }
    let output = Command::new(LAB)
        .arg("--bin-dir")
        .arg(bin_dir())
        .output()
        .expect("run reflex-lab");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(output.status.success(), "the scene failed: {stderr}");
    assert!(stdout.contains("ok: no IPAM handle left"), "{stdout}");
    assert!(stdout.contains("checks held"), "{stdout}");
}

//! Link the `bgp-reflector` binary with its hot functions first.
//!
//! `link/hot-symbols.txt` names the functions a reflector executes (start-up,
//! sessions, reflection; written by `benches/rr-harness/hot_symbols.py` from
//! a callgrind profile of the route-reflector harness). LLD's
//! `--symbol-ordering-file` places them first and together, so they fill
//! about 1.4 MB of contiguous text instead of being spread over all 7.4 MB:
//! the kernel maps a file-backed page on first use together with its
//! neighbours (fault-around), so spread-out code made most of the text
//! resident. Names the binary lacks (another profile, other features, a
//! stale file) are skipped by the linker; nothing else about the binary
//! changes.
//!
//! Only for release builds (the list names the release build's symbols;
//! 91 of an earlier list's 1,006 names were in a debug build, nearly all
//! the standard library's), for `x86_64-unknown-linux-gnu` with Rust 1.90
//! or later, whose default linker is LLD, and when no other linker is
//! asked for in `RUSTFLAGS` or `CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER`.
//! `REFLEX_SYMBOL_ORDER=off` turns it off (for a linker set in a cargo
//! configuration file, which a build script cannot see).

use std::env;
use std::path::Path;
use std::process::Command;

const ORDER_FILE: &str = "link/hot-symbols.txt";
const TARGET: &str = "x86_64-unknown-linux-gnu";
/// The first stable release whose default linker on [`TARGET`] is LLD.
const LLD_BY_DEFAULT_SINCE: (u32, u32) = (1, 90);

fn main() {
    println!("cargo:rerun-if-changed={ORDER_FILE}");
    println!("cargo:rerun-if-env-changed=REFLEX_SYMBOL_ORDER");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    let Some(manifest_dir) = env::var_os("CARGO_MANIFEST_DIR") else {
        return;
    };
    let order_file = Path::new(&manifest_dir).join(ORDER_FILE);
    let Some(order_file) = order_file.to_str() else {
        return;
    };
    // `-Wl,` splits its argument at commas.
    if order_file.contains(',') || !linker_is_default_lld() || !Path::new(order_file).exists() {
        return;
    }
    println!("cargo:rustc-link-arg-bin=bgp-reflector=-Wl,--symbol-ordering-file={order_file}");
    println!("cargo:rustc-link-arg-bin=bgp-reflector=-Wl,--no-warn-symbol-ordering");
}

/// Is the binary linked by the toolchain's default LLD?
fn linker_is_default_lld() -> bool {
    if env::var("REFLEX_SYMBOL_ORDER").is_ok_and(|v| v == "off") {
        return false;
    }
    // Cargo's PROFILE is "release" for every profile that inherits from it.
    if env::var("PROFILE").ok().as_deref() != Some("release") {
        return false;
    }
    if env::var("TARGET").ok().as_deref() != Some(TARGET) {
        return false;
    }
    if env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some() {
        return false;
    }
    let rustflags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if ["linker", "fuse-ld", "link-self-contained"]
        .iter()
        .any(|flag| rustflags.contains(flag))
    {
        return false;
    }
    rustc_version().is_some_and(|version| version >= LLD_BY_DEFAULT_SINCE)
}

/// (major, minor) of the compiler cargo builds with.
fn rustc_version() -> Option<(u32, u32)> {
    let rustc = env::var_os("RUSTC")?;
    let output = Command::new(rustc).arg("-V").output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let mut numbers = text.split_whitespace().nth(1)?.split('.');
    let major = numbers.next()?.parse().ok()?;
    let minor = numbers.next()?.parse().ok()?;
    Some((major, minor))
}

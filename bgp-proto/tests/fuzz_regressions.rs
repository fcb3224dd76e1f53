//! Replays the fuzz inputs under `cargo test`: every file of
//! `fuzz/regressions/<target>/` (inputs that once crashed a target) and of
//! `fuzz/seeds/<target>/` (the seed corpora) goes through the same check as
//! the fuzz target `<target>`. The checks live in `fuzz/src/checks.rs`, which
//! is compiled into this test as well as into the fuzz crate, so a target and
//! its regression test cannot drift apart.
//!
//! A failing file is reported by path; all files of a target are run before
//! the test fails, so one run lists every regression. (An input that
//! overflows the stack aborts the process instead; the last "replaying"
//! line on stderr names it.)

mod strategies;

#[path = "../../fuzz/src/checks.rs"]
mod checks;

use std::fs;
use std::io::{self, Write};
use std::panic;
use std::path::{Path, PathBuf};

/// The cargo-fuzz project at the workspace root.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted; none if the folder is absent.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths
}

/// Run every regression and seed input of `target` through `check`; fail
/// listing each input that panicked. Returns the number of inputs run.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let mut failures = Vec::new();
    let mut count = 0;
    for kind in ["regressions", "seeds"] {
        for path in inputs(kind, target) {
            let data = fs::read(&path).expect("readable fuzz input");
            if kind == "regressions" {
                // Straight to stderr, past the test harness's capture: a
                // stack overflow aborts the process before any report.
                let _ = writeln!(io::stderr(), "replaying {}", path.display());
            }
            if panic::catch_unwind(|| check(&data)).is_err() {
                failures.push(format!("{} ({})", path.display(), checks::hex(&data)));
            }
            count += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} inputs of `{target}` fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    count
}

#[test]
fn decode_message_inputs_pass() {
    assert!(replay("decode_message", checks::check_decode_message) > 0);
}

#[test]
fn decode_update_inputs_pass() {
    assert!(replay("decode_update", checks::check_decode_update) > 0);
}

#[test]
fn decode_mrt_inputs_pass() {
    assert!(replay("decode_mrt", checks::check_decode_mrt) > 0);
}

#[test]
fn roundtrip_inputs_pass() {
    assert!(replay("roundtrip", checks::check_roundtrip) > 0);
}

/// The context prefix of the inputs reads back as the context it encodes.
#[test]
fn context_bytes_round_trip() {
    for flags in 0u8..8 {
        for add_path in 0u8..16 {
            let bytes = [flags, add_path];
            let (ctx, rest) = checks::ctx_from_bytes(&bytes);
            assert!(rest.is_empty());
            assert_eq!(checks::ctx_to_bytes(&ctx), bytes);
        }
    }
    let (ctx, rest) = checks::ctx_from_bytes(&[]);
    assert_eq!((ctx, rest), (checks::ctx_from_bytes(&[0, 0]).0, &[][..]));
}

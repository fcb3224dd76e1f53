//! How much of the reflector's hot-symbol list a binary still has.
//!
//! `reflector/build.rs` links `bgp-reflector` with the functions named in
//! `reflector/link/hot-symbols.txt` first. The names are mangled, with a
//! hash that changes when the build's crate metadata does (other features,
//! other dependency versions), and the linker skips names it does not find:
//! a stale list costs resident memory without any error. The harness
//! therefore reports the share of listed functions the measured binary
//! defines next to its version, and warns when fewer than nine in ten are
//! there: the list is stale, or the binary was built with other features
//! (built together with another package, `cargo build -p bgp-reflector -p
//! reflex-rr-harness` unifies their features; build the reflector alone).

use std::collections::HashSet;
use std::path::Path;

/// The list, relative to the workspace root.
pub const LIST: &str = "reflector/link/hot-symbols.txt";

/// "N of M listed functions present" for `binary`, or why it is unknown.
pub fn coverage(binary: &Path, workspace: &Path) -> String {
    let list = match std::fs::read_to_string(workspace.join(LIST)) {
        Ok(list) => list,
        Err(e) => return format!("hot-symbol list unreadable: {e}"),
    };
    let nm = std::process::Command::new("nm")
        .arg("--defined-only")
        .arg(binary)
        .output();
    match nm {
        Ok(out) if out.status.success() => {
            let (present, listed) = count(&list, &String::from_utf8_lossy(&out.stdout));
            if is_stale(present, listed) {
                eprintln!(
                    "rr-bench: warning: {} defines only {present} of the {listed} functions \
                     of {LIST}; its memory and time are not those of a release build of the \
                     tree (build it alone: cargo build --release -p bgp-reflector)",
                    binary.display()
                );
            }
            format!("hot-symbol list: {present} of {listed} functions present")
        }
        Ok(out) => format!(
            "hot-symbol list: nm failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("hot-symbol list: nm unavailable: {e}"),
    }
}

/// Fewer than nine in ten listed functions present.
fn is_stale(present: usize, listed: usize) -> bool {
    present * 10 < listed * 9
}

/// (listed names that `nm_output` defines, listed names).
fn count(list: &str, nm_output: &str) -> (usize, usize) {
    let defined: HashSet<&str> = nm_output
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2))
        .collect();
    let listed: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let present = listed.iter().filter(|name| defined.contains(*name)).count();
    (present, listed.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_listed_names_the_binary_defines() {
        let nm = "0000000000001000 t _ZN4core3fmt5write17h01E\n\
                  0000000000002000 T main\n\
                  0000000000003000 t _ZN5tokio3run17h02E\n";
        let list = "_ZN5tokio3run17h02E\n_ZN5tokio3run17hffE\n\nmain\n";
        assert_eq!(count(list, nm), (2, 3));
        assert_eq!(count("", nm), (0, 0));
    }

    #[test]
    fn a_list_under_nine_tenths_present_is_stale() {
        assert!(is_stale(497, 995));
        assert!(is_stale(899, 1000));
        assert!(!is_stale(900, 1000));
        assert!(!is_stale(986, 995));
        assert!(!is_stale(0, 0));
    }
}

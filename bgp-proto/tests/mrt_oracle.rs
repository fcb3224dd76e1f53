//! Oracle test of the MRT decoder: for every MRT file of the shared data,
//! our `bgpdump -m` formatter must print exactly the lines the reference
//! bgpdump printed (`mrt/expect/<file>.bgp.gz`, see the data README).
//!
//! The data directory is `$REFLEX_SHARED_DATA/mrt`, or `shared/data/mrt`
//! beside the repository. A missing directory or expected file is a
//! failure, never a silent pass.

use std::io::Read;
use std::path::{Path, PathBuf};

use bgp_proto::mrt::MrtReader;
use bgp_proto::mrt::bgpdump::Bgpdump;
use flate2::read::MultiGzDecoder;

/// How many differing lines to show per file.
const SHOWN_DIFFERENCES: usize = 5;

fn mrt_dir() -> PathBuf {
    let data = match std::env::var_os("REFLEX_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    let dir = data.join("mrt");
    assert!(
        dir.join("expect").is_dir(),
        "shared MRT data not found: {} has no expect/ directory. Put the shared data \
         beside the repository (../shared/data) or set REFLEX_SHARED_DATA to the \
         directory that contains mrt/.",
        dir.display()
    );
    dir
}

/// Our lines for `path`. Records that cannot be read print nothing, as in
/// bgpdump; their number is returned too.
fn our_output(path: &Path) -> (String, usize) {
    let mut formatter = Bgpdump::new();
    let mut out = Vec::new();
    let mut bad = 0;
    for record in MrtReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
        match record {
            Ok(record) => formatter.write_record(&record, &mut out).unwrap(),
            Err(error) if error.is_io() => panic!("{}: {error}", path.display()),
            Err(_) => bad += 1,
        }
    }
    (String::from_utf8(out).expect("our output is UTF-8"), bad)
}

fn expected_output(path: &Path) -> String {
    let file = std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("expected output {}: {e}", path.display()));
    let mut text = String::new();
    MultiGzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text
}

/// Compare line by line: the number of identical lines, and a report of
/// the first differences (empty if the outputs are identical).
fn compare(ours: &str, expected: &str) -> (usize, String) {
    let ours: Vec<&str> = ours.lines().collect();
    let expected: Vec<&str> = expected.lines().collect();
    let mut matching = 0;
    let mut report = String::new();
    let mut shown = 0;
    for i in 0..ours.len().max(expected.len()) {
        let (a, b) = (ours.get(i), expected.get(i));
        if a == b {
            matching += 1;
        } else if shown < SHOWN_DIFFERENCES {
            shown += 1;
            report.push_str(&format!(
                "  line {}:\n    ours:     {}\n    expected: {}\n",
                i + 1,
                a.unwrap_or(&"(no line)"),
                b.unwrap_or(&"(no line)")
            ));
        }
    }
    if ours.len() != expected.len() {
        report.push_str(&format!(
            "  we print {} lines, bgpdump {}\n",
            ours.len(),
            expected.len()
        ));
    }
    (matching, report)
}

#[test]
fn every_shared_mrt_file_prints_as_bgpdump_prints_it() {
    let dir = mrt_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no MRT files in {}", dir.display());

    let mut failures = String::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let expected = expected_output(&dir.join("expect").join(format!("{name}.bgp.gz")));
        let (ours, bad_records) = our_output(path);
        let (matching, report) = compare(&ours, &expected);
        let total = expected.lines().count();
        println!("{name}: {matching} of {total} lines match ({bad_records} unreadable records)");
        if !report.is_empty() {
            failures.push_str(&format!("{name}:\n{report}"));
        }
    }
    assert!(
        failures.is_empty(),
        "output differs from bgpdump's:\n{failures}"
    );
}

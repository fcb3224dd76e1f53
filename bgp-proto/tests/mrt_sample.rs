//! The README's sample RIB, `examples/data/sample-rib.mrt.gz`: it is what
//! `examples/make-sample.rs` generates, and `mrt-dump` prints for it exactly
//! what `bgpdump -m` prints (when bgpdump is on PATH; with CI or
//! REFLEX_REQUIRE_TOOLS=1 set, a missing bgpdump is a failure).

use std::io::Read;
use std::path::PathBuf;
use std::process::Command;

use bgp_proto::mrt::bgpdump::dump_file;
use bgp_proto::mrt::{MrtBody, MrtReader, MrtRecord};

#[path = "../examples/make-sample.rs"]
mod make_sample;

fn sample_path() -> PathBuf {
    let path = make_sample::default_path();
    assert!(
        path.is_file(),
        "{} is missing: run `cargo run -p bgp-proto --example make-sample`",
        path.display()
    );
    path
}

#[test]
fn sample_file_is_what_the_generator_writes() {
    let path = sample_path();
    let read: Vec<MrtRecord> = MrtReader::open(&path)
        .unwrap()
        .map(|record| record.unwrap())
        .collect();
    assert_eq!(
        read,
        make_sample::sample_records().unwrap(),
        "{} is stale: run `cargo run -p bgp-proto --example make-sample`",
        path.display()
    );
    let routes: usize = read
        .iter()
        .map(|record| match &record.body {
            MrtBody::Rib(rib) => rib.entries.len(),
            _ => 0,
        })
        .sum();
    assert!((24..=100).contains(&routes), "{routes} routes");
    // The generator is deterministic (compare the data, not the gzip bytes,
    // which depend on the compression library).
    let mut generated = Vec::new();
    flate2::read::GzDecoder::new(&make_sample::sample_gzip().unwrap()[..])
        .read_to_end(&mut generated)
        .unwrap();
    let mut on_disk = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_end(&mut on_disk)
        .unwrap();
    assert_eq!(generated, on_disk);
}

fn bgpdump_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("bgpdump"))
        .find(|candidate| candidate.is_file())
}

#[test]
fn mrt_dump_of_the_sample_equals_bgpdump() {
    let path = sample_path();
    let Some(tool) = bgpdump_on_path() else {
        let required = std::env::var_os("CI").is_some()
            || std::env::var("REFLEX_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "bgpdump is not on PATH, and CI / REFLEX_REQUIRE_TOOLS=1 require it"
        );
        eprintln!("SKIPPED mrt_dump_of_the_sample_equals_bgpdump: bgpdump is not on PATH");
        return;
    };
    let out = Command::new(tool)
        .arg("-m")
        .arg("-v")
        .arg(&path)
        .output()
        .expect("running bgpdump");
    assert!(out.status.success(), "bgpdump failed: {}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.trim().is_empty(), "bgpdump complained: {stderr}");
    let mut ours = Vec::new();
    let stats = dump_file(&path, &mut ours).unwrap();
    assert_eq!(stats.bad_records, 0);
    let (ours, theirs) = (
        String::from_utf8(ours).unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    );
    assert!(!ours.is_empty());
    assert_eq!(ours, theirs);
}

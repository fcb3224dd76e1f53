//! The MRT writer against two oracles: our own reader (every record
//! written reads back identically, and writing what was read gives the same
//! bytes) and bgpdump (it reads our files without a complaint, exit 0 and
//! nothing on stderr, and prints exactly what our `bgpdump -m` formatter
//! prints). The files hold the records of `mrt_fixtures.rs`, which cover
//! every kind the writer produces, and records of the shared real files
//! rewritten by us. Also: the attribute and message encoders invert the
//! decoders, and inconsistent records are refused without writing anything.
//!
//! bgpdump is looked up on PATH. Without it the bgpdump tests are skipped
//! with a notice, unless CI or REFLEX_REQUIRE_TOOLS=1 is set: then they fail.

#[path = "mrt_fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};
use std::process::Command;

use bgp_proto::mrt::bgpdump::Bgpdump;
use bgp_proto::mrt::{Bgp4mpMessage, MrtBody, MrtReader, MrtRecord, MrtWriter, RibEntry};

use fixtures::{all_records, bgp4mp_records, read_all, rib_records, write_all};

#[test]
fn every_written_record_reads_back_identically() {
    let records = all_records();
    let bytes = write_all(&records);
    let back = read_all(&bytes);
    assert_eq!(back.len(), records.len());
    for (i, (written, read)) in records.iter().zip(&back).enumerate() {
        assert_eq!(written, read, "record {i}");
    }
    // And writing what was read gives the same bytes.
    assert_eq!(write_all(&back), bytes);
}

#[test]
fn rib_attributes_decode_to_what_was_encoded() {
    for record in rib_records() {
        let MrtBody::Rib(rib) = &record.body else {
            continue;
        };
        for entry in &rib.entries {
            let (attributes, findings) = rib.decode_entry_attributes(entry).unwrap();
            assert!(findings.is_empty(), "{findings:?}");
            let again = RibEntry::from_attributes(
                entry.peer_index,
                entry.originated_time,
                entry.path_id,
                &attributes,
            )
            .unwrap();
            assert_eq!(&again, entry);
        }
    }
}

#[test]
fn bgp4mp_messages_decode_to_what_was_encoded() {
    for record in bgp4mp_records() {
        if let MrtBody::Bgp4mpMessage(message) = &record.body {
            let decoded = message.decode().unwrap();
            assert!(decoded.findings.is_empty(), "{:?}", decoded.findings);
            let again = Bgp4mpMessage::from_message(
                message.session,
                message.as4,
                message.local,
                message.add_path,
                &decoded.message,
            )
            .unwrap();
            assert_eq!(&again, message);
        }
    }
}

#[test]
fn writer_rejects_inconsistent_records_and_writes_nothing() {
    let mut writer = MrtWriter::new(Vec::new());
    // A 2-octet AS field cannot hold AS 4200000000.
    let mut too_big = bgp4mp_records()[0].clone();
    if let MrtBody::Bgp4mpMessage(message) = &mut too_big.body {
        message.session.peer_as = 4_200_000_000;
    }
    assert!(writer.write(&too_big).is_err());
    // Microseconds on a TABLE_DUMP_V2 record.
    let mut with_micros = rib_records()[1].clone();
    with_micros.microseconds = Some(1);
    assert!(writer.write(&with_micros).is_err());
    // A path identifier in a RIB without ADD-PATH.
    let mut stray_id = rib_records()[1].clone();
    if let MrtBody::Rib(rib) = &mut stray_id.body {
        rib.entries[0].path_id = Some(3);
    }
    assert!(writer.write(&stray_id).is_err());
    assert_eq!(writer.records_written(), 0);
    assert!(writer.into_inner().unwrap().is_empty());
}

// ---- bgpdump ----

fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

/// bgpdump, or None (after a notice) when it is missing and not required.
fn bgpdump(test: &str) -> Option<PathBuf> {
    if let Some(found) = find_on_path("bgpdump") {
        return Some(found);
    }
    let required = std::env::var_os("CI").is_some()
        || std::env::var("REFLEX_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{test}: bgpdump is not on PATH, and CI / REFLEX_REQUIRE_TOOLS=1 require it \
         (apt-get install bgpdump, or scripts/install-deps.sh)"
    );
    eprintln!("SKIPPED {test}: bgpdump is not on PATH (apt-get install bgpdump)");
    None
}

/// A file in the temporary directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("reflex-mrt-writer-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Run `bgpdump -m -v FILE`: its stdout, after checking that it exited
/// with 0 and wrote nothing to stderr.
fn run_bgpdump(tool: &Path, file: &Path) -> String {
    let out = Command::new(tool)
        .arg("-m")
        .arg("-v")
        .arg(file)
        .output()
        .expect("running bgpdump");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bgpdump failed ({}) on {}: {stderr}",
        out.status,
        file.display()
    );
    assert!(
        stderr.trim().is_empty(),
        "bgpdump complained about {}:\n{stderr}",
        file.display()
    );
    String::from_utf8(out.stdout).expect("bgpdump output is UTF-8")
}

fn our_lines(bytes: &[u8]) -> String {
    let mut formatter = Bgpdump::new();
    let mut out = Vec::new();
    for record in MrtReader::new(bytes) {
        formatter.write_record(&record.unwrap(), &mut out).unwrap();
    }
    String::from_utf8(out).unwrap()
}

fn assert_same_lines(ours: &str, theirs: &str, what: &str) {
    let (ours, theirs): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(
            a,
            b,
            "{what}: line {} differs (ours, then bgpdump's)",
            i + 1
        );
    }
    assert_eq!(
        ours.len(),
        theirs.len(),
        "{what}: we print {} lines, bgpdump {}",
        ours.len(),
        theirs.len()
    );
    eprintln!("{what}: {} lines identical to bgpdump's", ours.len());
}

#[test]
fn bgpdump_reads_our_files_and_prints_what_we_print() {
    let Some(tool) = bgpdump("bgpdump_reads_our_files_and_prints_what_we_print") else {
        return;
    };
    let bytes = write_all(&all_records());
    let file = TempFile::new("all.mrt", &bytes);
    let theirs = run_bgpdump(&tool, &file.0);
    let ours = our_lines(&bytes);
    assert!(ours.lines().count() > 30, "too few lines:\n{ours}");
    assert_same_lines(&ours, &theirs, "all record kinds");
}

#[test]
fn bgpdump_reads_records_rewritten_from_the_shared_files() {
    // The small shared files, read and written again by us: bgpdump must
    // see the same routes as in the originals.
    let Some(tool) = bgpdump("bgpdump_reads_records_rewritten_from_the_shared_files") else {
        return;
    };
    let dir = match std::env::var_os("REFLEX_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    }
    .join("mrt");
    assert!(
        dir.is_dir(),
        "shared MRT data not found at {} (set REFLEX_SHARED_DATA)",
        dir.display()
    );
    for name in [
        "bview.ipv4_unicast_add_path.gz",
        "bview.ipv6_unicast_add_path.gz",
        "bview.64k_stream_overflow.gz",
        "updates.long_withdrawal.gz",
    ] {
        let records: Vec<MrtRecord> = MrtReader::open(dir.join(name))
            .unwrap()
            .map(|record| record.unwrap())
            .collect();
        let bytes = write_all(&records);
        let file = TempFile::new(name, &bytes);
        let theirs = run_bgpdump(&tool, &file.0);
        assert_same_lines(&our_lines(&bytes), &theirs, name);
    }
}

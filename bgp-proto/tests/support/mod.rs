//! Helpers shared by the integration tests (`mod support;` in a test file).
//!
//! - [`net`]: pcap reading down to TCP segments, and synthetic sessions;
//! - [`reassembly`]: TCP streams from segments;
//! - this file: where the shared data lives, external tools, temporary
//!   directories, and cutting a byte stream into BGP messages.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod net;
pub mod reassembly;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use bgp_proto::frame_len;
use bgp_proto::message::HEADER_LEN;

use reassembly::Flow;

/// Largest BGP message of any session (RFC 8654).
pub const MAX_FRAME: usize = 65_535;

/// The shared test data directory (holding `pcap/` and `mrt/`):
/// `$REFLEX_SHARED_DATA`, or `shared/data` beside the repository.
///
/// Panics with instructions when it is missing: these tests must not pass
/// by finding nothing.
pub fn shared_data_dir() -> PathBuf {
    let dir = match std::env::var_os("REFLEX_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    assert!(
        dir.join("pcap").is_dir(),
        "shared test data not found: {} has no pcap/ directory. Put the shared \
         data beside the repository (../shared/data) or set REFLEX_SHARED_DATA \
         to a directory that contains pcap/ and mrt/.",
        dir.display()
    );
    dir
}

/// Is the external `tool` usable (`tool --version` succeeds)?
///
/// When it is not: with `REFLEX_REQUIRE_TOOLS=1` (set by scripts/test.sh)
/// this panics, so CI cannot skip an oracle; otherwise it prints a notice
/// and returns false, and the caller returns early.
pub fn require_tool(tool: &str, test: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if found {
        return true;
    }
    let required = std::env::var("REFLEX_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{test}: `{tool}` is not installed, and REFLEX_REQUIRE_TOOLS=1 requires it \
         (run scripts/install-deps.sh)"
    );
    eprintln!(
        "SKIPPED {test}: `{tool}` is not installed (run scripts/install-deps.sh; \
         set REFLEX_REQUIRE_TOOLS=1 to make this a failure)"
    );
    false
}

/// A directory under the system temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory whose name starts with `prefix` and is unique
    /// to this process and call.
    pub fn new(prefix: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One BGP message cut out of a flow.
#[derive(Debug, Clone)]
pub struct FramedMessage {
    /// Offset of its first byte in the TCP stream.
    pub stream_offset: u64,
    /// The whole message, header included.
    pub bytes: Vec<u8>,
}

/// Does `data` start with a plausible BGP header (marker, length 19..=65535,
/// type 1..=5)? Used to pick up a stream again after a hole.
pub fn starts_with_bgp_header(data: &[u8]) -> bool {
    matches!(frame_len(data, MAX_FRAME), Ok(Some(_)))
        && data.get(18).is_some_and(|t| (1..=5).contains(t))
}

/// The BGP messages of a flow, and notes on what could not be framed.
///
/// A stream is cut into messages with [`frame_len`]. At a hole (a segment
/// the capture missed, or a packet cut by the snap length) the stream stops:
/// a message the hole cuts is dropped and noted. The stream is picked up
/// again only where a later run of bytes starts with a BGP header, which is
/// noted too; bytes that do not are skipped with a note. An invalid header
/// inside a contiguous run is an error: the bytes are not BGP.
pub fn frame_flow(flow: &Flow) -> Result<(Vec<FramedMessage>, Vec<String>), String> {
    let mut messages = Vec::new();
    let mut notes = Vec::new();
    for (i, run) in flow.runs.iter().enumerate() {
        let continues_from_syn = i == 0 && flow.saw_syn && run.offset == 0;
        if !continues_from_syn && !starts_with_bgp_header(&run.data) {
            notes.push(format!(
                "{}: {} bytes at stream offset {} (frame {}) do not start with a BGP \
                 header after a hole or at capture start: skipped",
                flow.label(),
                run.data.len(),
                run.offset,
                run.first_frame
            ));
            continue;
        }
        if i > 0 {
            notes.push(format!(
                "{}: stream picked up at offset {} (frame {}), where a BGP header starts",
                flow.label(),
                run.offset,
                run.first_frame
            ));
        }
        let mut pos = 0usize;
        while pos < run.data.len() {
            let rest = &run.data[pos..];
            let at = run.offset + pos as u64;
            match frame_len(rest, MAX_FRAME) {
                Ok(Some(len)) if len <= rest.len() => {
                    messages.push(FramedMessage {
                        stream_offset: at,
                        bytes: rest[..len].to_vec(),
                    });
                    pos += len;
                }
                Ok(Some(len)) => {
                    notes.push(format!(
                        "{}: message of {len} bytes at stream offset {at} is cut after {} \
                         bytes by a hole or the end of the capture: dropped",
                        flow.label(),
                        rest.len()
                    ));
                    break;
                }
                Ok(None) => {
                    notes.push(format!(
                        "{}: {} bytes of a header at stream offset {at} before a hole \
                         or the end of the capture: dropped",
                        flow.label(),
                        rest.len()
                    ));
                    break;
                }
                Err(e) => {
                    return Err(format!(
                        "{}: invalid BGP header at stream offset {at}: {e}; bytes {}",
                        flow.label(),
                        hex(&rest[..rest.len().min(HEADER_LEN)])
                    ));
                }
            }
        }
    }
    for gap in &flow.gaps {
        let after = match gap.next_frame {
            0 => "at the end of the capture".to_string(),
            frame => format!("before frame {frame}"),
        };
        notes.push(format!(
            "{}: {} bytes missing at stream offset {} {after}",
            flow.label(),
            gap.len,
            gap.offset
        ));
    }
    Ok((messages, notes))
}

/// Lower-case hex, no separators.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Is this flow a BGP stream at all (its first run starts with a header)?
pub fn is_bgp_flow(flow: &Flow) -> bool {
    flow.runs
        .iter()
        .any(|run| starts_with_bgp_header(&run.data))
}

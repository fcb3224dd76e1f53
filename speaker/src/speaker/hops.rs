//! Per-hop timestamps of one route's trip through a speaker and its node
//! agent, for finding where the latency of a single change goes.
//!
//! Off unless the environment variable `REFLEX_TRACE_HOPS` is set when
//! the first mark is made. Off, a mark is one relaxed atomic load and a
//! branch. On, each [`mark`] records the hop's name, `CLOCK_MONOTONIC` in
//! nanoseconds (the same clock in every process of the machine, whatever
//! the network namespace, so the marks of node A, the reflector and node
//! B line up) and a tag (a prefix's address bits, a peer id, a byte
//! count: whatever identifies the work at that hop). The record is pushed
//! into a process-wide buffer, no I/O on the path; a background thread
//! writes the buffer out every [`FLUSH_EVERY`] as lines of
//!
//! ```text
//! reflex-hop <name> <monotonic ns> <tag>
//! ```
//!
//! on standard error, unless the process called [`keep_in_memory`] (a
//! benchmark holding a speaker in-process reads its marks with [`take`]).
//!
//! # Layout
//! One file: the on/off switch ([`enabled`]), [`mark`], the buffer and
//! its writer thread, and [`parse_line`] for the reader of a log.
//!
//! # Example
//! ```
//! use bgp_speaker::speaker::hops;
//! hops::keep_in_memory();
//! hops::mark("example.start", 7); // nothing recorded unless REFLEX_TRACE_HOPS is set
//! let marks = hops::take();
//! assert!(marks.iter().all(|m| m.name == "example.start"));
//! ```

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The environment variable that turns the marks on.
pub const ENV: &str = "REFLEX_TRACE_HOPS";

/// How often the writer thread empties the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// Most marks held before new ones are dropped (a writer that cannot keep
/// up, or nobody calling [`take`]).
const CAPACITY: usize = 1 << 20;

const UNKNOWN: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);
static IN_MEMORY: AtomicBool = AtomicBool::new(false);
static WRITER_STARTED: AtomicBool = AtomicBool::new(false);
static MARKS: Mutex<Vec<Mark>> = Mutex::new(Vec::new());

/// One recorded hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// Which hop.
    pub name: &'static str,
    /// `CLOCK_MONOTONIC`, nanoseconds.
    pub ns: u64,
    /// What the hop worked on.
    pub tag: u64,
}

/// Are marks recorded? (Decided once, from [`ENV`].)
#[inline]
pub fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => decide(),
    }
}

#[cold]
fn decide() -> bool {
    let on = std::env::var_os(ENV).is_some_and(|v| !v.is_empty() && v != "0");
    STATE.store(if on { ON } else { OFF }, Ordering::Relaxed);
    on
}

/// Record that the hop `name` was reached now, working on `tag`.
#[inline]
pub fn mark(name: &'static str, tag: u64) {
    if enabled() {
        record(name, tag);
    }
}

#[cold]
fn record(name: &'static str, tag: u64) {
    let ns = now_ns();
    {
        let mut marks = marks();
        if marks.len() < CAPACITY {
            marks.push(Mark { name, ns, tag });
        }
    }
    if !IN_MEMORY.load(Ordering::Relaxed) && !WRITER_STARTED.swap(true, Ordering::AcqRel) {
        start_writer();
    }
}

/// Keep the marks in memory for [`take`] instead of writing them to
/// standard error. Call before the first mark.
pub fn keep_in_memory() {
    IN_MEMORY.store(true, Ordering::Relaxed);
}

/// Record marks from now on whatever [`ENV`] says, in memory
/// ([`keep_in_memory`]): for tests, which cannot set the environment of
/// their own process safely once threads run.
pub fn record_in_memory() {
    keep_in_memory();
    STATE.store(ON, Ordering::Relaxed);
}

/// The marks recorded since the last call (in memory mode).
pub fn take() -> Vec<Mark> {
    std::mem::take(&mut *marks())
}

fn marks() -> MutexGuard<'static, Vec<Mark>> {
    MARKS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn start_writer() {
    let spawned = std::thread::Builder::new()
        .name("reflex-hops".into())
        .spawn(|| {
            use std::io::Write;
            loop {
                std::thread::sleep(FLUSH_EVERY);
                let batch = take();
                if batch.is_empty() {
                    continue;
                }
                let mut out = String::with_capacity(batch.len() * 48);
                for m in &batch {
                    out += &format!("reflex-hop {} {} {}\n", m.name, m.ns, m.tag);
                }
                let _ = std::io::stderr().lock().write_all(out.as_bytes());
            }
        });
    if spawned.is_err() {
        // No thread, no output: stop recording rather than fill memory.
        STATE.store(OFF, Ordering::Relaxed);
    }
}

/// `CLOCK_MONOTONIC` now, nanoseconds.
pub fn now_ns() -> u64 {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        Ok(t) => (t.tv_sec() as u64) * 1_000_000_000 + t.tv_nsec() as u64,
        Err(_) => 0,
    }
}

/// `at` on the `CLOCK_MONOTONIC` scale of [`now_ns`] (std's `Instant` is
/// that clock on Linux, but does not show its value).
pub fn ns_of(at: Instant) -> u64 {
    static ORIGIN: std::sync::OnceLock<(Instant, u64)> = std::sync::OnceLock::new();
    let (origin, origin_ns) = *ORIGIN.get_or_init(|| (Instant::now(), now_ns()));
    if at >= origin {
        origin_ns + (at - origin).as_nanos() as u64
    } else {
        origin_ns.saturating_sub((origin - at).as_nanos() as u64)
    }
}

/// One line of a log: `(name, ns, tag)` if it is a mark.
pub fn parse_line(line: &str) -> Option<(&str, u64, u64)> {
    let rest = line.trim_end().strip_prefix("reflex-hop ")?;
    let mut parts = rest.split(' ');
    let name = parts.next()?;
    let ns = parts.next()?.parse().ok()?;
    let tag = parts.next()?.parse().ok()?;
    Some((name, ns, tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_line_parses_back() {
        let line = format!("reflex-hop {} {} {}\n", "core.flush", 123_456_789u64, 42u64);
        assert_eq!(parse_line(&line), Some(("core.flush", 123_456_789, 42)));
        assert_eq!(parse_line("INFO something else"), None);
        assert_eq!(parse_line("reflex-hop name notanumber 1"), None);
    }

    #[test]
    fn instants_map_onto_the_monotonic_clock() {
        let before = now_ns();
        let at = ns_of(Instant::now());
        let after = now_ns();
        // The calibration pair is taken within a few microseconds.
        assert!(at + 1_000_000 >= before && at <= after + 1_000_000);
        let later = ns_of(Instant::now() + Duration::from_millis(5));
        assert!(later >= at + 5_000_000);
    }
}

//! Heap allocations per message and per prefix, for each codec.
//!
//! Not a criterion benchmark: a counting global allocator wraps the system
//! one, and each message is decoded (and its result dropped) once per codec
//! with the counter read around it. Run with
//! `cargo bench -p reflex-benches --bench alloc_count`.
//!
//! Reports, per codec: allocations per message and per prefix on the real
//! data set, the worst message, and the synthetic 1- and 500-prefix UPDATEs,
//! whose difference is the allocation cost of 499 more prefixes. Encode is
//! measured for bgp-proto.
#![allow(unsafe_code)] // a GlobalAlloc has to be `unsafe impl`; it only forwards.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use bytes::BytesMut;
use reflex_benches::codecs::{BgpProto, Bgpkit, Codec, Netgauze, Zettabgp};
use reflex_benches::mrt::{self, RawMessage};
use reflex_benches::synth;

/// The system allocator, counting calls and bytes.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees hold; the counters have no effect on
// the memory returned.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: forwarded as is (see above).
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A reallocation is counted as one allocation of the new size.
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size as u64, Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations and bytes made while running `f` (on this thread; the
/// program has no other).
fn count<T>(f: impl FnOnce() -> T) -> (u64, u64) {
    let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    let result = f();
    drop(std::hint::black_box(result));
    (ALLOCS.load(Relaxed) - a0, BYTES.load(Relaxed) - b0)
}

#[derive(Default)]
struct Totals {
    messages: u64,
    failed: u64,
    prefixes: u64,
    allocs: u64,
    bytes: u64,
    max_allocs: u64,
    /// Prefixes of the message with the most allocations.
    max_allocs_prefixes: u64,
}

fn measure<C: Codec>(codec: &mut C, messages: &[RawMessage]) -> Totals {
    let mut totals = Totals::default();
    for msg in messages {
        let prefixes = match codec.decode(msg) {
            Ok(out) => C::prefixes(&out) as u64,
            Err(_) => {
                totals.failed += 1;
                continue;
            }
        };
        let (allocs, bytes) = count(|| codec.decode(msg));
        totals.messages += 1;
        totals.prefixes += prefixes;
        totals.allocs += allocs;
        totals.bytes += bytes;
        if allocs > totals.max_allocs {
            totals.max_allocs = allocs;
            totals.max_allocs_prefixes = prefixes;
        }
    }
    totals
}

fn report<C: Codec>(codec: &mut C, real: &[RawMessage], cases: &[synth::Case]) {
    let t = measure(codec, real);
    let synthetic: Vec<String> = cases
        .iter()
        .map(|case| {
            let (allocs, _) = count(|| codec.decode(&case.raw));
            format!("{allocs:>4}")
        })
        .collect();
    println!(
        "| {:<16} | {:>7.2} | {:>7.3} | {:>7.0} | {:>4} ({:>3} pfx) | {} | {:>3} |",
        C::NAME,
        t.allocs as f64 / t.messages as f64,
        t.allocs as f64 / t.prefixes as f64,
        t.bytes as f64 / t.messages as f64,
        t.max_allocs,
        t.max_allocs_prefixes,
        synthetic.join(" | "),
        t.failed,
    );
}

fn main() {
    let set = mrt::load_updates_file().expect("loads the real data set");
    let cases = synth::cases();
    println!(
        "allocations while decoding (and dropping) each message once; real data: {} messages of {}\n",
        set.messages.len(),
        mrt::UPDATES_FILE
    );
    let names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    println!(
        "| codec            | real: allocs/msg | allocs / prefixes | bytes/msg | worst msg | synthetic: {} | failed |",
        names.join(" | ")
    );
    println!(
        "|---|---:|---:|---:|---:|{}---:|",
        "---:|".repeat(names.len())
    );
    report(&mut BgpProto, &set.messages, &cases);
    report(&mut Bgpkit, &set.messages, &cases);
    report(&mut Netgauze::default(), &set.messages, &cases);
    report(&mut Zettabgp::default(), &set.messages, &cases);

    // Encode: bgp-proto re-encoding into a buffer that is reused, and one
    // created per message.
    let updates = set.of_type(bgp_proto::iana::message_type::UPDATE);
    let decoded: Vec<_> = updates
        .messages
        .iter()
        .filter_map(|m| {
            let ctx = BgpProto::ctx(m);
            bgp_proto::decode_message(&m.bytes, &ctx)
                .ok()
                .map(|d| (ctx, d.message))
        })
        .collect();
    let mut out = BytesMut::with_capacity(65_536);
    let (reused, _) = count(|| {
        for (ctx, message) in &decoded {
            out.clear();
            message.encode(ctx, &mut out).expect("encodes");
        }
    });
    let (fresh, _) = count(|| {
        for (ctx, message) in &decoded {
            drop(message.to_bytes(ctx).expect("encodes"));
        }
    });
    println!(
        "\nbgp-proto encode of {} UPDATEs: {:.3} allocs/msg into a reused buffer, {:.3} with Message::to_bytes",
        decoded.len(),
        reused as f64 / decoded.len() as f64,
        fresh as f64 / decoded.len() as f64
    );
}

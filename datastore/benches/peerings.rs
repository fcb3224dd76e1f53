//! The peering computation at scale: 5,000 nodes (4 route reflectors, 50 racks)
//! and 100 BGPPeers (clients to reflectors, reflector mesh, per-rack ToRs, global
//! and node-specific external peers), the node-to-node mesh off.
//!
//! - `all_nodes_after_change`: a node's labels change (which drops the snapshot's
//!   index); rebuild the index and compute the peerings of all 5,000 nodes.
//! - `index_build`: the index alone.
//! - `one_node`: one node's peerings with a built index.
//!
//! Memory (allocated bytes, from a counting allocator) is printed before the
//! timings. Target: under 50 ms for all nodes after a change.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use reflex_datastore::Snapshot;
use reflex_datastore::peering::{PeeringIndex, peerings, peerings_at};

/// Counts live and peak heap bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

mod scale;

use scale::{NODES, RRS, cluster, node};

fn all_peerings(snap: &Snapshot) -> usize {
    let index = snap.peering_index();
    (0..index.node_count())
        .map(|i| peerings_at(&index, i).len())
        .sum()
}

fn report_memory() {
    let before = LIVE.load(Ordering::Relaxed);
    let snap = Snapshot::from_resources(cluster());
    let after_snapshot = LIVE.load(Ordering::Relaxed);
    let index = snap.peering_index();
    let after_index = LIVE.load(Ordering::Relaxed);
    let all: Vec<_> = (0..index.node_count())
        .map(|i| peerings_at(&index, i))
        .collect();
    let after_peerings = LIVE.load(Ordering::Relaxed);
    let count: usize = all.iter().map(Vec::len).sum();
    let rr = &all[0];
    eprintln!(
        "memory: snapshot of {NODES} nodes + 100 BGPPeers {:.1} MiB; peering index {:.1} MiB; \
         all peerings ({count}, of which a reflector has {}) {:.1} MiB",
        (after_snapshot - before) as f64 / 1048576.0,
        (after_index - after_snapshot) as f64 / 1048576.0,
        rr.len(),
        (after_peerings - after_index) as f64 / 1048576.0,
    );
    drop(all);
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    let base = LIVE.load(Ordering::Relaxed);
    let mut changed = snap.clone();
    changed.insert(node(4321).with_label("rack", "r7").into());
    let total = all_peerings(&changed);
    eprintln!(
        "memory: peak extra while recomputing all {total} peerings after a change {:.1} MiB",
        (PEAK.load(Ordering::Relaxed) - base) as f64 / 1048576.0
    );
}

fn bench(c: &mut Criterion) {
    report_memory();
    let snap = Snapshot::from_resources(cluster());
    let mut i = 0usize;
    c.bench_function("all_nodes_after_change", |b| {
        b.iter_batched(
            || {
                i += 1;
                let mut s = snap.clone();
                s.insert(
                    node(RRS + i % (NODES - RRS))
                        .with_label("rack", "r7")
                        .into(),
                );
                s
            },
            |s| black_box(all_peerings(&s)),
            BatchSize::LargeInput,
        )
    });
    c.bench_function("index_build", |b| {
        b.iter(|| black_box(PeeringIndex::build(&snap).node_count()))
    });
    let _ = snap.peering_index();
    c.bench_function("one_node", |b| {
        b.iter(|| black_box(peerings("node-1234", &snap).len()))
    });
    c.bench_function("one_reflector", |b| {
        b.iter(|| black_box(peerings("node-0001", &snap).len()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);

//! The kernel reader against a real kernel, in a network namespace:
//! the initial dump, live additions and deletions, and convergence after
//! a burst that overflows a small receive buffer.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use bgp_client::kernel::reader::{Batch, ReaderConfig, ReaderStats, RouteReader};
use bgp_client::kernel::route::{KernelRoute, RouteChange, RouteKey};
use common::{route_prefixes, run_in, runtime_in};
use reflex_testlab::{Host, Lab, skip_unless};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

/// A reader in a task of the namespace's runtime that reads one batch
/// each time it is asked to: while it is not asked, nothing is read.
struct Driven {
    go: mpsc::UnboundedSender<()>,
    batches: std::sync::mpsc::Receiver<(Batch, ReaderStats)>,
    /// The routes as the batches describe them.
    model: HashMap<RouteKey, KernelRoute>,
    stats: ReaderStats,
}

impl Driven {
    fn start(runtime: &Runtime, config: ReaderConfig) -> Driven {
        let (go, mut go_rx) = mpsc::unbounded_channel::<()>();
        let (tx, batches) = std::sync::mpsc::channel();
        let mut reader =
            run_in(runtime, async move { RouteReader::open(config) }).expect("reader opens");
        runtime.spawn(async move {
            while go_rx.recv().await.is_some() {
                let batch = reader.next_batch().await.expect("reader works");
                if tx.send((batch, reader.stats())).is_err() {
                    return;
                }
            }
        });
        Driven {
            go,
            batches,
            model: HashMap::new(),
            stats: ReaderStats::default(),
        }
    }

    /// Let the reader produce one batch, and apply it to the model.
    fn next(&mut self, timeout: Duration) -> Option<Batch> {
        self.go.send(()).expect("reader task alive");
        let (batch, stats) = self.batches.recv_timeout(timeout).ok()?;
        self.stats = stats;
        for change in &batch.changes {
            match change {
                RouteChange::Upsert(route) => {
                    self.model.insert(route.key, route.clone());
                }
                RouteChange::Removed(route) => {
                    assert!(
                        self.model.remove(&route.key).is_some(),
                        "removal of an unreported route {}",
                        route.key
                    );
                }
            }
        }
        Some(batch)
    }

    fn find(&self, prefix: &str) -> Option<&KernelRoute> {
        let prefix = prefix.parse().unwrap();
        self.model.values().find(|r| r.key.prefix == prefix)
    }

    /// Destinations of `table` in the model, as `ip route` prints them.
    fn prefixes(&self, table: u32) -> BTreeSet<String> {
        self.model
            .values()
            .filter(|r| r.key.table == table && r.key.prefix.is_ipv4())
            .map(|r| r.key.prefix.to_string())
            .collect()
    }
}

fn host_with_dummy(lab: &mut Lab) -> Host {
    let host = lab.host("r").unwrap();
    // No dummy driver everywhere: a veth pair with both ends here.
    host.run(&[
        "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d0p",
    ])
    .unwrap();
    host.run(&["ip", "link", "set", "d0p", "up"]).unwrap();
    host.run(&["ip", "link", "set", "d0", "up"]).unwrap();
    host.add_address("d0", "10.200.0.1/24").unwrap();
    host.add_address("d0", "fd00:200::1/64").unwrap();
    host
}

#[test]
fn the_dump_and_live_changes_are_read() {
    if skip_unless(&["ip"]) {
        return;
    }
    common::init_logging();
    let mut lab = Lab::new("reader-live").unwrap();
    let host = host_with_dummy(&mut lab);
    host.run(&[
        "ip",
        "route",
        "add",
        "10.201.0.0/24",
        "dev",
        "d0",
        "proto",
        "static",
    ])
    .unwrap();
    host.run(&["ip", "route", "add", "blackhole", "10.202.0.0/26"])
        .unwrap();
    let runtime = runtime_in(&host);
    let mut reader = Driven::start(&runtime, ReaderConfig::default());

    let first = reader.next(Duration::from_secs(5)).expect("initial dump");
    assert!(first.resync, "the first batch is the dump");
    let existing = reader
        .find("10.201.0.0/24")
        .expect("pre-existing route in the dump");
    assert_eq!(existing.protocol, 4);
    assert_eq!(existing.next_hops[0].ifname.as_deref(), Some("d0"));
    assert_eq!(
        reader.find("10.202.0.0/26").map(|r| r.kind),
        Some(bgp_client::kernel::route::RouteKind::Blackhole)
    );
    assert!(reader.find("fd00:200::/64").is_some(), "IPv6 is dumped too");

    host.run(&[
        "ip",
        "route",
        "add",
        "10.203.0.0/24",
        "via",
        "10.200.0.2",
        "metric",
        "7",
    ])
    .unwrap();
    host.run(&[
        "ip",
        "-6",
        "route",
        "add",
        "fd00:203::/64",
        "via",
        "fd00:200::2",
    ])
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while (reader.find("10.203.0.0/24").is_none() || reader.find("fd00:203::/64").is_none())
        && std::time::Instant::now() < deadline
    {
        reader.next(Duration::from_secs(2));
    }
    let added = reader.find("10.203.0.0/24").expect("added route reported");
    assert_eq!(added.key.metric, 7);
    assert_eq!(
        added.next_hops[0].gateway,
        Some("10.200.0.2".parse().unwrap())
    );
    assert!(
        reader.find("fd00:203::/64").is_some(),
        "IPv6 addition reported"
    );

    host.run(&[
        "ip",
        "route",
        "del",
        "10.203.0.0/24",
        "via",
        "10.200.0.2",
        "metric",
        "7",
    ])
    .unwrap();
    let batch = reader
        .next(Duration::from_secs(5))
        .expect("deletion reported");
    assert!(!batch.resync);
    assert!(batch.changes.iter().any(
        |c| matches!(c, RouteChange::Removed(r) if r.key.prefix.to_string() == "10.203.0.0/24")
    ));
    assert!(reader.find("10.203.0.0/24").is_none());

    // Routes through a deleted link vanish without RTM_DELROUTE for IPv4;
    // the reader notices by the link's deletion.
    host.run(&[
        "ip", "link", "add", "d1", "type", "veth", "peer", "name", "d1p",
    ])
    .unwrap();
    host.run(&["ip", "link", "set", "d1p", "up"]).unwrap();
    host.run(&["ip", "link", "set", "d1", "up"]).unwrap();
    host.run(&["ip", "route", "add", "10.204.0.0/24", "dev", "d1"])
        .unwrap();
    common::wait_for(Duration::from_secs(5), "route via d1", || {
        reader.next(Duration::from_millis(500));
        reader.find("10.204.0.0/24").is_some()
    });
    host.run(&["ip", "link", "del", "d1"]).unwrap();
    common::wait_for(Duration::from_secs(5), "route via d1 gone", || {
        reader.next(Duration::from_millis(500));
        reader.find("10.204.0.0/24").is_none()
    });
    assert_eq!(reader.prefixes(254), route_prefixes(&host, false, &[]));
}

fn batch_file(lab: &Lab, name: &str, verb: &str, count: u32) -> String {
    let mut text = String::with_capacity(count as usize * 48);
    for i in 0..count {
        text.push_str(&format!(
            "route {verb} 10.{}.{}.{}/32 dev d0 table 100\n",
            100 + i / 65536,
            (i / 256) % 256,
            i % 256
        ));
    }
    lab.write_file(name, &text).unwrap().display().to_string()
}

#[test]
fn a_burst_that_overflows_the_buffer_still_converges() {
    if skip_unless(&["ip"]) {
        return;
    }
    common::init_logging();
    let mut lab = Lab::new("reader-burst").unwrap();
    let host = host_with_dummy(&mut lab);
    let add = batch_file(&lab, "add.batch", "add", 50_000);
    let del = batch_file(&lab, "del.batch", "del", 20_000);
    let runtime = runtime_in(&host);
    // 4 KiB asked, 8 KiB granted: a few dozen notifications.
    let config = ReaderConfig {
        receive_buffer: 4096,
        ..ReaderConfig::default()
    };
    let mut reader = Driven::start(&runtime, config);
    reader.next(Duration::from_secs(5)).expect("initial dump");

    let converged = |reader: &mut Driven, what: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let kernel = route_prefixes(&host, false, &["table", "100"]);
            if reader.prefixes(100) == kernel {
                return kernel.len();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: reader has {} routes, kernel {}",
                reader.prefixes(100).len(),
                kernel.len()
            );
            reader.next(Duration::from_secs(2));
        }
    };

    // The reader is not reading while 50,000 routes go in: the buffer
    // overflows for certain.
    host.run(&["ip", "-batch", &add]).unwrap();
    assert_eq!(converged(&mut reader, "after the additions"), 50_000);
    let after_add = reader.stats;
    assert!(
        after_add.overruns >= 1,
        "the burst overflowed: {after_add:?}"
    );
    assert!(
        after_add.resyncs >= 2,
        "and was recovered by a dump: {after_add:?}"
    );

    // Deletions while the reader reads concurrently.
    let reading = {
        let go = reader.go.clone();
        std::thread::spawn(move || {
            for _ in 0..20 {
                let _ = go.send(());
            }
        })
    };
    host.run(&["ip", "-batch", &del]).unwrap();
    reading.join().unwrap();
    assert_eq!(converged(&mut reader, "after the deletions"), 30_000);
    eprintln!("reader stats: {:?}", reader.stats);
}

#[test]
fn a_burst_is_reported_as_its_net_changes() {
    if skip_unless(&["ip"]) {
        return;
    }
    common::init_logging();
    let mut lab = Lab::new("reader-coalesce").unwrap();
    let host = host_with_dummy(&mut lab);
    let runtime = runtime_in(&host);
    let mut reader = Driven::start(&runtime, ReaderConfig::default());
    reader.next(Duration::from_secs(5)).expect("initial dump");
    // The reader is not reading now: the burst queues in its socket.
    let ip = |args: &[&str]| {
        let mut full = vec!["ip", "route"];
        full.extend_from_slice(args);
        host.run(&full).unwrap();
    };
    ip(&["add", "10.205.0.0/24", "dev", "d0"]);
    ip(&["del", "10.205.0.0/24", "dev", "d0"]);
    ip(&["add", "10.206.0.0/24", "dev", "d0"]);
    ip(&["replace", "10.206.0.0/24", "via", "10.200.0.9"]);
    let batch = reader.next(Duration::from_secs(5)).expect("one batch");
    assert!(!batch.resync);
    assert_eq!(batch.changes.len(), 1, "{:?}", batch.changes);
    let RouteChange::Upsert(route) = &batch.changes[0] else {
        panic!("an addition: {:?}", batch.changes);
    };
    assert_eq!(route.key.prefix.to_string(), "10.206.0.0/24");
    assert_eq!(
        route.next_hops[0].gateway,
        Some("10.200.0.9".parse().unwrap()),
        "the latest state"
    );
}

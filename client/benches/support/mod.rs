//! What the node-agent benches share: a two-node cluster in network
//! namespaces with one route reflector, run either by our stack (the
//! `bgp-client` binary on nodes A and B, our speaker as the reflector) or
//! by BIRD 2 (BIRD as node agent on A and B, with the kernel protocol
//! learning and installing routes, and BIRD as the reflector); a route
//! adder in A's namespace (rtnetlink, so no `ip` process start is
//! measured); and a netlink monitor in B's namespace that timestamps every
//! route the agent there installs or removes.
//!
//! ```text
//!   A: kernel --notification--> agent A --iBGP--> reflector R --iBGP--> agent B --> B: kernel
//!      ^ Adder (this process)                                        Monitor (this process) ^
//! ```
//!
//! The benched routes are /32s in 10.112.0.0/12 on A's `d0` (slot `i` is
//! 10.112.0.0 + i); the switch is 10.0.41.0/24 (R .1, A .11, B .12).
#![allow(dead_code)]

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bgp_proto::session::PeerAs;
use bgp_speaker::config::{PeerConfig, PeerOptions, SpeakerConfig};
use bgp_speaker::speaker::{Speaker, SpeakerHandle};
use futures::StreamExt;
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::RouteMessage;
use netlink_sys::Socket;
use netlink_sys::protocols::NETLINK_ROUTE;
use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::time::TimeVal;
use reflex_testlab::{Host, Lab};
use rtnetlink::{Handle, RouteMessageBuilder};
use tokio::runtime::Runtime;

pub const BIN: &str = env!("CARGO_BIN_EXE_bgp-client");
pub const AS: u32 = 64512;
/// Slots of 10.112.0.0/12.
pub const SLOTS: u32 = 1 << 20;
/// The slot of the probe route that checks the path end to end.
pub const PROBE: u32 = SLOTS - 1;
const BASE: u32 = u32::from_be_bytes([10, 112, 0, 0]);
const RTPROT_BIRD: u8 = 12;
const RTPROT_OURS: u8 = 186;

pub fn addr(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 41, last)
}

pub fn prefix(slot: u32) -> Ipv4Addr {
    Ipv4Addr::from(BASE + slot)
}

/// `cargo bench` passes `--bench`; `cargo test --benches` does not, and
/// then there is nothing to measure. Also skips without root.
pub fn should_run(name: &str) -> bool {
    if !std::env::args().any(|a| a == "--bench") {
        return false;
    }
    if !reflex_testlab::can_use_netns() || !reflex_testlab::have("bird") {
        println!("{name}: skipped (needs root, iproute2 and BIRD 2)");
        return false;
    }
    true
}

pub fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Who runs the nodes and the reflector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// BIRD 2 on A, B and R.
    Bird,
    /// `bgp-client` on A and B, our speaker as the reflector.
    Ours,
}

impl Stack {
    pub fn name(self) -> &'static str {
        match self {
            Stack::Bird => "bird",
            Stack::Ours => "ours",
        }
    }

    /// The protocol number the node agent installs routes with.
    pub fn protocol(self) -> u8 {
        match self {
            Stack::Bird => RTPROT_BIRD,
            Stack::Ours => RTPROT_OURS,
        }
    }

    /// `STACKS=bird,ours` (the default: both, BIRD first).
    pub fn from_env() -> Vec<Stack> {
        let list = std::env::var("STACKS").unwrap_or_else(|_| "bird,ours".into());
        list.split(',')
            .filter_map(|s| match s.trim() {
                "bird" => Some(Stack::Bird),
                "ours" => Some(Stack::Ours),
                _ => None,
            })
            .collect()
    }
}

/// Knobs of a cluster.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Ours: `[reader] receive_buffer` (default: the client's own).
    pub receive_buffer: Option<usize>,
    /// Ours: `--log-level` (default: `$AGENT_LOG`, else `info`).
    pub log_level: Option<String>,
}

/// A multi-thread runtime whose one worker is in `host`'s namespace.
pub fn runtime_in(host: &Host) -> Runtime {
    host.enter(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime")
    })
    .expect("enter")
}

/// Run `f` on `rt`'s worker and wait.
pub fn run_in<T: Send + 'static>(rt: &Runtime, f: impl Future<Output = T> + Send + 'static) -> T {
    rt.block_on(rt.spawn(f)).expect("task")
}

/// A process's memory and CPU from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcStat {
    /// Peak resident set (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
    /// Resident set now (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// utime + stime, seconds.
    pub cpu_seconds: f64,
}

impl ProcStat {
    /// This bench process: the adder, the monitor, the main thread and,
    /// for the `ours` stack, the reflector.
    pub fn this_process() -> ProcStat {
        ProcStat::of(std::process::id())
    }

    pub fn of(pid: u32) -> ProcStat {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name in parentheses; utime and stime
        // are fields 14 and 15 (1-based), in clock ticks (100 Hz).
        let rest = stat.rsplit(')').next().unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let tick = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        ProcStat {
            peak_rss_kib: kib("VmHWM:"),
            rss_kib: kib("VmRSS:"),
            cpu_seconds: (tick(11) + tick(12)) as f64 / 100.0,
        }
    }
}

/// Seconds since the Unix epoch of `at` (for lining up with packet
/// captures, whose timestamps are wall-clock).
pub fn unix(at: Instant) -> f64 {
    static ORIGIN: std::sync::OnceLock<(Instant, std::time::SystemTime)> =
        std::sync::OnceLock::new();
    let (instant, system) = ORIGIN.get_or_init(|| (Instant::now(), std::time::SystemTime::now()));
    let base = system
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    if at >= *instant {
        base + (at - *instant).as_secs_f64()
    } else {
        base - (*instant - at).as_secs_f64()
    }
}

/// Order statistics of durations.
pub struct Summary {
    pub n: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Summary {
    pub fn of(samples: &[Duration]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort();
        // Nearest rank.
        let at = |q: f64| s[((s.len() as f64 * q).ceil() as usize).clamp(1, s.len()) - 1];
        Some(Summary {
            n: s.len(),
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: s[s.len() - 1],
        })
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

pub fn median(samples: &[Duration]) -> Duration {
    Summary::of(samples).map(|s| s.p50).unwrap_or_default()
}

/// A small deterministic generator (xorshift64*), so both stacks see the
/// same gaps.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// Uniform in `[0, n)`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

// ---------------------------------------------------------------------------
// The monitor in B.

/// What the monitor has seen of the benched slots in B's main table.
pub struct Seen {
    present: Vec<bool>,
    at: Vec<Option<Instant>>,
    /// Slots present.
    pub count: usize,
    /// When a slot last changed.
    pub last_change: Option<Instant>,
    /// When the first slot appeared.
    pub first_add: Option<Instant>,
    /// Notifications counted.
    pub events: u64,
    /// The monitor's own socket overran (its timestamps are then
    /// incomplete).
    pub overruns: u64,
}

impl Seen {
    pub fn present(&self, slot: u32) -> bool {
        self.present[slot as usize]
    }

    /// When `slot` last changed.
    pub fn at(&self, slot: u32) -> Option<Instant> {
        self.at[slot as usize]
    }
}

struct Shared {
    seen: Mutex<Seen>,
    changed: Condvar,
}

/// A netlink listener in B's namespace (a thread of this process) on the
/// IPv4 route group, counting routes in the benched range installed with
/// the agent's protocol.
pub struct Monitor {
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Monitor {
    pub fn start(host: &Host, protocol: u8) -> Monitor {
        let shared = Arc::new(Shared {
            seen: Mutex::new(Seen {
                present: vec![false; SLOTS as usize],
                at: vec![None; SLOTS as usize],
                count: 0,
                last_change: None,
                first_add: None,
                events: 0,
                overruns: 0,
            }),
            changed: Condvar::new(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = {
            let (shared, stop) = (shared.clone(), stop.clone());
            host.spawn_thread(move || {
                let mut socket = Socket::new(NETLINK_ROUTE).expect("netlink socket");
                // 256 MiB: the monitor must not be the one that overruns.
                let _ = setsockopt(&socket.as_fd(), sockopt::RcvBufForce, &(256 << 20));
                setsockopt(
                    &socket.as_fd(),
                    sockopt::ReceiveTimeout,
                    &TimeVal::new(0, 100_000),
                )
                .expect("SO_RCVTIMEO");
                socket
                    .bind(&netlink_sys::SocketAddr::new(0, 0))
                    .expect("bind");
                socket.add_membership(7).expect("RTNLGRP_IPV4_ROUTE");
                let _ = ready_tx.send(());
                let mut buffer = Vec::with_capacity(1 << 16);
                while !stop.load(Ordering::Relaxed) {
                    buffer.clear();
                    match socket.recv(&mut buffer, 0) {
                        Ok(_) => {
                            let now = Instant::now();
                            let mut seen = shared.seen.lock().unwrap();
                            if record(&mut seen, &buffer, protocol, now) {
                                shared.changed.notify_all();
                            }
                        }
                        Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => {
                            shared.seen.lock().unwrap().overruns += 1;
                        }
                        Err(_) => {} // timeout or EINTR: check `stop`
                    }
                }
            })
            .expect("monitor thread")
        };
        ready_rx.recv().expect("monitor ready");
        Monitor {
            shared,
            stop,
            thread: Some(thread),
        }
    }

    pub fn seen(&self) -> MutexGuard<'_, Seen> {
        self.shared.seen.lock().unwrap()
    }

    /// Wait until `done(seen)` or `deadline`; the time of the change that
    /// made it true (`Seen::last_change`), or `None` on a timeout.
    pub fn wait(&self, deadline: Instant, done: impl Fn(&Seen) -> bool) -> Option<Instant> {
        let mut seen = self.seen();
        loop {
            if done(&seen) {
                return Some(seen.last_change.unwrap_or_else(Instant::now));
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            seen = self
                .shared
                .changed
                .wait_timeout(seen, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Wait for `slot` to be present (or gone); the time it changed.
    pub fn wait_slot(&self, slot: u32, present: bool, timeout: Duration) -> Option<Instant> {
        self.wait(Instant::now() + timeout, |s| s.present(slot) == present)?;
        self.seen().at(slot)
    }

    /// Forget when the first slot appeared (for the next burst).
    pub fn reset_first(&self) {
        self.seen().first_add = None;
    }

    /// Wait for `n` slots present; the time of the change that made it so.
    pub fn wait_count(&self, n: usize, timeout: Duration) -> Option<Instant> {
        self.wait(Instant::now() + timeout, |s| s.count == n)
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Apply one datagram of route notifications; true if a slot changed.
fn record(seen: &mut Seen, datagram: &[u8], protocol: u8, now: Instant) -> bool {
    const RTM_NEWROUTE: u16 = 24;
    const RTM_DELROUTE: u16 = 25;
    let mut changed = false;
    let mut offset = 0;
    while datagram.len() >= offset + 16 {
        let word = |at: usize| u32::from_ne_bytes(datagram[at..at + 4].try_into().unwrap());
        let length = word(offset) as usize;
        if length < 16 || offset + length > datagram.len() {
            break;
        }
        let kind = u16::from_ne_bytes([datagram[offset + 4], datagram[offset + 5]]);
        let msg = &datagram[offset + 16..offset + length];
        offset += (length + 3) & !3;
        if !matches!(kind, RTM_NEWROUTE | RTM_DELROUTE) || msg.len() < 12 {
            continue;
        }
        seen.events += 1;
        // struct rtmsg: family, dst_len, src_len, tos, table, protocol, ..
        let (family, dst_len, table, proto) = (msg[0], msg[1], msg[4], msg[5]);
        if family != 2 || dst_len != 32 || proto != protocol {
            continue;
        }
        let mut dst = None;
        let mut table32 = u32::from(table);
        let mut at = 12;
        while msg.len() >= at + 4 {
            let rta_len = u16::from_ne_bytes([msg[at], msg[at + 1]]) as usize;
            let rta_type = u16::from_ne_bytes([msg[at + 2], msg[at + 3]]);
            if rta_len < 4 || at + rta_len > msg.len() {
                break;
            }
            let value = &msg[at + 4..at + rta_len];
            match (rta_type, value.len()) {
                (1, 4) => dst = Some(u32::from_be_bytes(value.try_into().unwrap())),
                (15, 4) => table32 = u32::from_ne_bytes(value.try_into().unwrap()),
                _ => {}
            }
            at += (rta_len + 3) & !3;
        }
        let Some(dst) = dst else { continue };
        if table32 != 254 || !(BASE..BASE + SLOTS).contains(&dst) {
            continue;
        }
        let slot = (dst - BASE) as usize;
        let add = kind == RTM_NEWROUTE;
        if seen.present[slot] != add {
            seen.present[slot] = add;
            if add {
                seen.count += 1;
                seen.first_add.get_or_insert(now);
            } else {
                seen.count -= 1;
            }
            seen.at[slot] = Some(now);
            seen.last_change = Some(now);
            changed = true;
        }
    }
    changed
}

// ---------------------------------------------------------------------------
// The adder in A.

/// Adds and deletes the benched routes in A's kernel over rtnetlink.
///
/// One change ([`Adder::change`]) goes from the calling thread itself on
/// a plain blocking socket: the kernel adds the route, sends its
/// notification and queues the ack inside that `sendmsg`, so no thread
/// of the bench wakes while the agents carry the change. Bursts go
/// through an rtnetlink connection on a runtime in A's namespace, to keep
/// many requests in flight.
pub struct Adder {
    runtime: Runtime,
    handle: Handle,
    ifindex: u32,
    /// A's namespace's rtnetlink socket for single changes.
    socket: Socket,
    sequence: AtomicU32,
}

impl Adder {
    pub fn new(host: &Host) -> Adder {
        let ifindex: u32 = host
            .run(&["cat", "/sys/class/net/d0/ifindex"])
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let runtime = runtime_in(host);
        let handle = run_in(&runtime, async {
            let (connection, handle, _) = rtnetlink::new_connection().expect("rtnetlink");
            tokio::spawn(connection);
            handle
        });
        // A socket stays in the namespace it was opened in, whichever
        // thread uses it later.
        let socket = host
            .enter(|| {
                let mut socket = Socket::new(NETLINK_ROUTE).expect("netlink socket");
                socket.bind_auto().expect("bind");
                socket
            })
            .expect("enter");
        Adder {
            runtime,
            handle,
            ifindex,
            socket,
            sequence: AtomicU32::new(1),
        }
    }

    fn route(slot: u32, ifindex: u32) -> RouteMessage {
        RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(prefix(slot), 32)
            .output_interface(ifindex)
            .build()
    }

    /// Add (or delete) one route; the time just before the request was
    /// sent. The request is written from this thread (`sendmsg`, which
    /// runs the route change in the kernel), and its ack, already queued
    /// when `sendmsg` returns, read back. Before, the request went through
    /// an rtnetlink connection task on the adder's runtime: a task hop
    /// inside the measured time, and the runtime's worker and this thread
    /// both woken by the ack while the agents ran.
    pub fn change(&self, slot: u32, add: bool) -> Instant {
        let route = Adder::route(slot, self.ifindex);
        let (payload, flags) = if add {
            (
                RouteNetlinkMessage::NewRoute(route),
                NLM_F_CREATE | NLM_F_EXCL,
            )
        } else {
            (RouteNetlinkMessage::DelRoute(route), 0)
        };
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.sequence.fetch_add(1, Ordering::Relaxed);
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(payload));
        packet.finalize();
        let mut request = vec![0; packet.buffer_len()];
        packet.serialize(&mut request);
        let what = if add { "add" } else { "del" };
        let kernel = netlink_sys::SocketAddr::new(0, 0);
        let start = Instant::now();
        self.socket
            .send_to(&request, &kernel, 0)
            .unwrap_or_else(|e| panic!("route {what} {slot}: {e}"));
        let mut answer = Vec::with_capacity(4096);
        self.socket
            .recv(&mut answer, 0)
            .unwrap_or_else(|e| panic!("route {what} {slot}: reading the ack: {e}"));
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&answer) {
            Ok(message) => match message.payload {
                NetlinkPayload::Error(error) if error.code.is_some() => {
                    panic!("route {what} {slot}: {error:?}")
                }
                NetlinkPayload::Error(_) => {}
                other => panic!("route {what} {slot}: not an ack: {other:?}"),
            },
            Err(e) => panic!("route {what} {slot}: undecodable ack: {e}"),
        }
        start
    }

    /// Add (or delete) `slots` at once: up to 512 requests in flight on
    /// one socket. The time just before the first request, and when the
    /// kernel had acknowledged the last.
    pub fn burst(&self, slots: std::ops::Range<u32>, add: bool) -> (Instant, Instant) {
        let (handle, ifindex) = (self.handle.clone(), self.ifindex);
        run_in(&self.runtime, async move {
            let start = Instant::now();
            futures::stream::iter(slots)
                .map(|slot| {
                    let route = Adder::route(slot, ifindex);
                    let handle = handle.clone();
                    async move {
                        let result = if add {
                            handle.route().add(route).execute().await
                        } else {
                            handle.route().del(route).execute().await
                        };
                        result.unwrap_or_else(|e| panic!("route burst {slot}: {e}"));
                    }
                })
                .buffer_unordered(512)
                .collect::<()>()
                .await;
            (start, Instant::now())
        })
    }
}

// ---------------------------------------------------------------------------
// The cluster.

struct OurReflector {
    runtime: Runtime,
    speaker: SpeakerHandle,
}

/// Nodes A and B and the reflector R on one switch, run by `stack`.
pub struct Cluster {
    pub stack: Stack,
    options: Options,
    /// B's monitor (dropped before the lab).
    pub monitor: Monitor,
    /// A's route adder.
    pub adder: Adder,
    reflector: Option<OurReflector>,
    /// BIRD's reflector process (the `bird` stack; ours runs in this
    /// process).
    pub r_pid: Option<u32>,
    /// The agents' process ids and log labels.
    pub a_pid: Option<u32>,
    pub b_pid: u32,
    pub a_label: String,
    pub b_label: String,
    pub a: Host,
    pub b: Host,
    pub r: Host,
    pub lab: Lab,
}

impl Cluster {
    /// The lab, the reflector and B's agent; A's agent only with
    /// [`Cluster::start_a`].
    pub fn new(stack: Stack, options: Options) -> Cluster {
        let mut lab = Lab::new(&format!("client-bench-{}", stack.name())).expect("lab");
        let a = lab.host("a").unwrap();
        let b = lab.host("b").unwrap();
        let r = lab.host("r").unwrap();
        lab.switch(
            "sw",
            &[
                (&r, &format!("{}/24", addr(1))),
                (&a, &format!("{}/24", addr(11))),
                (&b, &format!("{}/24", addr(12))),
            ],
        )
        .unwrap();
        for host in [&a, &b] {
            host.run(&[
                "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d0p",
            ])
            .unwrap();
            host.run(&["ip", "link", "set", "d0p", "up"]).unwrap();
            host.run(&["ip", "link", "set", "d0", "up"]).unwrap();
        }
        let (reflector, r_pid) = match stack {
            Stack::Ours => (Some(our_reflector(&r)), None),
            Stack::Bird => {
                let (_, pid) = start_bird(&mut lab, &r, &bird_reflector_config());
                (None, Some(pid))
            }
        };
        let monitor = Monitor::start(&b, stack.protocol());
        let adder = Adder::new(&a);
        let mut cluster = Cluster {
            stack,
            options,
            monitor,
            adder,
            reflector,
            r_pid,
            a_pid: None,
            b_pid: 0,
            a_label: String::new(),
            b_label: String::new(),
            a,
            b,
            r,
            lab,
        };
        let (label, pid) = cluster.start_agent(12);
        cluster.b_label = label;
        cluster.b_pid = pid;
        cluster
    }

    fn start_agent(&mut self, last: u8) -> (String, u32) {
        let host = if last == 11 {
            self.a.clone()
        } else {
            self.b.clone()
        };
        match self.stack {
            Stack::Bird => start_bird(&mut self.lab, &host, &bird_agent_config(last)),
            Stack::Ours => {
                let label = format!("bgp-client-{}", host.name);
                let mut config = format!(
                    r#"[node]
name = "{name}"
asn = {AS}
ipv4 = "{me}"

[[reflector]]
address = "{rr}"

[bgp]
connect_retry = 1

[export]
pools = ["10.112.0.0/12"]
[[export.rule]]
interfaces = ["d0"]
kinds = ["unicast"]
"#,
                    name = host.name,
                    me = addr(last),
                    rr = addr(1),
                );
                if let Some(bytes) = self.options.receive_buffer {
                    config += &format!("\n[reader]\nreceive_buffer = {bytes}\n");
                }
                let file = self
                    .lab
                    .write_file(&format!("{label}.toml"), &config)
                    .unwrap();
                let level = self
                    .options
                    .log_level
                    .clone()
                    .or_else(|| std::env::var("AGENT_LOG").ok())
                    .unwrap_or_else(|| "info".into());
                // For diagnosis: AGENT_WRAP_A / AGENT_WRAP_B run the agent
                // under a tool (`perf record -g -o FILE`, `valgrind
                // --tool=massif ...`); its counters then include the tool.
                let wrap = std::env::var(format!("AGENT_WRAP_{}", host.name.to_uppercase()))
                    .unwrap_or_default();
                let file = file.display().to_string();
                let mut args: Vec<&str> = wrap.split_whitespace().collect();
                args.extend([BIN, "run", "--config", &file, "--log-level", &level]);
                let pid = self.lab.spawn(&host, &label, &args).unwrap();
                (label, pid)
            }
        }
    }

    /// Start A's agent; the time just before.
    pub fn start_a(&mut self) -> Instant {
        let start = Instant::now();
        let (label, pid) = self.start_agent(11);
        self.a_label = label;
        self.a_pid = Some(pid);
        start
    }

    /// Is B's session with the reflector up?
    pub fn b_established(&self) -> bool {
        match self.stack {
            Stack::Ours => self.lab.log(&self.b_label).contains("reflector session up"),
            Stack::Bird => birdc(&self.lab, &self.b, "show protocols reflector")
                .is_some_and(|out| out.contains("Established")),
        }
    }

    /// Wait until the probe route goes from A's kernel to B's and back
    /// out: both sessions are up and the path works.
    pub fn ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.adder.change(PROBE, true);
            if self
                .monitor
                .wait_slot(PROBE, true, Duration::from_secs(2))
                .is_some()
            {
                break;
            }
            self.adder.change(PROBE, false);
            assert!(
                Instant::now() < deadline,
                "{}: the probe route never reached B\n{}",
                self.stack.name(),
                self.logs()
            );
        }
        self.adder.change(PROBE, false);
        assert!(
            self.monitor
                .wait_slot(PROBE, false, Duration::from_secs(10))
                .is_some(),
            "{}: the probe route stayed in B\n{}",
            self.stack.name(),
            self.logs()
        );
    }

    /// Wait until B holds `n` slots, `timeout` at most; the time of the
    /// last change.
    pub fn wait_count(&self, n: usize, timeout: Duration) -> Option<Instant> {
        self.monitor.wait_count(n, timeout)
    }

    /// Every process's log, for a failure report.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let labels = match self.stack {
            Stack::Bird => vec!["bird-r".to_string(), "bird-a".into(), "bird-b".into()],
            Stack::Ours => vec![self.a_label.clone(), self.b_label.clone()],
        };
        for label in labels {
            let log = self.lab.log(&label);
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            out += &format!("--- {label} (last 40 lines) ---\n");
            for line in tail.into_iter().rev() {
                out += line;
                out.push('\n');
            }
        }
        out
    }

    /// How often A's agent reported a netlink overrun (ENOBUFS) so far.
    pub fn a_overruns(&self) -> usize {
        match self.stack {
            Stack::Bird => self
                .lab
                .log("bird-a")
                .matches("Kernel dropped some netlink messages")
                .count(),
            Stack::Ours => self.lab.log(&self.a_label).matches("ENOBUFS").count(),
        }
    }

    /// A's and B's agent processes.
    pub fn a_stat(&self) -> ProcStat {
        self.a_pid.map(ProcStat::of).unwrap_or_default()
    }

    pub fn b_stat(&self) -> ProcStat {
        ProcStat::of(self.b_pid)
    }

    /// BIRD's reflector (none for ours, which is a part of this process:
    /// see [`ProcStat::this_process`]).
    pub fn r_stat(&self) -> Option<ProcStat> {
        self.r_pid.map(ProcStat::of)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(reflector) = self.reflector.take() {
            let speaker = reflector.speaker.clone();
            run_in(&reflector.runtime, async move {
                speaker.shutdown("bench over").await
            });
        }
    }
}

fn our_reflector(host: &Host) -> OurReflector {
    let runtime = runtime_in(host);
    let speaker = run_in(&runtime, async {
        let me = addr(1);
        let mut config = SpeakerConfig::new(AS, me);
        config.listen = vec![SocketAddr::new(IpAddr::V4(me), 179)];
        let speaker = Speaker::start(config).await.expect("reflector");
        for last in [11, 12] {
            let mut options = PeerOptions::new(PeerAs::Exact(AS));
            options.passive = true;
            options.route_reflector_client = true;
            let address = IpAddr::V4(addr(last));
            speaker
                .add_peer(PeerConfig { address, options })
                .await
                .expect("client");
        }
        speaker
    });
    OurReflector { runtime, speaker }
}

/// Start `bird -f` in `host` (label `bird-<host>`); its pid, once `birdc`
/// answers.
fn start_bird(lab: &mut Lab, host: &Host, config: &str) -> (String, u32) {
    let label = format!("bird-{}", host.name);
    let conf = lab.write_file(&format!("{label}.conf"), config).unwrap();
    let socket = lab.dir().join(format!("{label}.ctl"));
    let pid = lab
        .spawn(
            host,
            &label,
            &[
                "bird",
                "-f",
                "-c",
                &conf.display().to_string(),
                "-s",
                &socket.display().to_string(),
            ],
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while birdc(lab, host, "show status").is_none() {
        assert!(
            Instant::now() < deadline,
            "{label} does not answer\n{}",
            lab.log(&label)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (label, pid)
}

/// One `birdc` command to the BIRD of `host`.
pub fn birdc(lab: &Lab, host: &Host, command: &str) -> Option<String> {
    let socket = lab.dir().join(format!("bird-{}.ctl", host.name));
    let socket = socket.display().to_string();
    let mut args = vec!["birdc", "-s", &socket];
    args.extend(command.split_whitespace());
    host.run(&args).ok()
}

const BIRD_LOG: &str = "log stderr { info, remote, warning, error, auth, fatal, bug };";

fn bird_reflector_config() -> String {
    format!(
        r#"{BIRD_LOG}
router id {rr};
protocol device {{ }}
template bgp node {{
  local {rr} as {AS};
  rr client;
  rr cluster id {rr};
  passive on;
  direct;
  ipv4 {{ import all; export all; gateway direct; }};
}}
protocol bgp node_a from node {{ neighbor {a} as {AS}; }}
protocol bgp node_b from node {{ neighbor {b} as {AS}; }}
"#,
        rr = addr(1),
        a = addr(11),
        b = addr(12),
    )
}

/// BIRD as a node agent, as Calico runs it: the kernel protocol learns
/// the kernel's routes (`learn`, notifications at once, a scan every
/// 10 s) and installs the BGP routes; the BGP session to the reflector
/// exports the benched range with next hop self.
fn bird_agent_config(last: u8) -> String {
    format!(
        r#"{BIRD_LOG}
router id {me};
protocol device {{ }}
protocol kernel {{
  ipv4 {{ import all; export where source = RTS_BGP; }};
  learn;
  scan time 10;
}}
protocol bgp reflector {{
  local {me} as {AS};
  neighbor {rr} as {AS};
  direct;
  connect delay time 1;
  connect retry time 1;
  ipv4 {{
    import all;
    export where net ~ [ 10.112.0.0/12{{32,32}} ];
    next hop self;
    gateway direct;
  }};
}}
"#,
        me = addr(last),
        rr = addr(1),
    )
}

//! Real data: every BGP message of `updates.20160811.1600.gz` (RIPE RIS,
//! BGP4MP, IPv4 and IPv6, 4-octet ASNs), decoded by bgp-proto and by other
//! Rust BGP codecs in the same run, then re-encoded by bgp-proto.
//!
//! Gunzip and MRT framing happen once, before any timing
//! (`reflex_benches::mrt`). One iteration decodes every message, so the
//! throughput is messages/s and bytes/s over the whole file. Before timing,
//! each codec's successes, failures and prefix counts are printed; after it,
//! the throughput ratios of bgp-proto to each other codec, from criterion's
//! estimates and from the fastest of 30 interleaved passes per codec (less
//! sensitive to other processes on a shared machine).

use std::hint::black_box;
use std::time::{Instant, SystemTime};

use bgp_proto::Message;
use bytes::BytesMut;
use criterion::{Criterion, Throughput};
use reflex_benches::codecs::{self, BgpProto, Bgpkit, Codec, Netgauze, Tally, Zettabgp};
use reflex_benches::harness::{self, bench_decode, mean_ns};
use reflex_benches::mrt::{self, MessageSet};

const DECODE_GROUP: &str = "real_data_decode";
const ENCODE_GROUP: &str = "real_data_encode";

fn print_tally(name: &str, tally: &Tally, expected: usize) {
    println!(
        "  {name:<18} ok {:>6}  failed {:>4}  prefixes {:>7}{}",
        tally.ok,
        tally.failed,
        tally.prefixes,
        if tally.prefixes == expected {
            ""
        } else {
            "  (differs from bgp-proto)"
        }
    );
    for error in &tally.first_errors {
        println!("      e.g. {error}");
    }
}

fn validate(set: &MessageSet) {
    let ours = codecs::tally(&mut BgpProto, &set.messages);
    println!(
        "{}: {} MRT records, {} not BGP4MP messages; {} BGP messages ({} UPDATE), {} bytes",
        mrt::UPDATES_FILE,
        set.records,
        set.skipped_records,
        set.messages.len(),
        set.messages.iter().filter(|m| m.message_type == 2).count(),
        set.total_bytes()
    );
    let four = set.messages.iter().filter(|m| m.four_octet_as).count();
    let add_path = set.messages.iter().filter(|m| m.add_path).count();
    println!(
        "  subtypes: {four} with 4-octet AS, {} with 2-octet AS, {add_path} ADD-PATH",
        set.messages.len() - four
    );
    let with_findings = set
        .messages
        .iter()
        .filter_map(|m| BgpProto.decode(m).ok())
        .filter(|d| !d.findings.is_empty())
        .count();
    println!("  bgp-proto: {with_findings} messages with RFC 7606 findings (not failures)");
    println!("decoded, per codec (not timed):");
    print_tally(BgpProto::NAME, &ours, ours.prefixes);
    print_tally(
        Bgpkit::NAME,
        &codecs::tally(&mut Bgpkit, &set.messages),
        ours.prefixes,
    );
    print_tally(
        Netgauze::NAME,
        &codecs::tally(&mut Netgauze::default(), &set.messages),
        ours.prefixes,
    );
    print_tally(
        Zettabgp::NAME,
        &codecs::tally(&mut Zettabgp::default(), &set.messages),
        ours.prefixes,
    );
}

fn decode(c: &mut Criterion, set: &MessageSet) {
    let mut group = c.benchmark_group(DECODE_GROUP);
    group.throughput(Throughput::ElementsAndBytes {
        elements: set.messages.len() as u64,
        bytes: set.total_bytes(),
    });
    bench_decode(&mut group, &mut BgpProto, &set.messages);
    bench_decode(&mut group, &mut Bgpkit, &set.messages);
    bench_decode(&mut group, &mut Netgauze::default(), &set.messages);
    bench_decode(&mut group, &mut Zettabgp::default(), &set.messages);
    group.finish();
}

fn encode(c: &mut Criterion, set: &MessageSet) {
    let updates = set.of_type(bgp_proto::iana::message_type::UPDATE);
    let decoded: Vec<(bgp_proto::EncodeCtx, Message)> = updates
        .messages
        .iter()
        .filter_map(|m| {
            let ctx = BgpProto::ctx(m);
            bgp_proto::decode_message(&m.bytes, &ctx)
                .ok()
                .map(|d| (ctx, d.message))
        })
        .collect();
    let mut out = BytesMut::new();
    let mut identical = 0;
    let mut total = 0u64;
    for ((ctx, message), raw) in decoded.iter().zip(&updates.messages) {
        out.clear();
        message.encode(ctx, &mut out).expect("re-encodes");
        total += out.len() as u64;
        identical += usize::from(out[..] == raw.bytes[..]);
    }
    println!(
        "re-encoding {} decoded UPDATEs: {total} bytes, {identical} byte-identical to the input",
        decoded.len()
    );
    let mut group = c.benchmark_group(ENCODE_GROUP);
    group.throughput(Throughput::ElementsAndBytes {
        elements: decoded.len() as u64,
        bytes: total,
    });
    let mut out = BytesMut::with_capacity(65_536);
    group.bench_function(BgpProto::NAME, |b| {
        b.iter(|| {
            for (ctx, message) in &decoded {
                out.clear();
                black_box(message)
                    .encode(ctx, &mut out)
                    .expect("re-encodes");
                black_box(&out);
            }
        })
    });
    group.finish();
}

/// One untimed-by-criterion pass of `codec` over the whole set, in ns.
fn one_pass<C: Codec>(codec: &mut C, set: &MessageSet) -> f64 {
    let start = Instant::now();
    for msg in &set.messages {
        let _ = black_box(codec.decode(black_box(msg)));
    }
    start.elapsed().as_secs_f64() * 1e9
}

/// The fastest of `rounds` passes per codec, the codecs taking turns, so
/// that a burst of load from other processes hits every codec alike and the
/// least disturbed pass of each is compared.
fn interleaved_min(set: &MessageSet, rounds: usize) -> [(&'static str, f64); 4] {
    let mut netgauze = Netgauze::default();
    let mut zettabgp = Zettabgp::default();
    let mut best = [f64::INFINITY; 4];
    for _ in 0..rounds {
        let times = [
            one_pass(&mut BgpProto, set),
            one_pass(&mut Bgpkit, set),
            one_pass(&mut netgauze, set),
            one_pass(&mut zettabgp, set),
        ];
        for (b, t) in best.iter_mut().zip(times) {
            *b = b.min(t);
        }
    }
    [
        (BgpProto::NAME, best[0]),
        (Bgpkit::NAME, best[1]),
        (Netgauze::NAME, best[2]),
        (Zettabgp::NAME, best[3]),
    ]
}

fn print_table(title: &str, set: &MessageSet, times: &[(&'static str, f64)]) {
    let Some(&(_, ours)) = times.iter().find(|(name, _)| *name == BgpProto::NAME) else {
        return;
    };
    let rate = |ns: f64| set.messages.len() as f64 / (ns * 1e-9);
    let mb = |ns: f64| set.total_bytes() as f64 / (ns * 1e-9) / 1e6;
    println!("\n{title}");
    for &(name, ns) in times {
        println!(
            "  {name:<18} {:>9.3} ms/file  {:>10.0} msg/s  {:>7.1} MB/s  bgp-proto is {:.2}x",
            ns / 1e6,
            rate(ns),
            mb(ns),
            ns / ours
        );
    }
    let best_other = times
        .iter()
        .filter(|(name, _)| *name != BgpProto::NAME)
        .min_by(|a, b| a.1.total_cmp(&b.1));
    if let Some(&(name, ns)) = best_other {
        let ratio = ns / ours;
        println!(
            "  target: >= 2x the fastest other codec ({name}): {ratio:.2}x, {}",
            if ratio >= 2.0 { "met" } else { "NOT met" }
        );
    }
}

fn print_ratios(set: &MessageSet, since: SystemTime) {
    let names = [BgpProto::NAME, Bgpkit::NAME, Netgauze::NAME, Zettabgp::NAME];
    let measured: Vec<(&'static str, f64)> = names
        .iter()
        .filter_map(|&name| mean_ns(DECODE_GROUP, name, since).map(|ns| (name, ns)))
        .collect();
    if measured.len() < names.len() {
        // A filter or --test left some codec out: no comparison to make.
        return;
    }
    print_table(
        "real-data decode, criterion's typical time of this run:",
        set,
        &measured,
    );
    let rounds = 30;
    print_table(
        &format!("real-data decode, fastest of {rounds} interleaved passes per codec:"),
        set,
        &interleaved_min(set, rounds),
    );
}

fn main() {
    let since = SystemTime::now();
    let set = mrt::load_updates_file().unwrap_or_else(|e| {
        panic!(
            "cannot load {} from {} (set REFLEX_SHARED_DATA): {e}",
            mrt::UPDATES_FILE,
            mrt::data_dir().display()
        )
    });
    validate(&set);
    let mut c = harness::criterion();
    decode(&mut c, &set);
    encode(&mut c, &set);
    c.final_summary();
    print_ratios(&set, since);
}

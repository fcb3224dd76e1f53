//! Decode the real data set N times with one codec, for profilers:
//!
//! ```text
//! cargo build --profile bench -p reflex-benches --example decode_loop
//! perf record -g target/release/examples/decode_loop bgp-proto 200
//! valgrind --tool=callgrind --toggle-collect='decode_loop::run*' \
//!     target/release/examples/decode_loop bgp-proto 3
//! ```
//!
//! Codecs: bgp-proto, bgpkit-parser, netgauze-bgp-pkt, zettabgp; `encode`
//! re-encodes the decoded UPDATEs with bgp-proto instead. An optional third
//! argument names a synthetic UPDATE of `reflex_benches::synth` (e.g.
//! `ipv4_500_prefixes`) to loop over instead of the real data set. Loading happens
//! before the loop, which is `run` / `run_encode` (never inlined, so
//! callgrind's `--toggle-collect` can isolate it). Prints the time per pass.

use std::hint::black_box;
use std::time::Instant;

use bgp_proto::{EncodeCtx, Message};
use bytes::BytesMut;
use reflex_benches::codecs::{BgpProto, BgpProtoReused, Bgpkit, Codec, Netgauze, Zettabgp};
use reflex_benches::mrt::{self, RawMessage};
use reflex_benches::synth;

#[inline(never)]
fn run<C: Codec>(codec: &mut C, messages: &[RawMessage], passes: u32) {
    for _ in 0..passes {
        for msg in messages {
            let _ = black_box(codec.decode(black_box(msg)));
        }
    }
}

#[inline(never)]
fn run_encode(decoded: &[(EncodeCtx, Message)], passes: u32) {
    let mut out = BytesMut::with_capacity(65_536);
    for _ in 0..passes {
        for (ctx, message) in decoded {
            out.clear();
            black_box(message).encode(ctx, &mut out).expect("encodes");
            black_box(&out);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let codec = args.next().unwrap_or_else(|| BgpProto::NAME.to_string());
    let passes: u32 = args
        .next()
        .map_or(100, |n| n.parse().expect("a number of passes"));
    let set = match args.next() {
        None => mrt::load_updates_file().expect("loads the real data set"),
        Some(name) => {
            let case = synth::cases()
                .into_iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("no synthetic case {name}"));
            mrt::MessageSet {
                messages: vec![case.raw],
                ..mrt::MessageSet::default()
            }
        }
    };
    let messages = &set.messages;
    let decoded: Vec<(EncodeCtx, Message)> = messages
        .iter()
        .filter(|m| m.message_type == bgp_proto::iana::message_type::UPDATE)
        .filter_map(|m| {
            let ctx = BgpProto::ctx(m);
            bgp_proto::decode_message(&m.bytes, &ctx)
                .ok()
                .map(|d| (ctx, d.message))
        })
        .collect();
    let start = Instant::now();
    match codec.as_str() {
        BgpProto::NAME => run(&mut BgpProto, messages, passes),
        BgpProtoReused::NAME => run(&mut BgpProtoReused::default(), messages, passes),
        Bgpkit::NAME => run(&mut Bgpkit, messages, passes),
        Netgauze::NAME => run(&mut Netgauze::default(), messages, passes),
        Zettabgp::NAME => run(&mut Zettabgp::default(), messages, passes),
        "encode" => run_encode(&decoded, passes),
        other => panic!("unknown codec {other}"),
    }
    let count = if codec == "encode" {
        decoded.len()
    } else {
        messages.len()
    };
    println!(
        "{codec}: {count} messages, {:.3} ms per pass",
        start.elapsed().as_secs_f64() * 1e3 / f64::from(passes.max(1))
    );
}

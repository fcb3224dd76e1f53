//! Decode and encode of synthetic UPDATEs: 1 IPv4 prefix, 500 IPv4 prefixes,
//! 500 IPv6 prefixes in MP_REACH_NLRI, with typical attributes (see
//! `reflex_benches::synth`). Throughput is messages/s and bytes/s.
//!
//! Decode is timed for bgp-proto and, for comparison, the other codecs;
//! encode for bgp-proto only (`Message::encode` into a reused buffer).

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reflex_benches::codecs::{self, BgpProto, Bgpkit, Codec, Netgauze, Zettabgp};
use reflex_benches::harness::{self, bench_decode};
use reflex_benches::synth;

fn check<C: Codec>(codec: &mut C, case: &synth::Case) {
    let tally = codecs::tally(codec, std::slice::from_ref(&case.raw));
    assert_eq!(
        (tally.ok, tally.prefixes),
        (1, case.prefixes as usize),
        "{} on {}: {:?}",
        C::NAME,
        case.name,
        tally
    );
}

fn decode(c: &mut Criterion) {
    for case in synth::cases() {
        let mut ours = BgpProto;
        let mut bgpkit = Bgpkit;
        let mut netgauze = Netgauze::default();
        let mut zettabgp = Zettabgp::default();
        check(&mut ours, &case);
        check(&mut bgpkit, &case);
        check(&mut netgauze, &case);
        check(&mut zettabgp, &case);

        let mut group = c.benchmark_group(format!("decode/{}", case.name));
        group.throughput(Throughput::ElementsAndBytes {
            elements: 1,
            bytes: case.raw.bytes.len() as u64,
        });
        let messages = std::slice::from_ref(&case.raw);
        bench_decode(&mut group, &mut ours, messages);
        bench_decode(&mut group, &mut bgpkit, messages);
        bench_decode(&mut group, &mut netgauze, messages);
        bench_decode(&mut group, &mut zettabgp, messages);
        group.finish();
    }
}

fn encode(c: &mut Criterion) {
    let ctx = synth::ctx();
    for case in synth::cases() {
        let mut group = c.benchmark_group(format!("encode/{}", case.name));
        group.throughput(Throughput::ElementsAndBytes {
            elements: 1,
            bytes: case.raw.bytes.len() as u64,
        });
        let mut out = BytesMut::with_capacity(4096);
        case.message.encode(&ctx, &mut out).expect("encodes");
        assert_eq!(&out[..], &case.raw.bytes[..]);
        group.bench_function(BgpProto::NAME, |b| {
            b.iter(|| {
                out.clear();
                black_box(&case.message)
                    .encode(&ctx, &mut out)
                    .expect("encodes");
                black_box(&out);
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = harness::criterion();
    targets = decode, encode
}
criterion_main!(benches);

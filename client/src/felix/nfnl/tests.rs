//! Unit tests of the translation; `client/tests/felix_nfnl.rs` checks it
//! against `nft` itself in network namespaces.

use super::expr::{Base, CmpOp, Expr, MetaKey, SetRef, Verdict};
use super::parse::{AnonSet, parse_rule, parse_verdict};
use super::*;

fn parse(text: &str) -> ParsedRule {
    let mut id = 1;
    parse_rule(text, &mut id).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn endpoint_chain_rules_compile_as_nft_compiles_them() {
    let r = parse("ct state established,related accept");
    assert_eq!(
        r.exprs,
        [
            Expr::CtState,
            Expr::Bitwise {
                mask: 6u32.to_ne_bytes().to_vec(),
                xor: vec![0; 4]
            },
            Expr::Cmp(CmpOp::Neq, vec![0; 4]),
            Expr::Verdict(Verdict::Accept),
        ]
    );
    let r = parse("meta mark set meta mark | 0x10000 return");
    assert_eq!(
        r.exprs,
        [
            Expr::Meta(MetaKey::Mark),
            Expr::Bitwise {
                mask: 0xfffe_ffffu32.to_ne_bytes().to_vec(),
                xor: 0x10000u32.to_ne_bytes().to_vec()
            },
            Expr::MetaSetMark,
            Expr::Verdict(Verdict::Return),
        ]
    );
    let r = parse("meta mark & 0x20000 == 0 drop comment \"end of tier default: no\"");
    assert_eq!(r.exprs[2], Expr::Cmp(CmpOp::Eq, vec![0; 4]));
    assert_eq!(r.exprs[3], Expr::Verdict(Verdict::Drop));
    assert_eq!(r.comment.as_deref(), Some("end of tier default: no"));
    let r = parse("jump fw-cali1/default");
    assert_eq!(
        r.exprs,
        [Expr::Verdict(Verdict::Jump("fw-cali1/default".into()))]
    );
    let r = parse("iifname \"cali*\" drop comment \"unknown workload interface\"");
    assert_eq!(r.exprs[1], Expr::Cmp(CmpOp::Eq, b"cali".to_vec()));
}

#[test]
fn policy_rules_get_their_dependencies_and_sets() {
    let r = parse(
        "meta l4proto 6 ip saddr @sel4-00aa th dport { 80, 443, 8000-8100 } meta mark set meta mark | 0x10000 return comment \"p\"",
    );
    assert_eq!(
        &r.exprs[..4],
        [
            Expr::Meta(MetaKey::L4Proto),
            Expr::Cmp(CmpOp::Eq, vec![6]),
            // ip saddr needs the family, as nft adds it
            Expr::Meta(MetaKey::NfProto),
            Expr::Cmp(CmpOp::Eq, vec![2]),
        ]
    );
    assert_eq!(
        r.exprs[5],
        Expr::Lookup {
            set: SetRef::Named("sel4-00aa".into()),
            negate: false,
            verdict_map: false
        }
    );
    assert_eq!(
        r.exprs[6],
        Expr::Payload {
            base: Base::Transport,
            offset: 2,
            len: 2
        }
    );
    assert_eq!(
        r.anon_sets,
        [AnonSet {
            id: 1,
            key_type: parse::TYPE_INET_SERVICE,
            key_len: 2,
            ranges: vec![(80, 80), (443, 443), (8000, 8100)]
        }]
    );
    let r = parse("meta nfproto ipv4 ip daddr != 10.0.0.0/8 drop");
    assert_eq!(r.exprs.len(), 2 + 3 + 1, "no second nfproto: {:?}", r.exprs);
    assert_eq!(
        r.exprs[3],
        Expr::Bitwise {
            mask: vec![255, 0, 0, 0],
            xor: vec![0; 4]
        }
    );
    assert_eq!(r.exprs[4], Expr::Cmp(CmpOp::Neq, vec![10, 0, 0, 0]));
    let r = parse("ip6 saddr fd00::1 accept");
    assert_eq!(
        r.exprs[2],
        Expr::Payload {
            base: Base::Network,
            offset: 8,
            len: 16
        }
    );
    assert_eq!(r.exprs[3].clone(), {
        let mut v = vec![0xfd, 0];
        v.extend([0; 13]);
        v.push(1);
        Expr::Cmp(CmpOp::Eq, v)
    });
    let r = parse("meta l4proto 17 th sport != 1000-2000 log prefix \"x: \"");
    assert_eq!(
        r.exprs[3],
        Expr::Range {
            negate: true,
            from: 1000u16.to_be_bytes().to_vec(),
            to: 2000u16.to_be_bytes().to_vec()
        }
    );
    assert_eq!(r.exprs[4], Expr::Log("x: ".into()));
    let r = parse("meta l4proto 1 icmp type 8 icmp code 0 accept");
    assert_eq!(r.exprs.len(), 2 + 2 + 2 + 1, "{:?}", r.exprs);
}

#[test]
fn text_outside_the_compilers_grammar_is_unsupported() {
    for text in [
        "icmpv6 type { nd-router-solicit, nd-neighbor-solicit } accept",
        "meta l4proto 1 icmp type . icmp code != { 8 . 0 } drop",
        "counter accept",
        "ip saddr 10.0.0.1 ip6 daddr ::1 accept",
        "accept drop",
        "iifname \"a*b\" drop",
    ] {
        let mut id = 1;
        assert!(parse_rule(text, &mut id).is_err(), "{text}");
    }
    assert_eq!(
        parse_verdict("goto tw-cali1").unwrap(),
        Verdict::Goto("tw-cali1".into())
    );
    assert!(parse_verdict("goto").is_err());
}

#[test]
fn ranges_merge_like_auto_merge() {
    assert_eq!(
        merge(&[(5, 6), (1, 2), (3, 4), (10, 12), (11, 20), (22, 22)]),
        [(1, 6), (10, 20), (22, 22)]
    );
}

#[test]
fn a_batch_is_framed_and_only_its_last_message_asks_for_an_ack() {
    let update = Update {
        table: "t".into(),
        ops: vec![
            Op::AddChain("c".into()),
            Op::AddRules(
                "c".into(),
                vec!["meta l4proto 6 th dport { 80, 443 } accept".into()],
            ),
            Op::FlushSet("s".into()),
        ],
        changed: vec![],
        deleted: vec![],
    };
    let batch = encode(&update, 100).unwrap();
    // chain, anonymous set, its elements, rule, flush
    assert_eq!(batch.what.len(), 5, "{:?}", batch.what);
    let mut at = 0;
    let mut seen = Vec::new();
    while at < batch.bytes.len() {
        let b = &batch.bytes[at..];
        let len = u32::from_ne_bytes(b[0..4].try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes([b[4], b[5]]);
        let flags = u16::from_ne_bytes([b[6], b[7]]);
        let seq = u32::from_ne_bytes(b[8..12].try_into().unwrap());
        seen.push((kind, flags & wire::F_ACK != 0, seq));
        at += len;
    }
    assert_eq!(seen.first(), Some(&(wire::MSG_BATCH_BEGIN, false, 100)));
    assert_eq!(seen.last(), Some(&(wire::MSG_BATCH_END, false, 106)));
    let acked: Vec<u32> = seen.iter().filter(|s| s.1).map(|s| s.2).collect();
    assert_eq!(acked, [105]);
    assert_eq!(seen[4].0, (10 << 8) | NEWRULE);
}

#[test]
fn unsupported_rules_fail_the_whole_encoding() {
    let update = Update {
        table: "t".into(),
        ops: vec![Op::AddRules("c".into(), vec!["counter".into()])],
        changed: vec![],
        deleted: vec![],
    };
    assert!(encode(&update, 1).is_err());
}

//! Text forms exactly as bgpdump prints them: addresses, AS paths,
//! communities, origins.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::attribute::{AsSegment, Community, Origin, SegmentType};

/// bgpdump gives up on an AS path string after this many characters and
/// ends it with "...".
const AS_PATH_TEXT_LIMIT: usize = 8000 - 100;

/// An IPv6 address as bgpdump prints it, which is not RFC 5952: a single
/// zero group is compressed too ("2001:db8::1:1:1:1:1"), the first longest
/// run of zero groups wins, and IPv4-mapped (`::ffff:a.b.c.d`) and
/// IPv4-compatible (`::a.b.c.d`, RFC 4291 section 2.5.5.1) addresses end in
/// dotted quad.
pub fn ipv6(addr: &Ipv6Addr, out: &mut String) {
    let octets = addr.octets();
    let groups = addr.segments();
    let tail = Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]);
    let zero_head = groups[..5].iter().all(|&g| g == 0);
    if zero_head && groups[5] == 0xffff {
        let _ = write!(out, "::ffff:{tail}");
        return;
    }
    if zero_head && groups[5] == 0 && u32::from(tail) > 1 {
        let _ = write!(out, "::{tail}");
        return;
    }
    // The first longest run of zero groups (of length 1 or more).
    let (mut best_start, mut best_len) = (usize::MAX, 0);
    let mut i = 0;
    while i < 8 {
        if groups[i] == 0 {
            let start = i;
            while i < 8 && groups[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                (best_start, best_len) = (start, i - start);
            }
        } else {
            i += 1;
        }
    }
    let mut i = 0;
    while i < 8 {
        if i == best_start {
            if i == 0 {
                out.push(':');
            }
            out.push(':');
            i += best_len;
            continue;
        }
        let _ = write!(out, "{:x}", groups[i]);
        if i != 7 {
            out.push(':');
        }
        i += 1;
    }
}

/// The 16 octets of an IPv6 address as text, bgpdump style.
pub fn ipv6_octets(octets: [u8; 16], out: &mut String) {
    ipv6(&Ipv6Addr::from(octets), out);
}

/// An IPv4 address in dotted quad.
pub fn ipv4(addr: &Ipv4Addr, out: &mut String) {
    let _ = write!(out, "{addr}");
}

/// ORIGIN as bgpdump names it; a missing or unknown ORIGIN prints as
/// INCOMPLETE.
pub fn origin(origin: Option<Origin>) -> &'static str {
    match origin {
        Some(Origin::Igp) => "IGP",
        Some(Origin::Egp) => "EGP",
        _ => "INCOMPLETE",
    }
}

/// COMMUNITIES: space-separated, `asn:value` in decimal, with the names of
/// three well-known communities (RFC 1997).
pub fn communities(list: &[Community], out: &mut String) {
    for (i, community) in list.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match *community {
            Community::NO_EXPORT => out.push_str("no-export"),
            Community::NO_ADVERTISE => out.push_str("no-advertise"),
            Community::NO_EXPORT_SUBCONFED => out.push_str("local-AS"),
            other => {
                let _ = write!(out, "{}:{}", other.asn(), other.value());
            }
        }
    }
}

fn delimiters(kind: SegmentType) -> (char, char, char) {
    match kind {
        SegmentType::Sequence => (' ', ' ', ' '),
        SegmentType::Set => ('{', ',', '}'),
        SegmentType::ConfedSequence => ('(', ' ', ')'),
        SegmentType::ConfedSet => ('[', ',', ']'),
    }
}

/// An AS path: sequences space-separated, sets as `{a,b}`, confederation
/// sequences as `(a b)` and sets as `[a,b]`; strings longer than about 7900
/// characters are cut and end in "...".
pub fn as_path(segments: &[AsSegment], out: &mut String) {
    let start = out.len();
    let mut previous = SegmentType::Sequence;
    let mut space = false;
    for segment in segments {
        if previous != SegmentType::Sequence {
            out.push(delimiters(previous).2);
        }
        if space {
            out.push(' ');
        }
        let (open, separator, _) = delimiters(segment.kind);
        if segment.kind != SegmentType::Sequence {
            out.push(open);
        }
        space = false;
        for asn in &segment.asns {
            if space {
                out.push(separator);
            }
            space = true;
            let _ = write!(out, "{asn}");
            if out.len() - start > AS_PATH_TEXT_LIMIT {
                out.push_str("...");
                return;
            }
        }
        previous = segment.kind;
    }
    if previous != SegmentType::Sequence {
        out.push(delimiters(previous).2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(text: &str) -> String {
        let mut out = String::new();
        ipv6(&text.parse().unwrap(), &mut out);
        out
    }

    #[test]
    fn ipv6_like_bgpdump() {
        assert_eq!(v6("fe80::"), "fe80::");
        assert_eq!(v6("2001:db8::1"), "2001:db8::1");
        assert_eq!(v6("::ffff:192.168.2.1"), "::ffff:192.168.2.1");
        assert_eq!(v6("::192.168.1.2"), "::192.168.1.2");
        assert_eq!(v6("2001:7f8:30::2:1:0:8447"), "2001:7f8:30::2:1:0:8447");
        assert_eq!(v6("2001:db8:0:1:1:1:1:1"), "2001:db8::1:1:1:1:1");
        assert_eq!(v6("::"), "::");
        assert_eq!(v6("::1"), "::1");
        assert_eq!(v6("1:0:0:2:0:0:3:4"), "1::2:0:0:3:4");
    }

    #[test]
    fn as_path_segments() {
        let path = [
            AsSegment {
                kind: SegmentType::ConfedSequence,
                asns: smallvec::smallvec![65001, 65002],
            },
            AsSegment::sequence(vec![1, 2]),
            AsSegment::set(vec![3, 4]),
            AsSegment::set(vec![5]),
        ];
        let mut out = String::new();
        as_path(&path, &mut out);
        assert_eq!(out, "(65001 65002) 1 2 {3,4} {5}");
    }
}

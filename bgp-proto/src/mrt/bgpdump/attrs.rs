//! bgpdump's view of a decoded attribute set: which fields it prints, and
//! how it merges AS_PATH with AS4_PATH.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use super::lenient::discarded_aggregator;
use crate::attribute::{
    Aggregator, AsPath, AsSegment, Community, MpReach, MpUnreach, NextHop, Origin, PathAttribute,
    SegmentType,
};
use crate::error::Findings;
use crate::iana::{AS_TRANS, attr_type};

/// What bgpdump prints of one attribute set.
#[derive(Debug, Default)]
pub(crate) struct AttrView<'a> {
    /// The AS path to print (after AS4_PATH reconciliation).
    pub as_path: Option<Vec<AsSegment>>,
    pub origin: Option<Origin>,
    pub next_hop: Option<Ipv4Addr>,
    pub local_pref: Option<u32>,
    pub med: Option<u32>,
    pub communities: Option<Cow<'a, [Community]>>,
    pub atomic_aggregate: bool,
    pub aggregator: Option<Aggregator>,
    pub mp_reach: Option<&'a MpReach>,
    pub mp_unreach: Option<&'a MpUnreach>,
}

impl<'a> AttrView<'a> {
    /// The view of `attributes`, decoded with 2-octet (`four_octet ==
    /// false`) or 4-octet AS numbers, with the `findings` of that decoding.
    pub fn new(attributes: &'a [PathAttribute], findings: &Findings, four_octet: bool) -> Self {
        let mut view = AttrView::default();
        let mut as_path: Option<&AsPath> = None;
        let mut as4_path: Option<&AsPath> = None;
        // Known attributes kept raw for their Partial bit (RFC 4271
        // section 5), decoded here because bgpdump prints their values.
        let ctx = crate::CodecCtx::default().with_four_octet_as(four_octet);
        let mut partial_as4_path: Option<AsPath> = None;
        let mut as4_aggregator: Option<Aggregator> = None;
        for attribute in attributes {
            match attribute {
                PathAttribute::Origin(origin) => view.origin = Some(*origin),
                PathAttribute::AsPath(path) => as_path = Some(path),
                PathAttribute::NextHop(addr) => view.next_hop = Some(*addr),
                PathAttribute::MultiExitDisc(med) => view.med = Some(*med),
                PathAttribute::LocalPref(pref) => view.local_pref = Some(*pref),
                PathAttribute::AtomicAggregate => view.atomic_aggregate = true,
                PathAttribute::Aggregator(aggregator) => view.aggregator = Some(*aggregator),
                PathAttribute::Communities(list) => view.communities = Some(Cow::Borrowed(list)),
                PathAttribute::MpReach(reach) => view.mp_reach = Some(reach),
                PathAttribute::MpUnreach(unreach) => view.mp_unreach = Some(unreach),
                PathAttribute::As4Path(path) => as4_path = Some(path),
                PathAttribute::As4Aggregator(aggregator) => as4_aggregator = Some(*aggregator),
                PathAttribute::Raw(raw) if raw.type_code == attr_type::ATOMIC_AGGREGATE => {
                    view.atomic_aggregate = true;
                }
                PathAttribute::Raw(_) => match attribute.typed(&ctx) {
                    Some(PathAttribute::Communities(list)) => {
                        view.communities = Some(Cow::Owned(list.to_vec()));
                    }
                    Some(PathAttribute::Aggregator(aggregator)) => {
                        view.aggregator = Some(aggregator);
                    }
                    Some(PathAttribute::As4Aggregator(aggregator)) => {
                        as4_aggregator = Some(aggregator);
                    }
                    Some(PathAttribute::As4Path(path)) => partial_as4_path = Some(path),
                    _ => {}
                },
                _ => {}
            }
        }
        if as4_path.is_none() {
            as4_path = partial_as4_path.as_ref();
        }
        if view.aggregator.is_none() {
            view.aggregator = discarded_aggregator(findings, four_octet);
        }
        view.as_path = as_path.map(|path| path.segments.to_vec());
        if !four_octet {
            view.reconcile(as_path, as4_path, as4_aggregator);
        }
        view
    }

    /// RFC 6793 section 4.2.3 as bgpdump does it, quirks included: an
    /// AS4_AGGREGATOR replaces an AGGREGATOR of AS_TRANS, but an AGGREGATOR
    /// with any other AS also stops the AS4_PATH from being used; the AS
    /// path is rebuilt by repeating the first AS_PATH segment (cut to size)
    /// until enough leading ASes are kept, then appending AS4_PATH.
    fn reconcile(
        &mut self,
        as_path: Option<&AsPath>,
        as4_path: Option<&AsPath>,
        as4_aggregator: Option<Aggregator>,
    ) {
        if let (Some(aggregator), Some(as4)) = (self.aggregator, as4_aggregator) {
            if aggregator.asn != u32::from(AS_TRANS) {
                return;
            }
            self.aggregator = Some(as4);
        }
        let (Some(path), Some(as4)) = (as_path, as4_path) else {
            return;
        };
        let (count, count4) = (path_count(&path.segments), path_count(&as4.segments));
        if count < count4 {
            return;
        }
        let keep = count - count4;
        let mut merged = Vec::new();
        if let Some(first) = path.segments.first() {
            let mut kept = 0;
            while kept < keep {
                let mut segment = first.clone();
                if matches!(segment.kind, SegmentType::Set | SegmentType::ConfedSet) {
                    kept += 1;
                } else {
                    kept += segment.asns.len();
                    if kept > keep {
                        segment.asns.truncate(segment.asns.len() - (kept - keep));
                    }
                    if segment.asns.is_empty() && kept <= keep {
                        // bgpdump would loop forever on an empty segment.
                        break;
                    }
                }
                merged.push(segment);
            }
        }
        merged.extend(as4.segments.iter().cloned());
        self.as_path = Some(merged);
    }
}

/// The number of ASes bgpdump counts in a path: a set of either kind counts
/// as one, every AS of a sequence of either kind as one.
fn path_count(segments: &[AsSegment]) -> usize {
    segments
        .iter()
        .map(|segment| match segment.kind {
            SegmentType::Set | SegmentType::ConfedSet => 1,
            SegmentType::Sequence | SegmentType::ConfedSequence => segment.asns.len(),
        })
        .sum()
}

/// The 16 octets bgpdump keeps for an MP_REACH_NLRI next hop: an IPv4 next
/// hop fills the first 4, an IPv6 one all 16 (the link-local address of a
/// 32-octet next hop is not printed), anything else leaves them zero.
pub(crate) fn next_hop_octets(next_hop: &NextHop) -> [u8; 16] {
    let mut octets = [0u8; 16];
    match next_hop {
        NextHop::V4(addr) => octets[..4].copy_from_slice(&addr.octets()),
        NextHop::V6 { global, .. } => octets = global.octets(),
        NextHop::Raw(bytes) => match bytes.len() {
            4 => octets[..4].copy_from_slice(bytes),
            16 | 32 => octets.copy_from_slice(&bytes[..16]),
            _ => {}
        },
    }
    octets
}

/// The first value octet of the MP_REACH_NLRI attribute in a raw attribute
/// block. bgpdump takes an MP_REACH_NLRI whose first octet is not zero
/// (an AFI below 256 always starts with zero) for the abbreviated form of
/// RFC 6396 section 4.3.4, and files its next hop as IPv6 unicast.
pub(crate) fn mp_reach_first_octet(block: &[u8]) -> Option<u8> {
    let mut pos = 0;
    while let Some(&[flag_bits, code]) = block.get(pos..pos + 2) {
        let (len, header) = if flag_bits & 0x10 != 0 {
            let &[hi, lo] = block.get(pos + 2..pos + 4)? else {
                return None;
            };
            (usize::from(u16::from_be_bytes([hi, lo])), 4)
        } else {
            (usize::from(*block.get(pos + 2)?), 3)
        };
        if code == attr_type::MP_REACH_NLRI {
            return if len == 0 {
                None
            } else {
                block.get(pos + header).copied()
            };
        }
        pos += header + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_keeps_the_leading_two_octet_ases() {
        let attributes = [
            PathAttribute::AsPath(AsPath::from_sequence(vec![65001, 23456, 23456, 65003])),
            PathAttribute::As4Path(AsPath::from_sequence(vec![200_000, 300_000, 65003])),
        ];
        let view = AttrView::new(&attributes, &Findings::default(), false);
        let mut text = String::new();
        super::super::text::as_path(view.as_path.as_deref().unwrap_or(&[]), &mut text);
        assert_eq!(text, "65001 200000 300000 65003");
    }

    #[test]
    fn aggregator_other_than_as_trans_blocks_the_as4_path() {
        let address = Ipv4Addr::new(192, 0, 2, 1);
        let attributes = [
            PathAttribute::AsPath(AsPath::from_sequence(vec![65001, 23456])),
            PathAttribute::Aggregator(Aggregator {
                asn: 65001,
                address,
            }),
            PathAttribute::As4Path(AsPath::from_sequence(vec![200_000])),
            PathAttribute::As4Aggregator(Aggregator {
                asn: 200_000,
                address,
            }),
        ];
        let view = AttrView::new(&attributes, &Findings::default(), false);
        assert_eq!(view.aggregator.map(|a| a.asn), Some(65001));
        assert_eq!(
            view.as_path,
            Some(AsPath::from_sequence(vec![65001, 23456]).segments.to_vec())
        );
    }

    #[test]
    fn finds_the_mp_reach_value() {
        let block = [0x40, 1, 1, 0, 0x90, 14, 0, 2, 16, 0xfe];
        assert_eq!(mp_reach_first_octet(&block), Some(16));
        assert_eq!(mp_reach_first_octet(&block[..4]), None);
    }
}

//! AS_PATH and AS4_PATH (RFC 4271 section 4.3, RFC 5065, RFC 6793).
//!
//! The value is a sequence of segments:
//!
//! ```text
//! +--------------+--------------+-------------------------------------+
//! | type (1)     | count (1)    | count AS numbers, 2 or 4 octets each |
//! +--------------+--------------+-------------------------------------+
//! type: 1 AS_SET, 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET
//! ```
//!
//! Paths are always held with 4-octet AS numbers; the context decides the
//! size on the wire. [`reconcile`] rebuilds the true path from a 2-octet
//! peer's AS_PATH and AS4_PATH (RFC 6793 section 4.2.3).

use bytes::{BufMut, BytesMut};
use smallvec::SmallVec;
use std::fmt;

use crate::iana::AS_TRANS;

/// AS path segment types (RFC 4271 section 4.3, RFC 5065 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SegmentType {
    /// Unordered set of ASes (from aggregation).
    Set = 1,
    /// Ordered sequence of ASes.
    Sequence = 2,
    /// Ordered member ASes of the local confederation.
    ConfedSequence = 3,
    /// Unordered member ASes of the local confederation.
    ConfedSet = 4,
}

impl SegmentType {
    /// The segment type from its wire octet.
    pub fn from_u8(value: u8) -> Option<Self> {
        match value {
            1 => Some(SegmentType::Set),
            2 => Some(SegmentType::Sequence),
            3 => Some(SegmentType::ConfedSequence),
            4 => Some(SegmentType::ConfedSet),
            _ => None,
        }
    }

    /// Is this one of the confederation segment types?
    pub fn is_confed(self) -> bool {
        matches!(self, SegmentType::ConfedSequence | SegmentType::ConfedSet)
    }
}

/// The AS numbers of a segment: up to 8 are held inline (more than nine
/// paths in ten of a real update stream), so most paths cost no allocation.
pub type AsnList = SmallVec<[u32; 8]>;

/// The segments of a path: the usual single segment is held inline.
pub type SegmentList = SmallVec<[AsSegment; 1]>;

/// One segment of an AS path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AsSegment {
    /// The segment type.
    pub kind: SegmentType,
    /// The AS numbers, in wire order.
    pub asns: AsnList,
}

impl AsSegment {
    /// An AS_SEQUENCE.
    pub fn sequence(asns: impl IntoIterator<Item = u32>) -> Self {
        AsSegment {
            kind: SegmentType::Sequence,
            asns: asns.into_iter().collect(),
        }
    }

    /// An AS_SET.
    pub fn set(asns: impl IntoIterator<Item = u32>) -> Self {
        AsSegment {
            kind: SegmentType::Set,
            asns: asns.into_iter().collect(),
        }
    }

    /// This segment's contribution to the path length (RFC 4271 section
    /// 9.1.2.2 a: a set counts as one; RFC 5065 section 5.3: confederation
    /// segments count as zero).
    pub fn path_length(&self) -> usize {
        match self.kind {
            SegmentType::Sequence => self.asns.len(),
            SegmentType::Set => 1,
            SegmentType::ConfedSequence | SegmentType::ConfedSet => 0,
        }
    }
}

/// An AS path: AS_PATH or AS4_PATH.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AsPath {
    /// Segments in wire order.
    pub segments: SegmentList,
}

/// Why an AS path could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsPathError {
    /// The segment type is not 1-4.
    UnknownSegmentType(u8),
    /// A segment with no AS numbers (RFC 7606 section 7.2).
    EmptySegment,
    /// A segment runs past the end of the attribute.
    Overrun,
    /// AS number 0 (RFC 7607 section 2).
    ZeroAsn,
}

impl AsPathError {
    /// A short description for error reports.
    pub fn reason(self) -> &'static str {
        match self {
            AsPathError::UnknownSegmentType(_) => "unknown segment type",
            AsPathError::EmptySegment => "segment with no AS numbers",
            AsPathError::Overrun => "segment overruns the attribute",
            AsPathError::ZeroAsn => "AS number 0",
        }
    }
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    pub fn from_sequence(asns: impl IntoIterator<Item = u32>) -> Self {
        let segment = AsSegment::sequence(asns);
        if segment.asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: smallvec::smallvec![segment],
        }
    }

    /// A path of these segments.
    pub fn from_segments(segments: impl IntoIterator<Item = AsSegment>) -> Self {
        AsPath {
            segments: segments.into_iter().collect(),
        }
    }

    /// Decode from the attribute value with 2-octet (`four_octet == false`)
    /// or 4-octet AS numbers.
    pub fn decode(value: &[u8], four_octet: bool) -> Result<Self, AsPathError> {
        if four_octet {
            Self::decode_sized::<4>(value)
        } else {
            Self::decode_sized::<2>(value)
        }
    }

    /// One pass over the value; `N` is the AS number size in octets. Each
    /// segment's numbers are filled in without a capacity check per AS
    /// (see `inline_list`).
    fn decode_sized<const N: usize>(value: &[u8]) -> Result<Self, AsPathError> {
        let mut segments = SegmentList::new();
        let mut rest = value;
        while let [kind, count, tail @ ..] = rest {
            let kind = SegmentType::from_u8(*kind).ok_or(AsPathError::UnknownSegmentType(*kind))?;
            if *count == 0 {
                return Err(AsPathError::EmptySegment);
            }
            let len = usize::from(*count) * N;
            let Some((body, after)) = tail.split_at_checked(len) else {
                return Err(AsPathError::Overrun);
            };
            let mut zero = false;
            let numbers = body.chunks_exact(N).map(|chunk| {
                let asn = match *chunk {
                    [a, b, c, d] => u32::from_be_bytes([a, b, c, d]),
                    [a, b] => u32::from(u16::from_be_bytes([a, b])),
                    _ => 0,
                };
                zero |= asn == 0;
                asn
            });
            let asns: AsnList = super::inline_list(usize::from(*count), numbers, 0);
            if zero {
                return Err(AsPathError::ZeroAsn);
            }
            segments.push(AsSegment { kind, asns });
            rest = after;
        }
        if !rest.is_empty() {
            // One stray octet: a segment header cut short.
            return Err(AsPathError::Overrun);
        }
        Ok(AsPath { segments })
    }

    /// Length of the encoded value.
    pub fn encoded_len(&self, four_octet: bool) -> usize {
        let asn_len = if four_octet { 4 } else { 2 };
        self.segments
            .iter()
            .filter(|s| !s.asns.is_empty())
            .map(|s| s.asns.len() * asn_len + 2 * s.asns.len().div_ceil(255))
            .sum()
    }

    /// Append the attribute value. With 2-octet AS numbers, ASes above 65535
    /// are written as AS_TRANS (RFC 6793 section 4.2.2). Segments of more
    /// than 255 ASes are split; empty segments are left out.
    pub fn encode(&self, four_octet: bool, out: &mut BytesMut) {
        for segment in &self.segments {
            for chunk in segment.asns.chunks(255) {
                out.put_u8(segment.kind as u8);
                out.put_u8(chunk.len() as u8);
                for &asn in chunk {
                    if four_octet {
                        out.put_u32(asn);
                    } else {
                        out.put_u16(u16::try_from(asn).unwrap_or(AS_TRANS));
                    }
                }
            }
        }
    }

    /// Path length for best-path selection (RFC 4271 section 9.1.2.2 a).
    pub fn path_length(&self) -> usize {
        self.segments.iter().map(AsSegment::path_length).sum()
    }

    /// Does any AS number need 4 octets?
    pub fn has_four_octet_asn(&self) -> bool {
        self.segments
            .iter()
            .flat_map(|s| s.asns.iter())
            .any(|&asn| asn > u32::from(u16::MAX))
    }

    /// The AS4_PATH to send along with this path to a peer without the
    /// 4-octet AS capability, or `None` if every AS fits in 2 octets (RFC
    /// 6793 section 4.2.2). Confederation segments are never put in AS4_PATH.
    pub fn as4_path_for_two_octet_peer(&self) -> Option<AsPath> {
        if !self.has_four_octet_asn() {
            return None;
        }
        Some(AsPath {
            segments: self
                .segments
                .iter()
                .filter(|s| !s.kind.is_confed())
                .cloned()
                .collect(),
        })
    }

    /// The first AS of the path: the neighbour AS (RFC 4271 section 9.1.2.2 c).
    pub fn first_asn(&self) -> Option<u32> {
        let first = self.segments.first()?;
        match first.kind {
            SegmentType::Sequence => first.asns.first().copied(),
            _ => None,
        }
    }

    /// The last AS of the path, the origin AS, when it is in a sequence.
    pub fn origin_asn(&self) -> Option<u32> {
        let last = self.segments.last()?;
        match last.kind {
            SegmentType::Sequence => last.asns.last().copied(),
            _ => None,
        }
    }

    /// Does the path contain `asn` anywhere (loop detection, RFC 4271 9.1.2)?
    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| s.asns.contains(&asn))
    }

    /// This path with `asn` prepended `count` times, as an eBGP speaker does
    /// (RFC 4271 section 5.1.2).
    #[must_use]
    pub fn prepended(&self, asn: u32, count: usize) -> AsPath {
        let mut segments = self.segments.clone();
        match segments.first_mut() {
            Some(first)
                if first.kind == SegmentType::Sequence && first.asns.len() + count <= 255 =>
            {
                first.asns.insert_many(0, std::iter::repeat_n(asn, count));
            }
            _ => segments.insert(0, AsSegment::sequence(std::iter::repeat_n(asn, count))),
        }
        AsPath { segments }
    }
}

impl fmt::Display for AsPath {
    /// Prints like the usual CLI tools: sequences as space-separated ASes,
    /// sets in braces, confederation segments in parentheses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            let (open, sep, close) = match segment.kind {
                SegmentType::Sequence => ("", " ", ""),
                SegmentType::Set => ("{", ",", "}"),
                SegmentType::ConfedSequence => ("(", " ", ")"),
                SegmentType::ConfedSet => ("[", ",", "]"),
            };
            f.write_str(open)?;
            for (j, asn) in segment.asns.iter().enumerate() {
                if j > 0 {
                    f.write_str(sep)?;
                }
                write!(f, "{asn}")?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

/// Rebuild the path of a route received from a 2-octet-AS speaker from its
/// AS_PATH and AS4_PATH (RFC 6793 section 4.2.3).
///
/// If AS_PATH has fewer ASes than AS4_PATH, AS4_PATH is ignored. Otherwise
/// the leading ASes of AS_PATH that AS4_PATH does not cover are kept, and
/// AS4_PATH follows. Confederation segments of AS_PATH are not counted and
/// stay in front.
pub fn reconcile(as_path: &AsPath, as4_path: &AsPath) -> AsPath {
    let count = |path: &AsPath| -> usize {
        path.segments
            .iter()
            .filter(|s| !s.kind.is_confed())
            .map(AsSegment::path_length)
            .sum()
    };
    let (two, four) = (count(as_path), count(as4_path));
    if two < four {
        return as_path.clone();
    }
    let mut keep = two - four;
    let mut segments = Vec::with_capacity(as_path.segments.len() + as4_path.segments.len());
    for segment in &as_path.segments {
        if segment.kind.is_confed() {
            segments.push(segment.clone());
            continue;
        }
        if keep == 0 {
            break;
        }
        match segment.kind {
            SegmentType::Set => {
                segments.push(segment.clone());
                keep -= 1;
            }
            _ => {
                let take = keep.min(segment.asns.len());
                segments.push(AsSegment {
                    kind: segment.kind,
                    asns: segment.asns[..take].iter().copied().collect(),
                });
                keep -= take;
            }
        }
    }
    // Merge a cut sequence with a leading AS4 sequence, so the result is the
    // path as the 4-octet speakers saw it.
    let mut as4 = as4_path.segments.iter().cloned();
    if let (Some(last), Some(first)) = (segments.last_mut(), as4_path.segments.first()) {
        if last.kind == SegmentType::Sequence
            && first.kind == SegmentType::Sequence
            && last.asns.len() + first.asns.len() <= 255
        {
            last.asns.extend_from_slice(&first.asns);
            as4.next();
        }
    }
    segments.extend(as4);
    AsPath {
        segments: segments.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_two_and_four_octet_paths() {
        let two = [2, 2, 0xfd, 0xe8, 0x5b, 0xa0];
        assert_eq!(
            AsPath::decode(&two, false).unwrap(),
            AsPath::from_sequence(vec![65000, 23456])
        );
        let four = [2, 1, 0, 3, 0x0d, 0x40];
        assert_eq!(
            AsPath::decode(&four, true).unwrap(),
            AsPath::from_sequence(vec![200_000])
        );
    }

    #[test]
    fn rfc7606_section_7_2_malformed_paths() {
        assert_eq!(
            AsPath::decode(&[5, 1, 0, 1], false),
            Err(AsPathError::UnknownSegmentType(5))
        );
        assert_eq!(
            AsPath::decode(&[2, 0], false),
            Err(AsPathError::EmptySegment)
        );
        assert_eq!(
            AsPath::decode(&[2, 2, 0, 1], false),
            Err(AsPathError::Overrun)
        );
        assert_eq!(
            AsPath::decode(&[2, 1, 0, 1, 2], false),
            Err(AsPathError::Overrun)
        );
    }

    #[test]
    fn segments_longer_than_the_inline_list_decode_the_same() {
        for count in [7u8, 8, 9, 30] {
            let mut value = vec![2, count];
            for asn in 1..=u32::from(count) {
                value.extend((65_000 + asn).to_be_bytes());
            }
            let path = AsPath::decode(&value, true).unwrap();
            let expected: Vec<u32> = (1..=u32::from(count)).map(|a| 65_000 + a).collect();
            assert_eq!(path.segments[0].asns.as_slice(), expected.as_slice());
            assert_eq!(path.segments[0].asns.spilled(), count > 8);
            // RFC 7607: an AS 0 anywhere, inline or spilled, is malformed.
            for at in [0, usize::from(count) - 1] {
                let mut zeroed = value.clone();
                zeroed[2 + 4 * at..6 + 4 * at].fill(0);
                assert_eq!(AsPath::decode(&zeroed, true), Err(AsPathError::ZeroAsn));
            }
        }
    }

    #[test]
    fn rfc7607_as_zero_is_malformed() {
        assert_eq!(
            AsPath::decode(&[2, 1, 0, 0], false),
            Err(AsPathError::ZeroAsn)
        );
    }

    #[test]
    fn rfc4271_path_length_counts_a_set_as_one() {
        let path = AsPath {
            segments: smallvec::smallvec![
                AsSegment {
                    kind: SegmentType::ConfedSequence,
                    asns: smallvec::smallvec![65001, 65002],
                },
                AsSegment::sequence(vec![1, 2, 3]),
                AsSegment::set(vec![4, 5, 6]),
            ],
        };
        assert_eq!(path.path_length(), 4);
    }

    #[test]
    fn rfc6793_two_octet_encoding_uses_as_trans() {
        let path = AsPath::from_sequence(vec![65000, 4_200_000_000]);
        let mut out = BytesMut::new();
        path.encode(false, &mut out);
        assert_eq!(&out[..], &[2, 2, 0xfd, 0xe8, 0x5b, 0xa0]);
        assert_eq!(path.as4_path_for_two_octet_peer(), Some(path.clone()));
    }

    #[test]
    fn long_sequences_are_split_at_255() {
        let path = AsPath::from_sequence(vec![7; 300]);
        let mut out = BytesMut::new();
        path.encode(true, &mut out);
        assert_eq!(out.len(), path.encoded_len(true));
        let back = AsPath::decode(&out, true).unwrap();
        assert_eq!(back.segments.len(), 2);
        assert_eq!(back.path_length(), 300);
    }

    #[test]
    fn rfc6793_4_2_3_reconciliation() {
        // 65001 (2-octet speaker) learned 23456 23456 65003 from 4-octet land.
        let as_path = AsPath::from_sequence(vec![65001, 23456, 23456, 65003]);
        let as4_path = AsPath::from_sequence(vec![200_000, 300_000, 65003]);
        assert_eq!(
            reconcile(&as_path, &as4_path),
            AsPath::from_sequence(vec![65001, 200_000, 300_000, 65003])
        );
    }

    #[test]
    fn rfc6793_4_2_3_longer_as4_path_is_ignored() {
        let as_path = AsPath::from_sequence(vec![65001]);
        let as4_path = AsPath::from_sequence(vec![200_000, 300_000]);
        assert_eq!(reconcile(&as_path, &as4_path), as_path);
    }

    #[test]
    fn display_matches_the_usual_notation() {
        let path = AsPath {
            segments: smallvec::smallvec![
                AsSegment::sequence(vec![1, 2]),
                AsSegment::set(vec![3, 4])
            ],
        };
        assert_eq!(path.to_string(), "1 2 {3,4}");
    }

    #[test]
    fn prepend_extends_the_first_sequence() {
        let path = AsPath::from_sequence(vec![2]).prepended(1, 2);
        assert_eq!(path, AsPath::from_sequence(vec![1, 1, 2]));
    }
}

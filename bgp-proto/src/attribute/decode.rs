//! Decoding a block of path attributes, with the error handling of RFC 7606.
//!
//! [`decode_attributes`] walks the Path Attributes field of an UPDATE (or of
//! an MRT RIB entry). Errors that RFC 7606 lets the session survive become
//! [`Findings`]; the offending attribute is left out of the result. Errors
//! that need a session reset are returned as `Err`.
//!
//! The rules, by RFC 7606 section:
//! - 3 a: wrong Optional/Transitive flags on a known attribute: treat-as-withdraw.
//! - 3 c: MP_REACH_NLRI / MP_UNREACH_NLRI twice: session reset; any other
//!   attribute twice: the later copies are discarded.
//! - 4: an attribute header or value that overruns the field: treat-as-withdraw.
//! - RFC 4271 section 6.3: an unknown type without the Optional bit: session reset.
//! - 7.1-7.14 and RFC 6793, 7607, 8092, 9234: per attribute, see
//!   [`decode_value`].
//!
//! Reserved flag bits are ignored (RFC 4271 section 4.3); the Extended Length
//! bit is accepted on any attribute. A known optional transitive attribute
//! with the Partial bit set is validated like any other, then kept as a
//! [`PathAttribute::Raw`] with its flags, because RFC 4271 section 5 forbids
//! clearing the bit; [`PathAttribute::typed`] decodes it when its value is
//! needed.

use bytes::Bytes;
use std::net::Ipv4Addr;

use super::as_path::AsPath;
use super::community::{Community, ExtendedCommunity, Ipv6ExtendedCommunity, LargeCommunity};
use super::mp::{MpReach, MpUnreach};
use super::{Aggregator, Origin, PathAttribute, RawAttribute, flags};
use crate::context::{DecodeCtx, PeerType};
use crate::error::{DecodeError, ErrorAction, ErrorKind, Findings};
use crate::iana::{AfiSafi, attr_type as t};

/// Options for where the attribute block comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttrOptions {
    /// The block is from an MRT TABLE_DUMP_V2 RIB entry of this family, whose
    /// MP_REACH_NLRI holds only the next hop (RFC 6396 section 4.3.4).
    pub mrt_rib_family: Option<AfiSafi>,
}

/// A set of 256 attribute type codes.
#[derive(Default)]
struct TypeSet([u64; 4]);

impl TypeSet {
    /// Insert; false if it was already there.
    fn insert(&mut self, code: u8) -> bool {
        let (word, bit) = (usize::from(code >> 6), 1u64 << (code & 63));
        let fresh = self.0[word] & bit == 0;
        self.0[word] |= bit;
        fresh
    }
}

/// Decode the attribute block `buf`, whose first byte is at `base` in the
/// message. See the module documentation for error handling.
pub fn decode_attributes(
    buf: &[u8],
    ctx: &DecodeCtx,
    base: usize,
    options: AttrOptions,
) -> Result<(Vec<PathAttribute>, Findings), DecodeError> {
    let mut attributes = Vec::with_capacity(8);
    let mut findings = Findings::default();
    decode_attributes_into(buf, ctx, base, options, &mut attributes, &mut findings)?;
    Ok((attributes, findings))
}

/// Like [`decode_attributes`], appending to `attributes` and `findings`, so
/// a caller that decodes many UPDATEs can reuse their allocations.
pub fn decode_attributes_into(
    buf: &[u8],
    ctx: &DecodeCtx,
    base: usize,
    options: AttrOptions,
    attributes: &mut Vec<PathAttribute>,
    findings: &mut Findings,
) -> Result<(), DecodeError> {
    walk(buf, ctx, base, options, attributes, findings).map(|_| ())
}

/// What [`walk`] kept besides the attributes themselves: what the UPDATE
/// check of RFC 7606 section 3 d needs, gathered on the way so that check
/// does not scan the attributes again.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BlockSummary {
    /// Bit `1 << code` for each of ORIGIN (1), AS_PATH (2) and NEXT_HOP (3)
    /// that was decoded and kept.
    kept_mandatory: u8,
    /// An MP_REACH_NLRI with at least one route was kept.
    pub(crate) announces_mp: bool,
}

impl BlockSummary {
    /// Was the well-known attribute `code` (ORIGIN, AS_PATH or NEXT_HOP)
    /// decoded and kept?
    pub(crate) fn kept(self, code: u8) -> bool {
        code <= t::NEXT_HOP && self.kept_mandatory & (1 << code) != 0
    }
}

/// The attribute walk behind [`decode_attributes_into`].
///
/// Each attribute costs one header parse, one table look-up for its flags
/// (see [`EXPECTED_FLAGS`]) and one value decode written straight into
/// `attributes`; the error paths are out of line.
pub(crate) fn walk(
    buf: &[u8],
    ctx: &DecodeCtx,
    base: usize,
    options: AttrOptions,
    attributes: &mut Vec<PathAttribute>,
    findings: &mut Findings,
) -> Result<BlockSummary, DecodeError> {
    const OT: u8 = flags::OPTIONAL | flags::TRANSITIVE;
    let mut seen = TypeSet::default();
    let mut summary = BlockSummary::default();
    let mut pos = 0;
    while pos < buf.len() {
        let start = pos;
        let (flag_bits, code, len, header_len) = match buf[pos..] {
            [f, code, len, ..] if f & flags::EXTENDED_LENGTH == 0 => (f, code, usize::from(len), 3),
            [f, code, hi, lo, ..] => (f, code, usize::from(u16::from_be_bytes([hi, lo])), 4),
            // RFC 7606 section 4: the header is cut short (fewer than 3
            // octets, or an extended length without its second octet).
            ref short => {
                header_truncated(short, base + pos, findings);
                break;
            }
        };
        let value_start = pos + header_len;
        let Some(value) = buf.get(value_start..value_start + len) else {
            // RFC 7606 section 4: the attribute overruns the field.
            findings.push(
                code,
                ErrorAction::TreatAsWithdraw,
                DecodeError::new(
                    t::name(code),
                    base + pos,
                    ErrorKind::AttributeLength {
                        type_code: code,
                        length: len,
                        attribute: Bytes::copy_from_slice(&buf[start..]),
                    },
                ),
            );
            break;
        };
        pos = value_start + len;
        let is_mp = code == t::MP_REACH_NLRI || code == t::MP_UNREACH_NLRI;

        // RFC 7606 section 3 c: duplicates.
        if !seen.insert(code) {
            let error = DecodeError::new(
                t::name(code),
                base + start,
                ErrorKind::MalformedAttributeList {
                    reason: "attribute appears more than once",
                },
            );
            if is_mp {
                return Err(error);
            }
            findings.push(code, ErrorAction::AttributeDiscard, error);
            continue;
        }

        let expected = EXPECTED_FLAGS[usize::from(code)];
        if expected != UNKNOWN {
            // RFC 7606 section 3 a: Optional and Transitive bits must match the type.
            if flag_bits & OT != expected {
                findings.push(
                    code,
                    ErrorAction::TreatAsWithdraw,
                    DecodeError::new(
                        t::name(code),
                        base + start,
                        ErrorKind::AttributeFlags {
                            type_code: code,
                            flags: flag_bits,
                            attribute: Bytes::copy_from_slice(&buf[start..pos]),
                        },
                    ),
                );
                // The MP attributes are still needed to know what to withdraw.
                if !is_mp {
                    continue;
                }
            }
        } else if flag_bits & flags::OPTIONAL == 0 {
            // RFC 4271 section 6.3 (not revised by RFC 7606): an unrecognised
            // attribute that claims to be well-known resets the session.
            return Err(DecodeError::new(
                t::name(code),
                base + start,
                ErrorKind::UnrecognizedWellKnownAttribute {
                    attribute: Bytes::copy_from_slice(&buf[start..pos]),
                },
            ));
        }

        let decoded = decode_value(
            code,
            flag_bits,
            value,
            ctx,
            base + value_start,
            options,
            attributes,
        );
        if let Err(failure) = decoded {
            failure.record(code, base + start, &buf[start..pos], findings)?;
            continue;
        }
        if code <= t::NEXT_HOP {
            summary.kept_mandatory |= 1 << code;
        } else if code == t::MP_REACH_NLRI {
            if let Some(PathAttribute::MpReach(reach)) = attributes.last() {
                summary.announces_mp = !reach.nlri.is_empty();
            }
        } else if flag_bits & flags::PARTIAL != 0 && expected == OT {
            // RFC 4271 section 5: a Partial bit once set must never be
            // cleared. A known optional transitive attribute that carries it
            // was validated above and is kept byte-exact with its flags, so
            // it is forwarded exactly as received (see `PathAttribute::typed`).
            if let Some(last) = attributes.last_mut() {
                *last = PathAttribute::Raw(RawAttribute {
                    flags: flag_bits & flags::MEANINGFUL & !flags::EXTENDED_LENGTH,
                    type_code: code,
                    value: partial_value(code, value, ctx),
                });
            }
        }
    }
    Ok(summary)
}

/// Record RFC 7606 section 4's "attribute header truncated": `short` is
/// what is left of the field at `offset` (fewer than 3 octets, or 3 with the
/// Extended Length bit). The finding names the type when its octet is there.
#[cold]
fn header_truncated(short: &[u8], offset: usize, findings: &mut Findings) {
    let (code, location) = match short {
        [_, code, _] => (*code, t::name(*code)),
        _ => (0, "path attributes"),
    };
    findings.push(
        code,
        ErrorAction::TreatAsWithdraw,
        DecodeError::new(
            location,
            offset,
            ErrorKind::MalformedAttributeList {
                reason: "attribute header truncated",
            },
        ),
    );
}

/// [`EXPECTED_FLAGS`] of a type this crate does not know.
const UNKNOWN: u8 = 0xff;

/// The Optional and Transitive bits each known type code must carry, and
/// [`UNKNOWN`] for the others: one look-up per attribute instead of a
/// `match` on the type code.
static EXPECTED_FLAGS: [u8; 256] = {
    let mut table = [UNKNOWN; 256];
    let mut code = 0;
    while code < 256 {
        if let Some(expected) = expected_flags(code as u8) {
            table[code] = expected;
        }
        code += 1;
    }
    table
};
/// The Optional and Transitive bits that a known attribute must carry.
const fn expected_flags(code: u8) -> Option<u8> {
    const WELL_KNOWN: u8 = flags::TRANSITIVE;
    const OPTIONAL_NON_TRANSITIVE: u8 = flags::OPTIONAL;
    const OPTIONAL_TRANSITIVE: u8 = flags::OPTIONAL | flags::TRANSITIVE;
    match code {
        t::ORIGIN | t::AS_PATH | t::NEXT_HOP | t::LOCAL_PREF | t::ATOMIC_AGGREGATE => {
            Some(WELL_KNOWN)
        }
        t::MULTI_EXIT_DISC
        | t::ORIGINATOR_ID
        | t::CLUSTER_LIST
        | t::MP_REACH_NLRI
        | t::MP_UNREACH_NLRI => Some(OPTIONAL_NON_TRANSITIVE),
        t::AGGREGATOR
        | t::COMMUNITIES
        | t::EXTENDED_COMMUNITIES
        | t::AS4_PATH
        | t::AS4_AGGREGATOR
        | t::IPV6_EXTENDED_COMMUNITIES
        | t::LARGE_COMMUNITIES
        | t::OTC => Some(OPTIONAL_TRANSITIVE),
        _ => None,
    }
}

/// How decoding one attribute value failed.
enum Failure {
    /// A non-fatal error: the attribute is left out and the action recorded.
    Finding(ErrorAction, ErrorKind),
    /// The session must be reset.
    Session(DecodeError),
}

impl Failure {
    /// Apply the failure of the attribute `whole` (type `code`, at `offset`
    /// in the message): a finding is recorded, a session error returned.
    #[cold]
    fn record(
        self,
        code: u8,
        offset: usize,
        whole: &[u8],
        findings: &mut Findings,
    ) -> Result<(), DecodeError> {
        match self {
            Failure::Session(error) => Err(error),
            Failure::Finding(action, kind) => {
                let kind = kind.with_attribute(whole);
                findings.push(code, action, DecodeError::new(t::name(code), offset, kind));
                Ok(())
            }
        }
    }
}

impl ErrorKind {
    /// Fill in the whole-attribute bytes that NOTIFICATION data carries.
    fn with_attribute(self, whole: &[u8]) -> ErrorKind {
        let bytes = Bytes::copy_from_slice(whole);
        match self {
            ErrorKind::AttributeLength {
                type_code, length, ..
            } => ErrorKind::AttributeLength {
                type_code,
                length,
                attribute: bytes,
            },
            ErrorKind::InvalidOrigin { value, .. } => ErrorKind::InvalidOrigin {
                value,
                attribute: bytes,
            },
            ErrorKind::OptionalAttribute {
                type_code, reason, ..
            } => ErrorKind::OptionalAttribute {
                type_code,
                reason,
                attribute: bytes,
            },
            other => other,
        }
    }
}

fn length_error(action: ErrorAction, code: u8, value: &[u8]) -> Failure {
    Failure::Finding(
        action,
        ErrorKind::AttributeLength {
            type_code: code,
            length: value.len(),
            attribute: Bytes::new(),
        },
    )
}

fn optional_error(action: ErrorAction, code: u8, reason: &'static str) -> Failure {
    Failure::Finding(
        action,
        ErrorKind::OptionalAttribute {
            type_code: code,
            reason,
            attribute: Bytes::new(),
        },
    )
}

fn u32_of(value: &[u8]) -> Option<u32> {
    let bytes: [u8; 4] = value.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

/// Split `value` into records of `N` octets; `None` unless its length is a
/// non-zero multiple of `N`.
fn records<const N: usize>(value: &[u8]) -> Option<impl ExactSizeIterator<Item = [u8; N]> + '_> {
    if value.is_empty() || value.len() % N != 0 {
        return None;
    }
    Some(value.chunks_exact(N).map(|chunk| {
        let mut record = [0u8; N];
        record.copy_from_slice(chunk);
        record
    }))
}

/// Decode one attribute value and push it onto `out`. Inlined into the
/// walk, and each arm pushes its own variant, so a small value (ORIGIN,
/// NEXT_HOP, MED...) is written into the vector as it is, not built in a
/// `Result` and copied whole. Every failure, including an AS4 attribute from
/// a 4-octet speaker (RFC 6793 section 4.1), is a [`Failure`] and pushes
/// nothing.
#[inline(always)]
fn decode_value(
    code: u8,
    flag_bits: u8,
    value: &[u8],
    ctx: &DecodeCtx,
    base: usize,
    options: AttrOptions,
    out: &mut Vec<PathAttribute>,
) -> Result<(), Failure> {
    use ErrorAction::{AttributeDiscard as Discard, TreatAsWithdraw as Withdraw};
    macro_rules! keep {
        ($attribute:expr) => {{
            out.push($attribute);
            return Ok(());
        }};
    }
    let ebgp = ctx.peer_type == PeerType::External;
    match code {
        // RFC 7606 7.1: length other than 1, or an undefined value.
        t::ORIGIN => match value {
            &[byte] => match Origin::from_u8(byte) {
                Some(origin) => keep!(PathAttribute::Origin(origin)),
                None => Err(Failure::Finding(
                    Withdraw,
                    ErrorKind::InvalidOrigin {
                        value: byte,
                        attribute: Bytes::new(),
                    },
                )),
            },
            _ => Err(length_error(Withdraw, code, value)),
        },
        // RFC 7606 7.2 and RFC 7607: a malformed AS_PATH is treat-as-withdraw.
        t::AS_PATH => match AsPath::decode(value, ctx.four_octet_as) {
            Ok(path) => keep!(PathAttribute::AsPath(path)),
            Err(error) => Err(Failure::Finding(
                Withdraw,
                ErrorKind::MalformedAsPath {
                    reason: error.reason(),
                },
            )),
        },
        // RFC 7606 7.3: length other than 4.
        t::NEXT_HOP => match u32_of(value) {
            Some(addr) => keep!(PathAttribute::NextHop(Ipv4Addr::from(addr))),
            None => Err(length_error(Withdraw, code, value)),
        },
        // RFC 7606 7.4.
        t::MULTI_EXIT_DISC => match u32_of(value) {
            Some(med) => keep!(PathAttribute::MultiExitDisc(med)),
            None => Err(length_error(Withdraw, code, value)),
        },
        // RFC 7606 7.5: discarded from eBGP peers, whatever its form.
        t::LOCAL_PREF if ebgp => Err(optional_error(
            Discard,
            code,
            "LOCAL_PREF from an external peer",
        )),
        t::LOCAL_PREF => match u32_of(value) {
            Some(pref) => keep!(PathAttribute::LocalPref(pref)),
            None => Err(length_error(Withdraw, code, value)),
        },
        // RFC 7606 7.6: length other than 0 is discarded.
        t::ATOMIC_AGGREGATE if value.is_empty() => keep!(PathAttribute::AtomicAggregate),
        t::ATOMIC_AGGREGATE => Err(length_error(Discard, code, value)),
        // RFC 7606 7.7: wrong length is discarded; RFC 7607: so is AS 0.
        t::AGGREGATOR => {
            let aggregator = decode_aggregator(value, ctx.four_octet_as)
                .ok_or_else(|| length_error(Discard, code, value))?;
            if aggregator.asn == 0 {
                return Err(optional_error(Discard, code, "AGGREGATOR with AS 0"));
            }
            keep!(PathAttribute::Aggregator(aggregator))
        }
        // RFC 7606 7.8: length not a non-zero multiple of 4.
        t::COMMUNITIES => match records::<4>(value) {
            Some(list) => keep!(PathAttribute::Communities(super::inline_list(
                list.len(),
                list.map(|r| Community(u32::from_be_bytes(r))),
                Community(0),
            ))),
            None => Err(length_error(Withdraw, code, value)),
        },
        // RFC 7606 7.9: discarded from eBGP peers; length other than 4.
        t::ORIGINATOR_ID if ebgp => Err(optional_error(
            Discard,
            code,
            "ORIGINATOR_ID from an external peer",
        )),
        t::ORIGINATOR_ID => match u32_of(value) {
            Some(id) => keep!(PathAttribute::OriginatorId(Ipv4Addr::from(id))),
            None => Err(length_error(Withdraw, code, value)),
        },
        // RFC 7606 7.10: discarded from eBGP peers; not a non-zero multiple of 4.
        t::CLUSTER_LIST if ebgp => Err(optional_error(
            Discard,
            code,
            "CLUSTER_LIST from an external peer",
        )),
        t::CLUSTER_LIST => match records::<4>(value) {
            Some(list) => keep!(PathAttribute::ClusterList(
                list.map(Ipv4Addr::from).collect()
            )),
            None => Err(length_error(Withdraw, code, value)),
        },
        // RFC 7606 7.11: a malformed MP attribute resets the session.
        t::MP_REACH_NLRI => match options.mrt_rib_family {
            Some(family) if !looks_like_full_mp_reach(value, family) => {
                let reach =
                    MpReach::decode_mrt_abbreviated(value, family).map_err(Failure::Session)?;
                keep!(PathAttribute::MpReach(Box::new(reach)))
            }
            _ => {
                let reach = MpReach::decode(value, ctx, base).map_err(Failure::Session)?;
                keep!(PathAttribute::MpReach(Box::new(reach)))
            }
        },
        t::MP_UNREACH_NLRI => {
            let unreach = MpUnreach::decode(value, ctx, base).map_err(Failure::Session)?;
            keep!(PathAttribute::MpUnreach(Box::new(unreach)))
        }
        // RFC 7606 7.14: not a non-zero multiple of 8.
        t::EXTENDED_COMMUNITIES => match records::<8>(value) {
            Some(list) => keep!(PathAttribute::ExtendedCommunities(
                list.map(ExtendedCommunity).collect()
            )),
            None => Err(length_error(Withdraw, code, value)),
        },
        // RFC 6793 section 4.1: a 4-octet speaker ignores AS4 attributes
        // from a 4-octet peer; section 6: malformed ones are discarded.
        t::AS4_PATH | t::AS4_AGGREGATOR if ctx.four_octet_as => Err(optional_error(
            Discard,
            code,
            "AS4 attribute from a 4-octet AS speaker",
        )),
        t::AS4_PATH => {
            match AsPath::decode(value, true) {
                Ok(path) if path.segments.iter().any(|s| s.kind.is_confed()) => Err(
                    optional_error(Discard, code, "AS4_PATH with confederation segments"),
                ),
                Ok(path) => keep!(PathAttribute::As4Path(path)),
                Err(error) => Err(optional_error(Discard, code, error.reason())),
            }
        }
        t::AS4_AGGREGATOR => match decode_aggregator(value, true) {
            Some(aggregator) if aggregator.asn != 0 => {
                keep!(PathAttribute::As4Aggregator(aggregator))
            }
            Some(_) => Err(optional_error(Discard, code, "AS4_AGGREGATOR with AS 0")),
            None => Err(length_error(Discard, code, value)),
        },
        // RFC 7606 7.15 (RFC 5701): not a non-zero multiple of 20.
        t::IPV6_EXTENDED_COMMUNITIES => match records::<20>(value) {
            Some(list) => keep!(PathAttribute::Ipv6ExtendedCommunities(
                list.map(Ipv6ExtendedCommunity).collect(),
            )),
            None => Err(length_error(Withdraw, code, value)),
        },
        // RFC 8092 section 6: not a non-zero multiple of 12.
        t::LARGE_COMMUNITIES => match records::<12>(value) {
            Some(list) => keep!(PathAttribute::LargeCommunities(
                list.map(|r| LargeCommunity {
                    global: u32::from_be_bytes([r[0], r[1], r[2], r[3]]),
                    local1: u32::from_be_bytes([r[4], r[5], r[6], r[7]]),
                    local2: u32::from_be_bytes([r[8], r[9], r[10], r[11]]),
                })
                .collect(),
            )),
            None => Err(length_error(Withdraw, code, value)),
        },
        // RFC 9234 section 5: length other than 4.
        t::OTC => match u32_of(value) {
            Some(asn) => keep!(PathAttribute::Otc(asn)),
            None => Err(length_error(Withdraw, code, value)),
        },
        _ => keep!(PathAttribute::Raw(RawAttribute {
            flags: flag_bits & flags::MEANINGFUL & !flags::EXTENDED_LENGTH,
            type_code: code,
            value: Bytes::copy_from_slice(value),
        })),
    }
}

fn decode_aggregator(value: &[u8], four_octet: bool) -> Option<Aggregator> {
    let (asn, addr) = match (four_octet, value.len()) {
        (false, 6) => (
            u32::from(u16::from_be_bytes([value[0], value[1]])),
            &value[2..],
        ),
        (true, 8) => (u32_of(&value[..4])?, &value[4..]),
        _ => return None,
    };
    Some(Aggregator {
        asn,
        address: Ipv4Addr::from(u32_of(addr)?),
    })
}

/// Some MRT writers put a full MP_REACH_NLRI into RIB entries instead of the
/// abbreviated next-hop-only form: recognise it by its AFI/SAFI prefix and
/// consistent length.
fn looks_like_full_mp_reach(value: &[u8], family: AfiSafi) -> bool {
    let [a, b, s, nh_len, ..] = *value else {
        return false;
    };
    u16::from_be_bytes([a, b]) == family.afi.0
        && s == family.safi.0
        && value.len() > 4 + usize::from(nh_len)
}

/// Decode one attribute value with the rules of [`decode_attributes`]:
/// `Ok(None)` if it would be dropped or is malformed.
pub fn decode_one(code: u8, flag_bits: u8, value: &[u8], ctx: &DecodeCtx) -> Option<PathAttribute> {
    let mut out = Vec::with_capacity(1);
    decode_value(
        code,
        flag_bits,
        value,
        ctx,
        0,
        AttrOptions::default(),
        &mut out,
    )
    .ok()?;
    out.pop()
}

/// The value of a Partial attribute as it is kept: byte-exact, except
/// AGGREGATOR, whose AS field size depends on the session; it is kept in
/// its 4-octet form and the encoder writes it in the size of the session it
/// goes to (see `PathAttribute::encode`).
fn partial_value(code: u8, value: &[u8], ctx: &DecodeCtx) -> Bytes {
    if code == t::AGGREGATOR && !ctx.four_octet_as && value.len() == 6 {
        let mut wide = Vec::with_capacity(8);
        wide.extend_from_slice(&[0, 0]);
        wide.extend_from_slice(value);
        return Bytes::from(wide);
    }
    Bytes::copy_from_slice(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::CodecCtx;

    fn findings_of(block: &[u8]) -> Findings {
        decode_attributes(block, &CodecCtx::default(), 23, AttrOptions::default())
            .unwrap()
            .1
    }

    #[test]
    fn rfc7606_4_a_cut_header_names_the_type_only_when_its_octet_is_there() {
        // ORIGIN, then two octets: no type to name.
        let two = findings_of(&[0x40, 1, 1, 0, 0x40, 3]);
        assert_eq!(two.0.len(), 1);
        assert_eq!((two.0[0].type_code, two.0[0].error.offset), (0, 27));
        // Three octets with the Extended Length bit: the type is known.
        let three = findings_of(&[0x50, 3, 0]);
        assert_eq!((three.0[0].type_code, three.0[0].error.offset), (3, 23));
        assert_eq!(three.0[0].error.location, "NEXT_HOP");
        assert_eq!(three.0[0].action, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn the_flag_table_matches_the_known_types() {
        for code in 0..=255u8 {
            let table = EXPECTED_FLAGS[usize::from(code)];
            assert_eq!(expected_flags(code), (table != UNKNOWN).then_some(table));
        }
    }

    #[test]
    fn a_partial_optional_transitive_attribute_is_kept_raw_and_the_next_one_typed() {
        let block = [
            0xe0, 8, 4, 0, 1, 0, 2, // COMMUNITIES, Partial
            0x80, 4, 4, 0, 0, 0, 7, // MULTI_EXIT_DISC
        ];
        let (attributes, findings) =
            decode_attributes(&block, &CodecCtx::default(), 0, AttrOptions::default()).unwrap();
        assert!(findings.is_empty());
        assert_eq!(
            attributes,
            vec![
                PathAttribute::Raw(RawAttribute {
                    flags: 0xe0,
                    type_code: 8,
                    value: Bytes::from_static(&[0, 1, 0, 2]),
                }),
                PathAttribute::MultiExitDisc(7),
            ]
        );
    }
}

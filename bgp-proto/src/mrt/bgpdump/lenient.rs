//! Where bgpdump is more lenient than RFC 7606: it prints what it could
//! read of an UPDATE whose NLRI field ends in a truncated prefix, and an
//! AGGREGATOR with AS 0 (which RFC 7607 has us discard). Both are rebuilt
//! here from what the crate's decoder returns.

use std::net::Ipv4Addr;

use crate::attribute::Aggregator;
use crate::attribute::decode::{AttrOptions, decode_attributes};
use crate::context::DecodeCtx;
use crate::error::{ErrorKind, Findings};
use crate::iana::{Afi, AfiSafi, attr_type};
use crate::message::{HEADER_LEN, Update};
use crate::nlri::{self, Nlri};

/// The prefixes of `field` up to the first malformed one.
fn prefixes_until_error(field: &[u8], add_path: bool) -> Vec<Nlri> {
    let mut out = Vec::new();
    // decode_prefixes appends as it goes: on error, `out` holds the
    // prefixes before the bad one, which is what bgpdump prints.
    let _ = nlri::decode_prefixes(field, Afi::IPV4, add_path, "NLRI", 0, &mut out);
    out
}

/// An UPDATE (`msg`, header included) decoded field by field, keeping the
/// withdrawn routes and NLRI before a malformed prefix (RFC 4271 section
/// 4.3 layout). `None` if the attributes themselves do not decode.
pub(super) fn update(msg: &[u8], ctx: &DecodeCtx) -> Option<(Update, Findings)> {
    let body = msg.get(HEADER_LEN..)?;
    let add_path = ctx.add_path_for(AfiSafi::IPV4_UNICAST);
    let withdrawn_len = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    let withdrawn_field = body.get(2..2 + withdrawn_len)?;
    let at = 2 + withdrawn_len;
    let attrs_len = usize::from(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]));
    let attrs_field = body.get(at + 2..at + 2 + attrs_len)?;
    let nlri_field = body.get(at + 2 + attrs_len..)?;
    let base = HEADER_LEN + at + 2;
    let (attributes, findings) =
        decode_attributes(attrs_field, ctx, base, AttrOptions::default()).ok()?;
    let update = Update {
        withdrawn: prefixes_until_error(withdrawn_field, add_path),
        attributes,
        nlri: prefixes_until_error(nlri_field, add_path),
    };
    Some((update, findings))
}

/// An AGGREGATOR that the decoder discarded (RFC 7606 section 7.7, RFC
/// 7607) but bgpdump prints: rebuilt from the attribute bytes the finding
/// keeps, if its length fits the AS size.
pub(super) fn discarded_aggregator(findings: &Findings, four_octet: bool) -> Option<Aggregator> {
    findings.iter().find_map(|finding| {
        if finding.type_code != attr_type::AGGREGATOR {
            return None;
        }
        let ErrorKind::OptionalAttribute { attribute, .. } = &finding.error.kind else {
            return None;
        };
        let [flag_bits, _code, rest @ ..] = &attribute[..] else {
            return None;
        };
        let value = if flag_bits & 0x10 != 0 {
            rest.get(2..)?
        } else {
            rest.get(1..)?
        };
        let (asn, address) = match (four_octet, value) {
            (false, &[a, b, w, x, y, z]) => (u32::from(u16::from_be_bytes([a, b])), [w, x, y, z]),
            (true, &[a, b, c, d, w, x, y, z]) => (u32::from_be_bytes([a, b, c, d]), [w, x, y, z]),
            _ => return None,
        };
        Some(Aggregator {
            asn,
            address: Ipv4Addr::from(address),
        })
    })
}

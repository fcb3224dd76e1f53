//! UPDATE (RFC 4271 section 4.3).
//!
//! ```text
//! +-----------------------------------------------------+
//! |   Withdrawn Routes Length (2 octets)                |
//! +-----------------------------------------------------+
//! |   Withdrawn Routes (variable)                       |
//! +-----------------------------------------------------+
//! |   Total Path Attribute Length (2 octets)            |
//! +-----------------------------------------------------+
//! |   Path Attributes (variable)                        |
//! +-----------------------------------------------------+
//! |   Network Layer Reachability Information (variable) |
//! +-----------------------------------------------------+
//! ```
//!
//! The withdrawn-routes and NLRI fields carry IPv4 unicast prefixes; other
//! families travel in MP_REACH_NLRI / MP_UNREACH_NLRI attributes (RFC 4760).

use bytes::{BufMut, BytesMut};
use std::net::Ipv4Addr;

use crate::attribute::decode::{self, AttrOptions, BlockSummary};
use crate::attribute::{
    AsPath, Community, LargeCommunity, MpNlri, MpReach, MpUnreach, Origin, PathAttribute,
    encode_attributes,
};
use crate::context::{DecodeCtx, EncodeCtx};
use crate::error::{DecodeError, ErrorAction, ErrorKind, Findings};
use crate::iana::{Afi, AfiSafi, attr_type};
use crate::message::HEADER_LEN;
use crate::nlri::{self, Nlri};

/// An UPDATE message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// Withdrawn IPv4 unicast routes.
    pub withdrawn: Vec<Nlri>,
    /// Path attributes, in wire order.
    pub attributes: Vec<PathAttribute>,
    /// Reachable IPv4 unicast routes.
    pub nlri: Vec<Nlri>,
}

/// Decode an UPDATE body (the bytes after the header).
///
/// Returns the UPDATE with RFC 7606 findings, or an error for the cases that
/// reset the session: inconsistent field lengths (RFC 7606 section 4),
/// malformed NLRI (section 5.3), malformed MP attributes (section 7.11).
/// When [`Findings::treat_as_withdraw`] is true, every route the UPDATE
/// announces must be handled as withdrawn.
pub fn decode_update(body: &[u8], ctx: &DecodeCtx) -> Result<(Update, Findings), DecodeError> {
    let mut update = Update::default();
    let mut findings = Findings::default();
    decode_update_into(body, ctx, &mut update, &mut findings)?;
    Ok((update, findings))
}

/// Decode an UPDATE body into `update` and `findings`, which are cleared
/// first. Their allocations are reused: a reader of many UPDATEs (an MRT
/// file, a busy session) that keeps one `Update` decodes without allocating
/// for the attribute list, the prefix lists, AS paths of up to 8 ASes and
/// up to 12 communities. On error, `update` holds what was decoded so far.
pub fn decode_update_into(
    body: &[u8],
    ctx: &DecodeCtx,
    update: &mut Update,
    findings: &mut Findings,
) -> Result<(), DecodeError> {
    update.withdrawn.clear();
    update.attributes.clear();
    update.nlri.clear();
    findings.0.clear();
    let base = HEADER_LEN;
    let field_error = |offset: usize, reason| {
        DecodeError::new(
            "UPDATE",
            base + offset,
            ErrorKind::MalformedAttributeList { reason },
        )
    };
    let Some(&[w_hi, w_lo]) = body.get(..2) else {
        return Err(field_error(0, "withdrawn routes length missing"));
    };
    let withdrawn_len = usize::from(u16::from_be_bytes([w_hi, w_lo]));
    let attrs_len_at = 2 + withdrawn_len;
    let Some(&[a_hi, a_lo]) = body.get(attrs_len_at..attrs_len_at + 2) else {
        return Err(field_error(0, "withdrawn routes overrun the message"));
    };
    let attrs_len = usize::from(u16::from_be_bytes([a_hi, a_lo]));
    let attrs_at = attrs_len_at + 2;
    let Some(attr_block) = body.get(attrs_at..attrs_at + attrs_len) else {
        return Err(field_error(
            attrs_len_at,
            "total path attribute length overruns the message",
        ));
    };
    nlri::decode_prefixes(
        &body[2..attrs_len_at],
        Afi::IPV4,
        ctx.add_path_for(AfiSafi::IPV4_UNICAST),
        "withdrawn routes",
        base + 2,
        &mut update.withdrawn,
    )?;
    if !attr_block.is_empty() {
        // Most UPDATEs have fewer than 8 attributes: one allocation, no regrowth.
        reserve(&mut update.attributes, 8);
    }
    let summary = decode::walk(
        attr_block,
        ctx,
        base + attrs_at,
        AttrOptions::default(),
        &mut update.attributes,
        findings,
    )?;
    let nlri_at = attrs_at + attrs_len;
    nlri::decode_prefixes(
        &body[nlri_at..],
        Afi::IPV4,
        ctx.add_path_for(AfiSafi::IPV4_UNICAST),
        "NLRI",
        base + nlri_at,
        &mut update.nlri,
    )?;
    check_mandatory(update, summary, findings, base + attrs_at);
    Ok(())
}

/// Make room for `additional` more items. An empty vector (the usual case
/// for a fresh `Update`) is allocated directly with that capacity, which is
/// cheaper than the general growth path of `Vec::reserve`.
pub(crate) fn reserve<T>(vec: &mut Vec<T>, additional: usize) {
    if vec.capacity() == 0 {
        *vec = Vec::with_capacity(additional);
    } else {
        vec.reserve(additional);
    }
}

/// RFC 7606 section 3 d: a missing well-known mandatory attribute in an
/// UPDATE that announces routes is treat-as-withdraw. NEXT_HOP is mandatory
/// only with IPv4 NLRI in the NLRI field (RFC 4760 section 3). LOCAL_PREF is
/// not checked: like most speakers we accept its absence on iBGP and let
/// best-path selection use the default.
fn check_mandatory(update: &Update, summary: BlockSummary, findings: &mut Findings, offset: usize) {
    // The attribute walk noted which mandatory attributes it kept and
    // whether the MP attributes announce anything.
    let announces_mp = summary.announces_mp;
    if update.nlri.is_empty() && !announces_mp {
        return;
    }
    let ipv4_nlri = !update.nlri.is_empty();
    let checks = [
        (attr_type::ORIGIN, true),
        (attr_type::AS_PATH, true),
        (attr_type::NEXT_HOP, ipv4_nlri),
    ];
    for (code, required) in checks {
        let present = !required || summary.kept(code);
        // An attribute already reported as malformed is not also "missing".
        if !present && !findings.iter().any(|f| f.type_code == code) {
            findings.push(
                code,
                ErrorAction::TreatAsWithdraw,
                DecodeError::new(
                    "path attributes",
                    offset,
                    ErrorKind::MissingWellKnownAttribute { type_code: code },
                ),
            );
        }
    }
}

impl Update {
    /// Fields whose values the wire format cannot hold: an MP_REACH_NLRI
    /// next hop longer than 255 octets (its length field is one octet).
    pub fn check_encodable(&self) -> Result<(), crate::error::EncodeError> {
        match self.mp_reach() {
            Some(reach) if reach.next_hop.encoded_len() > 255 => {
                Err(crate::error::EncodeError::Unrepresentable {
                    field: "MP_REACH_NLRI next hop",
                    reason: "longer than 255 octets",
                })
            }
            _ => Ok(()),
        }
    }

    /// Append the UPDATE body (after the header).
    pub fn encode(&self, ctx: &EncodeCtx, out: &mut BytesMut) {
        let add_path = ctx.add_path_for(AfiSafi::IPV4_UNICAST);
        let withdrawn_len: usize = self.withdrawn.iter().map(|n| n.encoded_len(add_path)).sum();
        out.put_u16(withdrawn_len as u16);
        nlri::encode_prefixes(&self.withdrawn, add_path, out);
        let attrs_len_at = out.len();
        out.put_u16(0);
        encode_attributes(&self.attributes, ctx, out);
        let attrs_len = out.len() - attrs_len_at - 2;
        out[attrs_len_at..attrs_len_at + 2].copy_from_slice(&(attrs_len as u16).to_be_bytes());
        nlri::encode_prefixes(&self.nlri, add_path, out);
    }

    /// The End-of-RIB marker for `afi_safi` (RFC 4724 section 2): an empty
    /// UPDATE for IPv4 unicast, an empty MP_UNREACH_NLRI otherwise.
    pub fn end_of_rib(afi_safi: AfiSafi) -> Update {
        if afi_safi == AfiSafi::IPV4_UNICAST {
            return Update::default();
        }
        Update {
            attributes: vec![PathAttribute::MpUnreach(Box::new(MpUnreach::end_of_rib(
                afi_safi,
            )))],
            ..Update::default()
        }
    }

    /// If this UPDATE is an End-of-RIB marker, its family (RFC 4724 section 2).
    pub fn end_of_rib_family(&self) -> Option<AfiSafi> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        match self.attributes.as_slice() {
            [] => Some(AfiSafi::IPV4_UNICAST),
            [PathAttribute::MpUnreach(unreach)] if unreach.withdrawn.is_empty() => {
                Some(unreach.afi_safi)
            }
            _ => None,
        }
    }

    /// The first attribute with type `code`.
    pub fn attribute(&self, code: u8) -> Option<&PathAttribute> {
        self.attributes.iter().find(|a| a.type_code() == code)
    }

    /// ORIGIN, if present.
    pub fn origin(&self) -> Option<Origin> {
        self.attributes.iter().find_map(|a| match a {
            PathAttribute::Origin(origin) => Some(*origin),
            _ => None,
        })
    }

    /// AS_PATH, if present.
    pub fn as_path(&self) -> Option<&AsPath> {
        self.attributes.iter().find_map(|a| match a {
            PathAttribute::AsPath(path) => Some(path),
            _ => None,
        })
    }

    /// NEXT_HOP, if present.
    pub fn next_hop(&self) -> Option<Ipv4Addr> {
        self.attributes.iter().find_map(|a| match a {
            PathAttribute::NextHop(addr) => Some(*addr),
            _ => None,
        })
    }

    /// MULTI_EXIT_DISC, if present.
    pub fn med(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            PathAttribute::MultiExitDisc(med) => Some(*med),
            _ => None,
        })
    }

    /// LOCAL_PREF, if present.
    pub fn local_pref(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            PathAttribute::LocalPref(pref) => Some(*pref),
            _ => None,
        })
    }

    /// COMMUNITIES (empty if absent).
    pub fn communities(&self) -> &[Community] {
        self.attributes
            .iter()
            .find_map(|a| match a {
                PathAttribute::Communities(list) => Some(list.as_slice()),
                _ => None,
            })
            .unwrap_or(&[])
    }

    /// LARGE_COMMUNITIES (empty if absent).
    pub fn large_communities(&self) -> &[LargeCommunity] {
        self.attributes
            .iter()
            .find_map(|a| match a {
                PathAttribute::LargeCommunities(list) => Some(list.as_slice()),
                _ => None,
            })
            .unwrap_or(&[])
    }

    /// MP_REACH_NLRI, if present.
    pub fn mp_reach(&self) -> Option<&MpReach> {
        self.attributes.iter().find_map(|a| match a {
            PathAttribute::MpReach(reach) => Some(&**reach),
            _ => None,
        })
    }

    /// MP_UNREACH_NLRI, if present.
    pub fn mp_unreach(&self) -> Option<&MpUnreach> {
        self.attributes.iter().find_map(|a| match a {
            PathAttribute::MpUnreach(unreach) => Some(&**unreach),
            _ => None,
        })
    }

    /// Every announced IP prefix with its family: the NLRI field and the
    /// decoded MP_REACH_NLRI prefixes.
    pub fn announced(&self) -> impl Iterator<Item = (AfiSafi, &Nlri)> {
        let mp = self.mp_reach().map(|reach| (reach.afi_safi, &reach.nlri));
        self.nlri
            .iter()
            .map(|n| (AfiSafi::IPV4_UNICAST, n))
            .chain(mp_prefixes(mp))
    }

    /// Every withdrawn IP prefix with its family: the withdrawn-routes field
    /// and the decoded MP_UNREACH_NLRI prefixes.
    pub fn withdrawn_routes(&self) -> impl Iterator<Item = (AfiSafi, &Nlri)> {
        let mp = self
            .mp_unreach()
            .map(|unreach| (unreach.afi_safi, &unreach.withdrawn));
        self.withdrawn
            .iter()
            .map(|n| (AfiSafi::IPV4_UNICAST, n))
            .chain(mp_prefixes(mp))
    }
}

fn mp_prefixes(mp: Option<(AfiSafi, &MpNlri)>) -> impl Iterator<Item = (AfiSafi, &Nlri)> {
    mp.into_iter()
        .flat_map(|(family, nlri)| nlri.prefixes().iter().map(move |n| (family, n)))
}

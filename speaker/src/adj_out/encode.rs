//! Encoding a group's routes: each distinct attribute set once, then all
//! its prefixes packed into the fewest UPDATEs ([`bgp_proto::packer`]), all
//! into one buffer that every member receives as is.
//!
//! IPv4 unicast routes with an IPv4 next hop travel in the NLRI field with
//! NEXT_HOP (RFC 4271 section 4.3); every other family, and IPv4 with an
//! IPv6 next hop (RFC 8950), in MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760).

use bytes::{Bytes, BytesMut};
use std::collections::BTreeMap;
use std::sync::Arc;

use bgp_proto::attribute::{NextHop, PathAttribute, encode_attributes_to_bytes};
use bgp_proto::iana::{Afi, AfiSafi};
use bgp_proto::message::{HEADER_LEN, Message, RefreshSubtype, RouteRefresh, Update};
use bgp_proto::packer::{pack_ipv4_nlri, pack_mp_reach, pack_withdrawals};
use bgp_proto::{EncodeCtx, EncodeError, Nlri};

use crate::attrs::{Attrs, PathAttrs};

use super::cache::BlockCache;
use super::export;
use super::table::RouteKey;
use rustc_hash::FxHashMap;

/// Do routes of `family` with `next_hop` go in the NLRI field with NEXT_HOP?
pub(crate) fn in_nlri_field(family: AfiSafi, next_hop: &NextHop) -> bool {
    family == AfiSafi::IPV4_UNICAST && matches!(next_hop, NextHop::V4(_))
}

/// The encoded attribute block of `attrs` for `family` under `ctx`: with
/// NEXT_HOP for the NLRI field, AS4_PATH / AS4_AGGREGATOR for 2-octet-AS
/// sessions ([`export::as4_attributes`]). `None` if no message could hold
/// it and one prefix.
pub(crate) fn attribute_block(
    attrs: &PathAttrs,
    family: AfiSafi,
    ctx: &EncodeCtx,
) -> Option<Bytes> {
    let nlri_field = in_nlri_field(family, &attrs.next_hop);
    let mut list = attrs.attributes.clone();
    export::as4_attributes(&mut list, ctx.four_octet_as);
    if let (true, NextHop::V4(address)) = (nlri_field, &attrs.next_hop) {
        export::set(&mut list, PathAttribute::NextHop(*address));
    }
    let block = encode_attributes_to_bytes(&list, ctx);
    let add_path = if ctx.add_path_for(family) { 4 } else { 0 };
    let largest_prefix = add_path + 1 + if family.afi == Afi::IPV6 { 16 } else { 4 };
    // Header, withdrawn-routes length, path-attribute length.
    let mut fixed = HEADER_LEN + 2 + 2 + block.len();
    if !nlri_field {
        // MP_REACH_NLRI header (4), AFI, SAFI, next-hop length, reserved.
        fixed += 4 + 5 + attrs.next_hop.encoded_len();
    }
    (fixed + largest_prefix <= ctx.max_message_len()).then_some(block)
}

fn nlri(key: &RouteKey, ctx: &EncodeCtx) -> Nlri {
    if ctx.add_path_for(key.family) {
        Nlri::with_path_id(key.prefix, key.path_id)
    } else {
        Nlri::new(key.prefix)
    }
}

/// A run of encoded UPDATEs.
#[derive(Debug, Default)]
pub(crate) struct Encoded {
    /// The messages, back to back.
    pub bytes: Bytes,
    /// How many.
    pub messages: usize,
    /// Routes left out because their attributes could not be encoded
    /// (prevented when they enter the table; counted should it happen).
    pub errors: usize,
}

/// Encode `routes` (`None`: withdrawn): withdrawals first, then one run of
/// UPDATEs per attribute set.
pub(crate) fn encode_routes<'a, I>(routes: I, blocks: &mut BlockCache, ctx: &EncodeCtx) -> Encoded
where
    I: IntoIterator<Item = (RouteKey, Option<&'a Attrs>)>,
{
    let mut withdrawn: BTreeMap<AfiSafi, Vec<Nlri>> = BTreeMap::new();
    let mut slots: FxHashMap<(AfiSafi, usize), usize> = FxHashMap::default();
    let mut announced: Vec<(AfiSafi, &Attrs, Vec<Nlri>)> = Vec::new();
    // The run of the last announced route: routes come in the order they
    // changed, so the prefixes of one received UPDATE, which share a set,
    // follow each other and skip the look-up.
    let mut last: Option<((AfiSafi, usize), usize)> = None;
    let mut count = 0usize;
    for (key, attrs) in routes {
        count += 1;
        let prefix = nlri(&key, ctx);
        match attrs {
            None => withdrawn.entry(key.family).or_default().push(prefix),
            Some(attrs) => {
                let set = (key.family, Arc::as_ptr(attrs) as usize);
                let slot = match last {
                    Some((last_set, slot)) if last_set == set => slot,
                    _ => {
                        let slot = *slots.entry(set).or_insert_with(|| {
                            announced.push((key.family, attrs, Vec::new()));
                            announced.len() - 1
                        });
                        last = Some((set, slot));
                        slot
                    }
                };
                announced[slot].2.push(prefix);
            }
        }
    }
    let mut out = BytesMut::with_capacity(count * 6 + announced.len() * 64 + 64);
    let mut encoded = Encoded::default();
    for (family, prefixes) in &withdrawn {
        match pack_withdrawals(*family, prefixes, ctx, &mut out) {
            Ok(n) => encoded.messages += n,
            Err(_) => encoded.errors += prefixes.len(),
        }
    }
    for (family, attrs, prefixes) in &announced {
        let packed = match blocks.block(attrs, *family, ctx) {
            Some(block) if in_nlri_field(*family, &attrs.next_hop) => {
                pack_ipv4_nlri(&block, prefixes, ctx, &mut out)
            }
            Some(block) => pack_mp_reach(&block, *family, &attrs.next_hop, prefixes, ctx, &mut out),
            None => Err(EncodeError::TooLong {
                length: usize::MAX,
                max: ctx.max_message_len(),
            }),
        };
        match packed {
            Ok(n) => encoded.messages += n,
            Err(error) => {
                tracing::error!(%error, routes = prefixes.len(), "update group: cannot encode routes");
                encoded.errors += prefixes.len();
            }
        }
    }
    encoded.bytes = out.freeze();
    encoded
}

/// A message sent around a table dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    /// End-of-RIB (RFC 4724 section 2), after the initial dump.
    EndOfRib(AfiSafi),
    /// Beginning of Route Refresh (RFC 7313 section 4).
    BeginRefresh(AfiSafi),
    /// End of Route Refresh (RFC 7313 section 4).
    EndRefresh(AfiSafi),
}

impl Marker {
    /// The encoded message.
    pub fn encode(self, ctx: &EncodeCtx) -> Result<Bytes, EncodeError> {
        let message = match self {
            Marker::EndOfRib(family) => Message::Update(Update::end_of_rib(family)),
            Marker::BeginRefresh(family) => Message::RouteRefresh(RouteRefresh::with_subtype(
                family,
                RefreshSubtype::BeginningOfRouteRefresh,
            )),
            Marker::EndRefresh(family) => Message::RouteRefresh(RouteRefresh::with_subtype(
                family,
                RefreshSubtype::EndOfRouteRefresh,
            )),
        };
        message.to_bytes(ctx).map(BytesMut::freeze)
    }
}

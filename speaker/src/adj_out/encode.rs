//! Encoding a group's routes: each distinct attribute set once, then all
//! its prefixes packed into the fewest UPDATEs ([`bgp_proto::packer`]), all
//! into one buffer that every member receives, less what concerns its own
//! routes: the announcements of each source are one range of the buffer,
//! and so are the withdrawals of routes each source's path was advertised
//! for ([`Encoded::skipped_by`]), which that source's member skips.
//!
//! IPv4 unicast routes with an IPv4 next hop travel in the NLRI field with
//! NEXT_HOP (RFC 4271 section 4.3); every other family, and IPv4 with an
//! IPv6 next hop (RFC 8950), in MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760).

use bytes::{Bytes, BytesMut};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use bgp_proto::attribute::{NextHop, PathAttribute, encode_attributes_to_bytes};
use bgp_proto::iana::{Afi, AfiSafi};
use bgp_proto::message::{HEADER_LEN, Message, RefreshSubtype, RouteRefresh, Update};
use bgp_proto::packer::{pack_ipv4_nlri, pack_mp_reach, pack_withdrawals};
use bgp_proto::{EncodeCtx, EncodeError, Nlri};

use crate::attrs::{Attrs, PathAttrs};
use crate::types::PeerId;

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

/// The UPDATEs of one source in [`Encoded::bytes`]: its announcements, or
/// the withdrawals of routes whose advertised path was its.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceBytes {
    /// The peer the routes came from.
    pub source: PeerId,
    /// Where its UPDATEs are.
    pub range: Range<usize>,
    /// How many.
    pub messages: usize,
}

/// A route's new state, as the encoder takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outgoing<'a> {
    /// Announced: the exported attributes and the peer the path came from.
    Announce(&'a Attrs, PeerId),
    /// Withdrawn; the source of what was advertised before, where it
    /// matters (that member was never sent the route).
    Withdraw(Option<PeerId>),
}

/// A run of encoded UPDATEs.
#[derive(Debug, Default)]
pub(crate) struct Encoded {
    /// The messages, back to back: withdrawals grouped by the source of
    /// what they withdraw (unknown first), then announcements grouped by
    /// source.
    pub bytes: Bytes,
    /// How many.
    pub messages: usize,
    /// Routes left out because their attributes could not be encoded
    /// (prevented when they enter the table; counted should it happen).
    pub errors: usize,
    /// The withdrawals of routes each source's path was advertised for,
    /// ordered by source.
    pub withdrawn_of: Vec<SourceBytes>,
    /// The announcements of each source, ordered by source.
    pub announced_by: Vec<SourceBytes>,
}

impl Encoded {
    /// The parts of the buffer that member `peer` skips, in buffer order:
    /// the withdrawals of its own routes, then their announcements.
    pub fn skipped_by(&self, peer: PeerId) -> [Option<&SourceBytes>; 2] {
        let find = |list: &'_ [SourceBytes]| -> Option<usize> {
            list.binary_search_by_key(&peer, |s| s.source).ok()
        };
        [
            find(&self.withdrawn_of).map(|at| &self.withdrawn_of[at]),
            find(&self.announced_by).map(|at| &self.announced_by[at]),
        ]
    }
}

/// Note that `start..end` of the buffer holds `messages` UPDATEs of
/// `source`, right after those already noted in `list`.
fn note_source(
    list: &mut Vec<SourceBytes>,
    source: PeerId,
    start: usize,
    end: usize,
    messages: usize,
) {
    match list.last_mut() {
        Some(last) if last.source == source => {
            last.range.end = end;
            last.messages += messages;
        }
        _ => list.push(SourceBytes {
            source,
            range: start..end,
            messages,
        }),
    }
}

/// A run of consecutive announced routes with one attribute set in one
/// family: positions `start..end` of the prefixes in arrival order.
#[derive(Debug)]
struct Run {
    start: usize,
    end: usize,
    /// The set's next run, if it comes back later ([`NO_RUN`]: none).
    next: usize,
}

/// [`Run::next`] of a set's last run.
const NO_RUN: usize = usize::MAX;

/// One attribute set of a batch from one source: its family, the set, the
/// source, and its runs as a list through [`Run::next`].
#[derive(Debug)]
struct SetRuns<'a> {
    family: AfiSafi,
    attrs: &'a Attrs,
    source: PeerId,
    first: usize,
    last: usize,
    prefixes: usize,
}

/// Withdrawals of a flush are kept apart by source (so that each source's
/// member can skip its own) only for this many sources; beyond, they are
/// packed together, as many sources withdrawing a route each would
/// otherwise cost every member an UPDATE per source.
pub(crate) const WITHDRAWAL_SOURCES_KEPT_APART: usize = 8;

/// Encode `routes`: withdrawals first, by the source of what they
/// withdraw (up to [`WITHDRAWAL_SOURCES_KEPT_APART`] sources), then one run
/// of UPDATEs per attribute set and source, its prefixes in the order
/// given, the runs of each source together ([`Encoded::announced_by`]).
/// Paths of different sources rarely share an exported set (reflection
/// sets ORIGINATOR_ID to the source), so this seldom costs a message.
///
/// The announced prefixes go into one vector in arrival order, cut into
/// runs of one set: routes come in the order they changed (`super::pending`),
/// so the prefixes of one received UPDATE form one run, a set costs a
/// look-up per run rather than per prefix, and a set with a single run is
/// packed straight from that vector (no per-set vector growing by
/// doubling). A set that comes back in later runs is gathered once, at its
/// exact size.
///
/// `prefixes` is the caller's vector for the announced prefixes (cleared
/// first), so that a group keeps one from flush to flush (a flush of a few
/// thousand routes fills 100+ KiB) instead of allocating it each time.
pub(crate) fn encode_routes<'a, I>(
    routes: I,
    blocks: &mut BlockCache,
    ctx: &EncodeCtx,
    prefixes: &mut Vec<Nlri>,
) -> Encoded
where
    I: IntoIterator<Item = (RouteKey, Outgoing<'a>)>,
{
    let routes = routes.into_iter();
    prefixes.clear();
    prefixes.reserve(routes.size_hint().0);
    let mut withdrawn: BTreeMap<(Option<PeerId>, AfiSafi), Vec<Nlri>> = BTreeMap::new();
    let mut slots: FxHashMap<(AfiSafi, usize, PeerId), usize> = FxHashMap::default();
    let mut sets: Vec<SetRuns<'a>> = Vec::new();
    let mut runs: Vec<Run> = Vec::new();
    // The set of the last run, while it is still open.
    let mut open: Option<((AfiSafi, usize, PeerId), usize)> = None;
    let mut several_sources = false;
    let mut count = 0usize;
    for (key, attrs) in routes {
        count += 1;
        let prefix = nlri(&key, ctx);
        let (attrs, source) = match attrs {
            Outgoing::Announce(attrs, source) => (attrs, source),
            Outgoing::Withdraw(before) => {
                withdrawn
                    .entry((before, key.family))
                    .or_default()
                    .push(prefix);
                continue;
            }
        };
        let set = (key.family, Arc::as_ptr(attrs) as usize, source);
        let slot = match (open, runs.last_mut()) {
            (Some((open_set, slot)), Some(run)) if open_set == set => {
                run.end += 1;
                slot
            }
            _ => {
                let slot = *slots.entry(set).or_insert_with(|| {
                    several_sources |= sets.first().is_some_and(|s| s.source != source);
                    sets.push(SetRuns {
                        family: key.family,
                        attrs,
                        source,
                        first: NO_RUN,
                        last: NO_RUN,
                        prefixes: 0,
                    });
                    sets.len() - 1
                });
                let at = runs.len();
                runs.push(Run {
                    start: prefixes.len(),
                    end: prefixes.len() + 1,
                    next: NO_RUN,
                });
                let entry = &mut sets[slot];
                match entry.last {
                    NO_RUN => entry.first = at,
                    last => runs[last].next = at,
                }
                entry.last = at;
                open = Some((set, slot));
                slot
            }
        };
        sets[slot].prefixes += 1;
        prefixes.push(prefix);
    }
    let mut out = BytesMut::with_capacity(count * 6 + sets.len() * 64 + 64);
    let mut encoded = Encoded::default();
    let mut sources = withdrawn
        .keys()
        .filter_map(|(before, _)| *before)
        .collect::<Vec<_>>();
    sources.dedup();
    if sources.len() > WITHDRAWAL_SOURCES_KEPT_APART {
        let mut together: BTreeMap<(Option<PeerId>, AfiSafi), Vec<Nlri>> = BTreeMap::new();
        for ((_, family), prefixes) in withdrawn {
            together.entry((None, family)).or_default().extend(prefixes);
        }
        withdrawn = together;
    }
    for (&(before, family), prefixes) in &withdrawn {
        let start = out.len();
        let messages = match pack_withdrawals(family, prefixes, ctx, &mut out) {
            Ok(n) => n,
            Err(_) => {
                encoded.errors += prefixes.len();
                0
            }
        };
        encoded.messages += messages;
        if let Some(source) = before {
            note_source(
                &mut encoded.withdrawn_of,
                source,
                start,
                out.len(),
                messages,
            );
        }
    }
    if several_sources {
        // Stable: each source's sets stay in arrival order.
        sets.sort_by_key(|set| set.source);
    }
    let mut gathered: Vec<Nlri> = Vec::new();
    for set in &sets {
        let start = out.len();
        let messages_before = encoded.messages;
        let first = &runs[set.first];
        let of_set: &[Nlri] = if first.next == NO_RUN {
            &prefixes[first.start..first.end]
        } else {
            gathered.clear();
            gathered.reserve(set.prefixes);
            let mut at = set.first;
            while at != NO_RUN {
                let run = &runs[at];
                gathered.extend_from_slice(&prefixes[run.start..run.end]);
                at = run.next;
            }
            &gathered
        };
        let (family, attrs) = (set.family, set.attrs);
        let packed = match blocks.block(attrs, family, ctx) {
            Some(block) if in_nlri_field(family, &attrs.next_hop) => {
                pack_ipv4_nlri(&block, of_set, ctx, &mut out)
            }
            Some(block) => pack_mp_reach(&block, family, &attrs.next_hop, of_set, ctx, &mut out),
            None => Err(EncodeError::TooLong {
                length: usize::MAX,
                max: ctx.max_message_len(),
            }),
        };
        match packed {
            Ok(n) => encoded.messages += n,
            Err(error) => {
                tracing::error!(%error, routes = of_set.len(), "update group: cannot encode routes");
                encoded.errors += of_set.len();
            }
        }
        let messages = encoded.messages - messages_before;
        note_source(
            &mut encoded.announced_by,
            set.source,
            start,
            out.len(),
            messages,
        );
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

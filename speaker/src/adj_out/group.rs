//! One update group: its members, its Adj-RIB-Out and its caches.
//!
//! # Two ways to hold the Adj-RIB-Out
//! A group *with a table* keeps its own versioned copy of what it
//! advertises ([`Table`]): new members and members behind walk it, and
//! route refresh re-sends it. A group without ADD-PATH whose members are
//! all in sync needs none of that: what it advertises is its export of each
//! prefix's best path in the Loc-RIB, so it keeps no table and sends each
//! window's changes straight from the Loc-RIB ([`Window`]), which saves a
//! table entry, a commit and their memory per route. It makes the table
//! again from the Loc-RIB when it must (a member falls behind or joins,
//! a route refresh), at a flush boundary, and drops it once every member is
//! in sync again and it has applied at least as many changes as the table
//! holds routes since it made the table (so a join storm or a member
//! falling behind again and again does not rebuild it at every flush).

use bytes::Bytes;
use ipnetwork::IpNetwork;
use std::sync::Arc;

use bgp_proto::EncodeCtx;
use bgp_proto::iana::AfiSafi;
use bgp_proto::nlri::Nlri;

use crate::attrs::{AttrInterner, Attrs};
use crate::outbox::Outbox;
use crate::policy::Policy;
use crate::types::{Path, PeerId, PeerInfo, RibChange};

use super::add_path::{PathIds, PathSource};
use super::cache::{BlockCache, TransformCache};
use super::direct::{Before, SetId, Window};
use super::encode::{Encoded, Marker, Outgoing, encode_routes};
use super::error::AdjOutError;
use super::export::{self, NotExported, Source, Target};
use super::key::{GroupId, GroupKey};
use super::policy_hook::{self, Verdict};
use super::resync::{self, Member, MemberState, Progress};
use super::stats::{FlushSummary, GroupStats, MemberStats, SyncState};
use super::table::{Change, RouteKey, Table};
use super::{LocRib, PeerLookup};

#[derive(Debug, Default)]
struct Counters {
    flushes: u64,
    messages: u64,
    bytes: u64,
    pushes: u64,
    refused: u64,
    encode_errors: u64,
    not_exported: [u64; NotExported::ALL.len()],
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct UpdateGroup {
    /// The group's handle.
    pub id: GroupId,
    /// What its members share.
    pub key: GroupKey,
    target: Target,
    /// The peer the export policy sees (the first member; the key makes
    /// the members alike wherever the policy could tell them apart).
    representative: PeerInfo,
    /// The policy must run per prefix (else its result is cached per set).
    policy_per_prefix: bool,
    members: Vec<Member>,
    table: Table,
    transforms: TransformCache,
    /// The last result taken from `transforms`: consecutive prefixes of one
    /// UPDATE share their attribute set, so most look-ups hit it.
    last_export: Option<LastExport>,
    blocks: BlockCache,
    path_ids: PathIds,
    counters: Counters,
    /// Kept from one flush to the next (see [`Table::commit_into`] and
    /// [`encode_routes`]): the committed changes, the prefixes to pack.
    committed: Vec<Change>,
    prefixes: Vec<Nlri>,
    /// Kept from one flush to the next: the routes of a flush that a
    /// member held from another source and now gets a withdrawal for, as
    /// the new state is its own (by member, then in flush order).
    replaced: Vec<(PeerId, RouteKey)>,
    /// May the group do without its table (no ADD-PATH, allowed by the
    /// configuration)?
    may_go_direct: bool,
    /// `Some` while the group keeps no table (see the module documentation).
    window: Option<Window>,
    /// Changes applied since the table was last made.
    applied_since_built: usize,
}

/// The export result of one attribute set from one peer in one family, as
/// [`TransformCache`] holds it (the set is held, so its address cannot be
/// reused by another set while this is kept).
///
/// It names the source by [`PeerId`], so that the next path of the same
/// set from the same peer skips the peer look-up and the rules; that is
/// only sound while the peers' records cannot change, so
/// [`UpdateGroup::begin_batch`] forgets it at the start of every batch.
#[derive(Debug)]
struct LastExport {
    peer: PeerId,
    attrs: Attrs,
    family: AfiSafi,
    result: Result<Attrs, NotExported>,
}

impl UpdateGroup {
    /// An empty group for members like `first`, with a table; `direct`:
    /// it may do without one while its members are in sync.
    pub fn new(id: GroupId, key: GroupKey, first: PeerInfo, direct: bool) -> Self {
        let may_go_direct = direct && key.families.iter().all(|f| key.path_limit(*f).is_none());
        UpdateGroup {
            id,
            target: Target::from_key(&key),
            policy_per_prefix: policy_hook::depends_on_prefix(key.export.as_ref()),
            key,
            representative: first,
            members: Vec::new(),
            table: Table::default(),
            transforms: TransformCache::default(),
            last_export: None,
            blocks: BlockCache::default(),
            path_ids: PathIds::default(),
            counters: Counters::default(),
            committed: Vec::new(),
            prefixes: Vec::new(),
            replaced: Vec::new(),
            may_go_direct,
            window: None,
            applied_since_built: 0,
        }
    }

    /// Does the group keep a table of its own?
    pub fn keeps_table(&self) -> bool {
        self.window.is_none()
    }

    /// A batch of changes begins: the peers' records may have changed since
    /// the last one, so the last export result, which names its source by
    /// [`PeerId`], is forgotten.
    pub fn begin_batch(&mut self) {
        self.last_export = None;
        if let Some(window) = self.window.as_mut() {
            window.forget_results();
        }
    }

    /// Record what `change` means for this group in its pending set.
    ///
    /// Without ADD-PATH the group gets the best path or, if that one may not
    /// go to it, a withdrawal: BGP advertises its best path only (RFC 4271
    /// section 9.1.3), never the second best. With ADD-PATH send (RFC 7911)
    /// it gets the first `n` paths that may go to it, best first.
    pub fn apply_change<P: PeerLookup + ?Sized>(
        &mut self,
        change: &RibChange,
        peers: &P,
        interner: &mut AttrInterner,
    ) {
        if self.key.families.binary_search(&change.family).is_err() {
            return;
        }
        if self.window.is_some() {
            self.note_direct(change, peers, interner);
            return;
        }
        self.applied_since_built += 1;
        self.set_pending(
            change.family,
            change.prefix,
            &change.paths,
            peers,
            interner,
            true,
        );
    }

    /// [`UpdateGroup::apply_change`] for a group without a table: note what
    /// it exported of the best path before the window and what it exports
    /// of the best path now.
    fn note_direct<P: PeerLookup + ?Sized>(
        &mut self,
        change: &RibChange,
        peers: &P,
        interner: &mut AttrInterner,
    ) {
        let (family, prefix) = (change.family, change.prefix);
        let best = change.paths.first();
        if same_path(best, change.previous_best.as_ref()) {
            // The best path is the same (a path behind it changed).
            return;
        }
        let after = match best {
            Some(path) => self
                .export_to_window(family, prefix, path, peers, interner, true)
                .ok()
                .map(|id| (id, path.peer)),
            None => None,
        };
        // What the group exported of the previous best path; it counts only
        // if this is the prefix's first change in the window (most are).
        let before = match &change.previous_best {
            None => Before::Nothing,
            Some(path) => {
                match self.export_to_window(family, prefix, path, peers, interner, false) {
                    Ok(id) => Before::Sent(id, path.peer),
                    Err(NotExported::UnknownSource) => Before::Unknown(path.peer),
                    Err(_) => Before::Nothing,
                }
            }
        };
        let key = RouteKey {
            family,
            prefix,
            path_id: 0,
        };
        if let Some(window) = self.window.as_mut() {
            window.note(&key, before, after);
        }
    }

    /// Export `path` into the window's sets; the window keeps each
    /// source's result for the rest of the batch, unless the policy looks
    /// at the prefix. `count`: count a path not exported (the new best
    /// path's export, not the previous one's).
    fn export_to_window<P: PeerLookup + ?Sized>(
        &mut self,
        family: AfiSafi,
        prefix: IpNetwork,
        path: &Path,
        peers: &P,
        interner: &mut AttrInterner,
        count: bool,
    ) -> Result<SetId, NotExported> {
        let per_prefix = self.policy_per_prefix;
        let kept = match &mut self.window {
            Some(window) if !per_prefix => window.result(path, family),
            _ => None,
        };
        let result = match kept {
            Some(result) => result,
            None => {
                let exported = self.export_path(family, prefix, path, peers, interner);
                let Some(window) = self.window.as_mut() else {
                    return Err(NotExported::UnknownSource);
                };
                let result = exported.map(|attrs| window.set_id(attrs));
                if !per_prefix {
                    window.keep_result(path, family, result);
                }
                result
            }
        };
        if let (Err(reason), true) = (&result, count) {
            self.counters.not_exported[reason.index()] += 1;
        }
        result
    }

    /// Record the latest state of a prefix in the table's pending set;
    /// `count`: count the paths not exported (not when the table is made
    /// again from paths counted when they came).
    fn set_pending<P: PeerLookup + ?Sized>(
        &mut self,
        family: AfiSafi,
        prefix: IpNetwork,
        paths: &[Path],
        peers: &P,
        interner: &mut AttrInterner,
        count: bool,
    ) {
        let Some(limit) = self.key.path_limit(family) else {
            let best = paths.first();
            let exported =
                best.and_then(|path| self.export(family, prefix, path, peers, interner, count));
            let key = RouteKey {
                family,
                prefix,
                path_id: 0,
            };
            let source = best.map_or(PeerId::LOCAL, |path| path.peer);
            self.table.set_pending(key, exported, source);
            return;
        };
        let candidates = if limit == 1 {
            &paths[..paths.len().min(1)]
        } else {
            paths
        };
        let mut chosen: Vec<(PathSource, Attrs)> = Vec::new();
        for path in candidates {
            if chosen.len() == limit {
                break;
            }
            if let Some(attrs) = self.export(family, prefix, path, peers, interner, count) {
                chosen.push(((path.peer, path.path_id), attrs));
            }
        }
        let sources: Vec<PathSource> = chosen.iter().map(|(source, _)| *source).collect();
        let (ids, released) = self.path_ids.assign(family, prefix, &sources);
        let key = |path_id| RouteKey {
            family,
            prefix,
            path_id,
        };
        for path_id in released {
            self.table.set_pending(key(path_id), None, PeerId::LOCAL);
        }
        for (path_id, ((source, _), attrs)) in ids.into_iter().zip(chosen) {
            self.table.set_pending(key(path_id), Some(attrs), source);
        }
    }

    fn export<P: PeerLookup + ?Sized>(
        &mut self,
        family: AfiSafi,
        prefix: IpNetwork,
        path: &Path,
        peers: &P,
        interner: &mut AttrInterner,
        count: bool,
    ) -> Option<Attrs> {
        match self.export_path(family, prefix, path, peers, interner) {
            Ok(attrs) => Some(attrs),
            Err(reason) => {
                if count {
                    self.counters.not_exported[reason.index()] += 1;
                }
                None
            }
        }
    }

    /// The export rules, the cached transform and the policy for one path.
    fn export_path<P: PeerLookup + ?Sized>(
        &mut self,
        family: AfiSafi,
        prefix: IpNetwork,
        path: &Path,
        peers: &P,
        interner: &mut AttrInterner,
    ) -> Result<Attrs, NotExported> {
        if let Some(last) = &self.last_export {
            // The same peer in this batch: the same source, rules passed.
            if last.peer == path.peer
                && Arc::ptr_eq(&last.attrs, &path.attrs)
                && last.family == family
            {
                return last.result.clone();
            }
        }
        let source = if path.peer == PeerId::LOCAL {
            Source::LOCAL
        } else {
            Source::from_peer(
                peers
                    .peer_info(path.peer)
                    .ok_or(NotExported::UnknownSource)?,
            )
        };
        export::reflection_allows(&source, &self.target)?;
        if export::rfc8212_rejects(self.key.export.as_ref(), self.key.role) {
            return Err(NotExported::NoExportPolicy);
        }
        let target = &self.target;
        let entry = self.transforms.entry(&path.attrs, source, family, || {
            export::transform(&path.attrs, &source, target, family.afi).map(|a| interner.intern(a))
        });
        if !self.policy_per_prefix {
            if let Some(done) = entry.exported.clone() {
                self.remember(path, family, &done);
                return done;
            }
        }
        let rules = entry.rules.clone()?;
        let policy = Policed {
            policy: self.key.export.as_ref(),
            target: &self.representative,
            rules_target: &self.target,
            ctx: &self.key.ctx,
        };
        if self.policy_per_prefix {
            return policy.apply(family, prefix, rules, &mut self.blocks, interner);
        }
        let done = policy.apply(family, prefix, rules, &mut self.blocks, interner);
        entry.exported = Some(done.clone());
        self.remember(path, family, &done);
        done
    }

    /// Keep `done` as the result for `path`'s set from its peer (only for a
    /// policy that does not look at the prefix, whose result is per set).
    fn remember(&mut self, path: &Path, family: AfiSafi, done: &Result<Attrs, NotExported>) {
        self.last_export = Some(LastExport {
            peer: path.peer,
            attrs: path.attrs.clone(),
            family,
            result: done.clone(),
        });
    }

    /// Commit the pending changes without sending them (a new group's
    /// table, filled from the Loc-RIB before its first member joins).
    pub fn commit_silently(&mut self) {
        self.table.commit_into(&mut self.committed);
        self.table.settle(&self.committed, false);
        self.committed.clear();
        self.forget_unneeded();
    }

    /// Make the table from the Loc-RIB, which must hold exactly the changes
    /// applied so far, and keep it; `count`:
    /// count the paths not exported (a new group's first table).
    pub fn build_table<R: LocRib + ?Sized>(
        &mut self,
        rib: &R,
        interner: &mut AttrInterner,
        count: bool,
    ) {
        self.window = None;
        self.table = Table::default();
        self.begin_batch();
        for index in 0..self.key.families.len() {
            let family = self.key.families[index];
            for (prefix, paths) in rib.family_routes(family) {
                self.set_pending(family, prefix, paths, rib, interner, count);
            }
        }
        self.commit_silently();
        self.applied_since_built = 0;
        tracing::debug!(id = %self.id, routes = self.table.live(), "update group: table made from the Loc-RIB");
    }

    /// Keep the table from now on (see the module documentation). `rib`
    /// must hold exactly the changes applied so far: the changes noted
    /// since the last flush are sent first, as the table made from `rib`
    /// holds them already.
    pub fn keep_table<R: LocRib + ?Sized>(&mut self, rib: &R, interner: &mut AttrInterner) {
        if self.window.as_ref().is_some_and(|w| !w.is_empty()) {
            self.flush_direct(&mut FlushSummary::default(), rib, interner);
        }
        if self.window.is_some() {
            self.build_table(rib, interner, false);
        }
    }

    /// Drop the table if the group can do without it and has used it long
    /// enough (see the module documentation).
    fn maybe_drop_table(&mut self) {
        let ready = self.may_go_direct
            && self.window.is_none()
            && !self.members.is_empty()
            && self.members.iter().all(Member::is_in_sync)
            && self.table.pending() == 0
            && self.applied_since_built >= self.table.live();
        if ready {
            let routes = self.table.live();
            let sources = self.table.take_sources();
            self.table = Table::default();
            self.window = Some(Window::new(routes, sources));
            tracing::debug!(id = %self.id, routes, "update group: sends from the Loc-RIB, table dropped");
        }
    }

    /// Encode the changes since the last flush once and push the same bytes
    /// to every member in sync; a member whose outbox refuses falls behind.
    /// `rib` is the Loc-RIB as it stands after the changes: a group without
    /// a table makes its table from it when a member falls behind.
    pub fn flush<R: LocRib + ?Sized>(
        &mut self,
        summary: &mut FlushSummary,
        rib: &R,
        interner: &mut AttrInterner,
    ) {
        if self.window.is_some() {
            self.flush_direct(summary, rib, interner);
        } else {
            self.flush_table(summary);
            self.maybe_drop_table();
        }
        self.transforms.maybe_sweep();
        self.blocks.maybe_sweep();
    }

    /// The withdrawals of [`UpdateGroup::replaced`], encoded once per
    /// member they are for, by member (none in most flushes).
    fn encode_replaced(&mut self) -> Vec<(PeerId, Encoded)> {
        self.replaced.sort_by_key(|(peer, _)| *peer);
        self.replaced
            .chunk_by(|a, b| a.0 == b.0)
            .map(|routes| {
                let withdrawn = routes
                    .iter()
                    .map(|&(_, key)| (key, Outgoing::Withdraw(None)));
                let encoded =
                    encode_routes(withdrawn, &mut self.blocks, &self.key.ctx, &mut Vec::new());
                (routes[0].0, encoded)
            })
            .collect()
    }

    /// Count one encoded flush.
    fn count_flush(
        &mut self,
        messages: usize,
        bytes: usize,
        errors: usize,
        summary: &mut FlushSummary,
    ) {
        self.counters.flushes += 1;
        self.counters.messages += messages as u64;
        self.counters.bytes += bytes as u64;
        self.counters.encode_errors += errors as u64;
        summary.groups += 1;
        summary.messages += messages as u64;
        summary.bytes += bytes as u64;
    }

    /// [`UpdateGroup::flush`] without a table. A member that refuses still
    /// gets this flush (forced: its outbox stays bounded, as it gets nothing
    /// more until drained), then the group makes its table from the Loc-RIB
    /// and the member falls behind at the table's first version.
    fn flush_direct<R: LocRib + ?Sized>(
        &mut self,
        summary: &mut FlushSummary,
        rib: &R,
        interner: &mut AttrInterner,
    ) {
        let Some(window) = self.window.as_mut() else {
            return;
        };
        if window.is_empty() {
            return;
        }
        let (blocks, ctx) = (&mut self.blocks, &self.key.ctx);
        let encoded = encode_routes(window.to_send(), blocks, ctx, &mut self.prefixes);
        self.replaced.clear();
        self.replaced.extend(window.replaced_by_own());
        window.sent();
        let (messages, len) = (encoded.messages, encoded.bytes.len());
        if len == 0 && encoded.errors == 0 {
            // Every change of the window cancelled out.
            return;
        }
        self.count_flush(messages, len, encoded.errors, summary);
        if encoded.bytes.is_empty() {
            return;
        }
        let replaced = self.encode_replaced();
        let mut refused = Vec::new();
        for (index, member) in self.members.iter_mut().enumerate() {
            let delivery = Delivery::of(&encoded, member.info.id, &replaced);
            if delivery.is_empty() {
                continue;
            }
            if !delivery.push(&member.outbox) {
                delivery.force_push(&member.outbox);
                refused.push(index);
            }
            count_push(member, &delivery, &mut self.counters, summary);
        }
        if refused.is_empty() {
            return;
        }
        self.build_table(rib, interner, false);
        let version = self.table.version();
        for index in refused {
            self.members[index].fall_behind(version);
            self.counters.refused += 1;
            summary.newly_behind += 1;
        }
    }

    /// [`UpdateGroup::flush`] with the table.
    fn flush_table(&mut self, summary: &mut FlushSummary) {
        let before = self.table.version();
        self.table.commit_into(&mut self.committed);
        if !self.committed.is_empty() {
            let table = &self.table;
            let routes = self
                .committed
                .iter()
                .map(|&(key, at, before)| match table.state_at(at) {
                    Some((attrs, source)) => (key, Outgoing::Announce(attrs, source)),
                    None => (key, Outgoing::Withdraw(before)),
                });
            let (blocks, ctx) = (&mut self.blocks, &self.key.ctx);
            let encoded = encode_routes(routes, blocks, ctx, &mut self.prefixes);
            self.replaced.clear();
            self.replaced
                .extend(self.committed.iter().filter_map(|&(key, at, before)| {
                    let (_, source) = table.state_at(at)?;
                    (before? != source).then_some((source, key))
                }));
            let replaced = self.encode_replaced();
            let len = encoded.bytes.len();
            self.count_flush(encoded.messages, len, encoded.errors, summary);
            if !encoded.bytes.is_empty() {
                for member in self.members.iter_mut().filter(|m| m.is_in_sync()) {
                    let delivery = Delivery::of(&encoded, member.info.id, &replaced);
                    if delivery.is_empty() {
                        continue;
                    }
                    if delivery.push(&member.outbox) {
                        count_push(member, &delivery, &mut self.counters, summary);
                    } else {
                        member.fall_behind(before);
                        self.counters.refused += 1;
                        summary.newly_behind += 1;
                    }
                }
            }
            let needed = self.members.iter().any(|m| !m.is_in_sync());
            self.table.settle(&self.committed, needed);
            self.committed.clear();
        }
        self.forget_unneeded();
    }

    /// Drop the change records and tombstones no member needs: with every
    /// member in sync, all of them.
    fn forget_unneeded(&mut self) {
        let upto = self
            .members
            .iter()
            .filter_map(Member::needs_after)
            .min()
            .unwrap_or(u64::MAX);
        self.table.forget(upto);
    }

    /// Add a member: it gets the table, then End-of-RIB per family. A group
    /// without a table makes it from `rib` first (see
    /// [`UpdateGroup::keep_table`]).
    pub fn add_member<R: LocRib + ?Sized>(
        &mut self,
        info: PeerInfo,
        outbox: Arc<Outbox>,
        rib: &R,
        interner: &mut AttrInterner,
    ) {
        self.keep_table(rib, interner);
        let mut member = Member::new(info, outbox, self.table.version(), &self.key.families);
        resync::run(&mut member, &self.table, &mut self.blocks, &self.key.ctx);
        self.members.push(member);
        self.forget_unneeded();
        self.maybe_drop_table();
    }

    /// Remove a member; returns whether the group is now empty.
    pub fn remove_member(&mut self, peer: PeerId) -> bool {
        self.members.retain(|m| m.info.id != peer);
        if let Some(first) = self.members.first() {
            if self.representative.id == peer {
                self.representative = first.info.clone();
            }
        }
        self.forget_unneeded();
        self.members.is_empty()
    }

    fn member_index(&self, peer: PeerId) -> Result<usize, AdjOutError> {
        self.members
            .iter()
            .position(|m| m.info.id == peer)
            .ok_or(AdjOutError::NotAMember(peer))
    }

    /// The member's outbox drained: go on with its walk, if any.
    pub fn drained(&mut self, peer: PeerId) -> Result<SyncState, AdjOutError> {
        let index = self.member_index(peer)?;
        let member = &mut self.members[index];
        if resync::run(member, &self.table, &mut self.blocks, &self.key.ctx) != Progress::Idle {
            self.forget_unneeded();
        }
        let state = sync_state(&self.members[index]);
        self.maybe_drop_table();
        Ok(state)
    }

    /// Send `family` to the member again (RFC 2918 section 4), bracketed by
    /// BoRR and EoRR when enhanced route refresh was negotiated (RFC 7313
    /// section 4).
    pub fn refresh<R: LocRib + ?Sized>(
        &mut self,
        peer: PeerId,
        family: AfiSafi,
        rib: &R,
        interner: &mut AttrInterner,
    ) -> Result<(), AdjOutError> {
        let index = self.member_index(peer)?;
        if self.key.families.binary_search(&family).is_err() {
            return Err(AdjOutError::FamilyNotNegotiated { peer, family });
        }
        self.keep_table(rib, interner);
        let member = &mut self.members[index];
        let enhanced = member.info.negotiated.enhanced_route_refresh;
        if enhanced {
            match Marker::BeginRefresh(family).encode(&self.key.ctx) {
                Ok(bytes) => member.outbox.force_push(bytes),
                Err(error) => tracing::error!(%error, "update group: cannot encode BoRR"),
            }
        }
        member.refresh(family, self.table.version(), enhanced);
        if !member.is_waiting() {
            resync::run(member, &self.table, &mut self.blocks, &self.key.ctx);
        }
        self.forget_unneeded();
        Ok(())
    }

    /// Sweep the caches of sets that are gone; returns entries dropped.
    pub fn collect_garbage(&mut self) -> usize {
        self.transforms.sweep() + self.blocks.sweep()
    }

    /// What the group advertises to member `peer` for `prefix`: (path id,
    /// attributes), none of them from `peer` itself. A group without a
    /// table answers from `rib`'s best path.
    pub fn exported<R: LocRib + ?Sized>(
        &mut self,
        peer: PeerId,
        family: AfiSafi,
        prefix: IpNetwork,
        rib: &R,
        interner: &mut AttrInterner,
    ) -> Vec<(u32, Attrs)> {
        if self.window.is_some() {
            if self.key.families.binary_search(&family).is_err() {
                return Vec::new();
            }
            let Some(best) = rib.prefix_paths(family, prefix).first() else {
                return Vec::new();
            };
            if best.peer == peer {
                return Vec::new();
            }
            return self
                .export(family, prefix, best, rib, interner, false)
                .map(|attrs| vec![(0, attrs)])
                .unwrap_or_default();
        }
        let ids = match self.key.path_limit(family) {
            None => vec![0],
            Some(_) => self.path_ids.ids(family, prefix),
        };
        ids.into_iter()
            .filter_map(|path_id| {
                let key = RouteKey {
                    family,
                    prefix,
                    path_id,
                };
                let (attrs, source) = self.table.entry(&key)?;
                (source != peer).then(|| (path_id, attrs.clone()))
            })
            .collect()
    }

    /// Change records the table holds for members behind.
    #[cfg(test)]
    pub fn log_len(&self) -> usize {
        self.table.log_len()
    }

    /// Members' handles.
    pub fn member_ids(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.members.iter().map(|m| m.info.id)
    }

    /// The group's counters.
    pub fn stats(&self) -> GroupStats {
        let not_exported = NotExported::ALL
            .iter()
            .map(|reason| (*reason, self.counters.not_exported[reason.index()]))
            .filter(|(_, count)| *count > 0)
            .collect();
        GroupStats {
            id: self.id,
            role: self.key.role,
            members: self.members.len(),
            members_behind: self.members.iter().filter(|m| !m.is_in_sync()).count(),
            keeps_table: self.keeps_table(),
            routes: self.advertised(),
            tombstones: self.table.tombstones(),
            pending: self
                .window
                .as_ref()
                .map_or(self.table.pending(), Window::len),
            version: self.table.version(),
            flushes: self.counters.flushes,
            messages_encoded: self.counters.messages,
            bytes_encoded: self.counters.bytes,
            pushes: self.counters.pushes,
            refused_pushes: self.counters.refused,
            attribute_blocks_encoded: self.blocks.encoded(),
            cached_transforms: self.transforms.len(),
            cached_blocks: self.blocks.len(),
            encode_errors: self.counters.encode_errors,
            not_exported,
        }
    }

    /// Routes advertised to `peer` as of the last flush: the group's, less
    /// those whose source it is.
    fn advertised_to(&self, peer: PeerId) -> usize {
        match &self.window {
            Some(window) => window.routes().saturating_sub(window.routes_from(peer)),
            None => self
                .table
                .live()
                .saturating_sub(self.table.live_from_source(peer)),
        }
    }

    /// Routes advertised as of the last flush.
    fn advertised(&self) -> usize {
        self.window
            .as_ref()
            .map_or(self.table.live(), Window::routes)
    }

    /// One member's counters.
    pub fn member_stats(&self, peer: PeerId) -> Option<MemberStats> {
        let member = self.members.iter().find(|m| m.info.id == peer)?;
        Some(MemberStats {
            peer,
            group: self.id,
            state: sync_state(member),
            lagging: member.outbox.is_lagging(),
            queued_bytes: member.outbox.queued_bytes(),
            pushes: member.pushes,
            messages: member.flush_messages + member.resync_messages,
            routes_advertised: member.is_in_sync().then(|| self.advertised_to(peer)),
            times_behind: member.times_behind,
            resyncs: member.resyncs,
            refreshes: member.refreshes,
            resync_messages: member.resync_messages,
            resync_bytes: member.resync_bytes,
        })
    }
}

/// Count a flush pushed to `member`.
fn count_push(
    member: &mut Member,
    delivery: &Delivery,
    counters: &mut Counters,
    summary: &mut FlushSummary,
) {
    member.pushes += 1;
    member.flush_messages += delivery.messages as u64;
    counters.pushes += 1;
    summary.pushes += 1;
}

/// What one member gets of a flush: the encoded bytes less the parts
/// about its own routes ([`Encoded::skipped_by`]), then the withdrawals of
/// the routes it held from another source that its own route replaced.
/// Most members get the whole buffer (one reference-count increment).
struct Delivery {
    parts: [Bytes; 4],
    messages: usize,
}

impl Delivery {
    /// `replaced`: the withdrawals of routes replaced by their member's
    /// own, by member ([`UpdateGroup::encode_replaced`]).
    fn of(encoded: &Encoded, peer: PeerId, replaced: &[(PeerId, Encoded)]) -> Self {
        let mut parts: [Bytes; 4] = Default::default();
        let mut messages = encoded.messages;
        let mut from = 0;
        let mut next = 0;
        for skipped in encoded.skipped_by(peer).into_iter().flatten() {
            parts[next] = encoded.bytes.slice(from..skipped.range.start);
            next += 1;
            from = skipped.range.end;
            messages -= skipped.messages;
        }
        parts[next] = encoded.bytes.slice(from..);
        if let Ok(at) = replaced.binary_search_by_key(&peer, |(member, _)| *member) {
            let withdrawals = &replaced[at].1;
            parts[3] = withdrawals.bytes.clone();
            messages += withdrawals.messages;
        }
        Delivery { parts, messages }
    }

    fn is_empty(&self) -> bool {
        self.parts.iter().all(Bytes::is_empty)
    }

    /// Push as one flush: the first part through [`Outbox::push`], which
    /// may refuse (then nothing is pushed: `false`), the rest forced.
    fn push(&self, outbox: &Outbox) -> bool {
        let mut parts = self.parts.iter().filter(|part| !part.is_empty());
        if let Some(first) = parts.next() {
            if !outbox.push(first.clone()) {
                return false;
            }
        }
        parts.for_each(|part| outbox.force_push(part.clone()));
        true
    }

    /// Push all of it, whatever the outbox holds.
    fn force_push(&self, outbox: &Outbox) {
        self.parts
            .iter()
            .filter(|part| !part.is_empty())
            .for_each(|part| outbox.force_push(part.clone()));
    }
}

/// The same path: the same source, path identifier and attribute set (so
/// the same export).
fn same_path(a: Option<&Path>, b: Option<&Path>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            a.peer == b.peer && a.path_id == b.path_id && Arc::ptr_eq(&a.attrs, &b.attrs)
        }
        (None, None) => true,
        _ => false,
    }
}

fn sync_state(member: &Member) -> SyncState {
    match &member.state {
        MemberState::InSync => SyncState::InSync,
        MemberState::Behind(r) => SyncState::Behind {
            mark: r.mark,
            cursor: r.cursor,
            waiting: r.waiting,
        },
    }
}

/// The export policy step, with what it needs from the group.
struct Policed<'a> {
    policy: Option<&'a Policy>,
    /// The peer the policy sees.
    target: &'a PeerInfo,
    rules_target: &'a Target,
    ctx: &'a EncodeCtx,
}

impl Policed<'_> {
    /// Step 3 of [`export`]'s documentation, then the size check.
    fn apply(
        &self,
        family: AfiSafi,
        prefix: IpNetwork,
        rules: Attrs,
        blocks: &mut BlockCache,
        interner: &mut AttrInterner,
    ) -> Result<Attrs, NotExported> {
        let attrs = match policy_hook::evaluate(self.policy, family, prefix, self.target, &rules) {
            Verdict::Reject => return Err(NotExported::PolicyRejected),
            Verdict::Unchanged => rules,
            Verdict::Modified(mut modified) => {
                export::after_policy(&mut modified, self.rules_target, family.afi)?;
                interner.intern(modified)
            }
        };
        blocks
            .block(&attrs, family, self.ctx)
            .ok_or(NotExported::TooLarge)?;
        Ok(attrs)
    }
}

//! Members of a group, and how one that is behind catches up.
//!
//! A member is *in sync* (it receives every flush of the group) or *behind*
//! (it does not, and catches up from the table). It falls behind when its
//! outbox refuses a push (over the high-water mark); its mark is then the
//! last version it fully received. When the peer task reports the outbox
//! drained, [`run`] walks the table's change log in version order from the
//! mark and force-pushes the latest state of every entry changed since, in
//! chunks, while the outbox stays under the high-water mark; when it goes
//! over, the walk keeps its cursor and waits for the next drain. Entries
//! that change during the walk get newer versions, so the walk reaches them
//! again: the member ends with the latest state of everything, and is in
//! sync again.
//!
//! The same walk makes the initial dump of a new member and answers a route
//! refresh, for which some families are sent in full. The change log only
//! holds what a member behind needs (none at all when every member is in
//! sync), so those families are first walked in the slots themselves: the
//! live entries whose version is not newer than the cursor, in slot order
//! (a *slot walk*, [`Table::live_from`]). Then the log after the cursor
//! gives everything changed since, including what changed while the slot
//! walk was paused, so each route arrives in its latest state.
//!
//! A member is not sent its own routes (see [`super::AdjOut`], "A member's
//! own routes"): the slot walk skips them, and the log walk sends a
//! withdrawal for them, as the member may hold the route from another
//! source from before.

use bytes::Bytes;
use std::sync::Arc;

use bgp_proto::EncodeCtx;
use bgp_proto::iana::AfiSafi;

use crate::outbox::Outbox;
use crate::types::PeerInfo;

use super::cache::BlockCache;
use super::encode::{Marker, Outgoing, encode_routes};
use super::table::Table;

/// Entries per resynchronisation chunk.
pub(crate) const RESYNC_CHUNK: usize = 2048;

/// The progress of a member that is behind.
#[derive(Debug)]
pub(crate) struct Resync {
    /// The member has every change up to this version.
    pub mark: u64,
    /// Log records up to this version have been walked (never below
    /// `mark`).
    pub cursor: u64,
    /// Families whose live entries of any version are sent too (initial
    /// dump, route refresh).
    pub full: Vec<AfiSafi>,
    /// The next slot of the slot walk of `full`'s entries of versions up to
    /// `cursor`; `None` once it is done (the log walk follows).
    pub slot: Option<u32>,
    /// Messages sent once the walk is done (End-of-RIB, EoRR).
    pub markers: Vec<Marker>,
    /// Waiting for the peer task to report the outbox drained.
    pub waiting: bool,
}

/// In sync, or behind.
#[derive(Debug)]
pub(crate) enum MemberState {
    /// Receives every flush.
    InSync,
    /// Catches up from the table.
    Behind(Resync),
}

/// One member of a group.
#[derive(Debug)]
pub(crate) struct Member {
    /// The peer.
    pub info: PeerInfo,
    /// Its outbox, shared with its peer task.
    pub outbox: Arc<Outbox>,
    /// In sync or behind.
    pub state: MemberState,
    /// Flushes pushed to it.
    pub pushes: u64,
    /// UPDATE messages in those flushes.
    pub flush_messages: u64,
    /// Times its outbox refused a flush.
    pub times_behind: u64,
    /// Walks completed (initial dump, resynchronisations, refreshes).
    pub resyncs: u64,
    /// Route refreshes asked for.
    pub refreshes: u64,
    /// Messages pushed by walks.
    pub resync_messages: u64,
    /// Bytes pushed by walks.
    pub resync_bytes: u64,
}

impl Member {
    /// A new member of a group at `version`: it gets the whole table of
    /// `families`, then End-of-RIB for each (RFC 4724 section 2).
    pub fn new(info: PeerInfo, outbox: Arc<Outbox>, version: u64, families: &[AfiSafi]) -> Self {
        Member {
            info,
            outbox,
            state: MemberState::Behind(Resync {
                mark: version,
                cursor: version,
                full: families.to_vec(),
                slot: Some(0),
                markers: families.iter().map(|f| Marker::EndOfRib(*f)).collect(),
                waiting: false,
            }),
            pushes: 0,
            flush_messages: 0,
            times_behind: 0,
            resyncs: 0,
            refreshes: 0,
            resync_messages: 0,
            resync_bytes: 0,
        }
    }

    /// Does it receive flushes?
    pub fn is_in_sync(&self) -> bool {
        matches!(self.state, MemberState::InSync)
    }

    /// Is it waiting for its outbox to drain?
    pub fn is_waiting(&self) -> bool {
        matches!(&self.state, MemberState::Behind(r) if r.waiting)
    }

    /// Change records and tombstones of this version or older are of no
    /// use to it; `None` when it needs none (in sync).
    pub fn needs_after(&self) -> Option<u64> {
        match &self.state {
            MemberState::InSync => None,
            MemberState::Behind(r) => Some(r.mark.max(r.cursor)),
        }
    }

    /// Its outbox refused a flush; it has everything up to `mark`.
    pub fn fall_behind(&mut self, mark: u64) {
        self.times_behind += 1;
        match &mut self.state {
            MemberState::InSync => {
                self.state = MemberState::Behind(Resync {
                    mark,
                    cursor: mark,
                    full: Vec::new(),
                    slot: None,
                    markers: Vec::new(),
                    waiting: true,
                });
            }
            MemberState::Behind(resync) => resync.waiting = true,
        }
    }

    /// It asked for `family` again (RFC 2918); the group is at `version`.
    /// With enhanced route refresh, EoRR follows the routes (RFC 7313).
    pub fn refresh(&mut self, family: AfiSafi, version: u64, enhanced: bool) {
        self.refreshes += 1;
        let end: Vec<Marker> = if enhanced {
            vec![Marker::EndRefresh(family)]
        } else {
            Vec::new()
        };
        match &mut self.state {
            MemberState::InSync => {
                self.state = MemberState::Behind(Resync {
                    mark: version,
                    cursor: version,
                    full: vec![family],
                    slot: Some(0),
                    markers: end,
                    waiting: false,
                });
            }
            MemberState::Behind(resync) => {
                if !resync.full.contains(&family) {
                    resync.full.push(family);
                }
                // Everything of the full families up to the cursor again
                // (RFC 7313: the routes must follow the BoRR); what is
                // newer comes from the log as before.
                resync.slot = Some(0);
                resync.markers.extend(end);
            }
        }
    }
}

/// What [`run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// The member was in sync already.
    Idle,
    /// The outbox went over the high-water mark; the walk goes on at the
    /// next drain.
    Paused,
    /// The walk is done; the member is in sync.
    Done,
}

/// Make sure the peer task reports the outbox drained: above the
/// high-water mark `push` refuses and marks the outbox lagging. If the
/// writer drained it in the meantime the push succeeds with an empty buffer
/// (which writes nothing) and the walk goes on.
fn pause(outbox: &Outbox) -> bool {
    !outbox.push(Bytes::new())
}

/// Walk the table for a member that is behind; see the module documentation.
pub(crate) fn run(
    member: &mut Member,
    table: &Table,
    blocks: &mut BlockCache,
    ctx: &EncodeCtx,
) -> Progress {
    let MemberState::Behind(resync) = &mut member.state else {
        return Progress::Idle;
    };
    resync.waiting = false;
    let me = member.info.id;
    let markers = loop {
        if member.outbox.queued_bytes() > Outbox::HIGH_WATER && pause(&member.outbox) {
            resync.waiting = true;
            return Progress::Paused;
        }
        let mut batch = Vec::with_capacity(RESYNC_CHUNK);
        let mut more = false;
        if let Some(from) = resync.slot {
            let mut next = None;
            for (at, key, attrs, source) in table.live_from(from, &resync.full, resync.cursor) {
                if batch.len() == RESYNC_CHUNK {
                    next = Some(at);
                    break;
                }
                if source != me {
                    batch.push((key, Outgoing::Announce(attrs, source)));
                }
            }
            resync.slot = next;
            more = next.is_some();
        }
        if !more {
            let mut cursor = resync.cursor;
            for (version, key, state) in table.since(resync.cursor) {
                if batch.len() == RESYNC_CHUNK {
                    more = true;
                    break;
                }
                cursor = version;
                let state = match state {
                    Some((attrs, source)) if source != me => Outgoing::Announce(attrs, source),
                    _ => Outgoing::Withdraw(None),
                };
                batch.push((key, state));
            }
            resync.cursor = cursor;
        }
        if !batch.is_empty() {
            let encoded = encode_routes(batch, blocks, ctx, &mut Vec::new());
            member.resync_messages += encoded.messages as u64;
            member.resync_bytes += encoded.bytes.len() as u64;
            if !encoded.bytes.is_empty() {
                member.outbox.force_push(encoded.bytes);
            }
        }
        if !more {
            break std::mem::take(&mut resync.markers);
        }
    };
    member.state = MemberState::InSync;
    member.resyncs += 1;
    for marker in markers {
        match marker.encode(ctx) {
            Ok(bytes) => {
                member.resync_messages += 1;
                member.resync_bytes += bytes.len() as u64;
                member.outbox.force_push(bytes);
            }
            Err(error) => tracing::error!(%error, ?marker, "update group: cannot encode marker"),
        }
    }
    Progress::Done
}

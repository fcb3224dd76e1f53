//! What update groups report about themselves and their members.

use crate::types::{PeerId, PeerRole};

use super::export::NotExported;
use super::key::GroupId;

/// One group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupStats {
    /// The group.
    pub id: GroupId,
    /// Its members' role.
    pub role: PeerRole,
    /// Members.
    pub members: usize,
    /// Members behind (not receiving flushes, catching up from the table).
    pub members_behind: usize,
    /// It keeps a table of its own; `false` while it sends straight from
    /// the Loc-RIB (no ADD-PATH, every member in sync; see
    /// [`super::AdjOut`]).
    pub keeps_table: bool,
    /// Routes in its Adj-RIB-Out.
    pub routes: usize,
    /// Withdrawn entries kept for members that are behind.
    pub tombstones: usize,
    /// Routes changed since the last flush.
    pub pending: usize,
    /// Version of the last committed change.
    pub version: u64,
    /// Flushes that sent something.
    pub flushes: u64,
    /// UPDATEs encoded by flushes (once for all members).
    pub messages_encoded: u64,
    /// Bytes encoded by flushes (once for all members).
    pub bytes_encoded: u64,
    /// Pushes of a flush into a member's outbox.
    pub pushes: u64,
    /// Pushes an outbox refused (the member fell behind).
    pub refused_pushes: u64,
    /// Distinct attribute blocks encoded.
    pub attribute_blocks_encoded: u64,
    /// Cached export transforms.
    pub cached_transforms: usize,
    /// Cached attribute blocks.
    pub cached_blocks: usize,
    /// Routes that could not be encoded (should stay 0).
    pub encode_errors: u64,
    /// Paths not exported, by reason (reasons with a count only).
    pub not_exported: Vec<(NotExported, u64)>,
}

/// Where a member is in its group's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// Receives every flush.
    InSync,
    /// Catches up from the table.
    Behind {
        /// It has every change up to this version.
        mark: u64,
        /// The table has been walked up to this version.
        cursor: u64,
        /// Waiting for its outbox to drain ([`crate::events::PeerEvent::Drained`]).
        waiting: bool,
    },
}

/// One member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStats {
    /// The peer.
    pub peer: PeerId,
    /// Its group.
    pub group: GroupId,
    /// In sync or behind.
    pub state: SyncState,
    /// Its outbox refuses pushes (until drained).
    pub lagging: bool,
    /// Bytes in its outbox, not yet written.
    pub queued_bytes: usize,
    /// Flushes pushed to it.
    pub pushes: u64,
    /// Messages (UPDATEs, End-of-RIB and refresh markers) queued to it, by
    /// flushes and table walks.
    pub messages: u64,
    /// Routes it has been sent, when it is in sync (the group's
    /// Adj-RIB-Out); `None` while it catches up.
    pub routes_advertised: Option<usize>,
    /// Times it fell behind.
    pub times_behind: u64,
    /// Table walks completed (initial dump, resynchronisations, refreshes).
    pub resyncs: u64,
    /// Route refreshes it asked for.
    pub refreshes: u64,
    /// Messages pushed by table walks.
    pub resync_messages: u64,
    /// Bytes pushed by table walks.
    pub resync_bytes: u64,
}

/// What one [`super::AdjOut::flush`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushSummary {
    /// Groups that had changes to send.
    pub groups: usize,
    /// UPDATEs encoded (once per group).
    pub messages: u64,
    /// Bytes encoded (once per group).
    pub bytes: u64,
    /// Buffers pushed into outboxes.
    pub pushes: u64,
    /// Members that fell behind.
    pub newly_behind: u64,
}

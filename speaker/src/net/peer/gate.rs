//! The core's direct path into a peer's socket.
//!
//! Normally the core pushes a member's UPDATEs into its
//! [`crate::outbox::Outbox`] and wakes the peer task, which writes them.
//! When the peer's write side is idle (nothing queued in the outbox,
//! nothing begun or queued in the connection), that wake is a task hop
//! on the path of every route: the [`WriteGate`] lets the core write the
//! bytes into the socket itself instead, without waiting and without
//! waking anyone, and hand whatever the socket did not take to the peer
//! task, which finishes it before anything else.
//!
//! # Rules that keep the byte stream whole
//! - The gate's lock is held by the core for its one non-blocking write
//!   and by the peer task for each of its flushes, so the two never
//!   write at the same time. The core only tries the lock: if the task
//!   holds it, the bytes are queued as before.
//! - The core writes only while the gate is *idle*: the task sets that at
//!   the end of each flush, true only when nothing is left in its
//!   connection, and the core adds that nothing is queued in the outbox,
//!   so the UPDATEs keep the order in which they were pushed.
//! - What the core could not write (the rest of a message begun, or all
//!   of it) is the *leftover*: the gate is no longer idle, and the task,
//!   woken through the outbox, makes it the connection's current chunk
//!   before it writes anything else. A message of the state machine
//!   (KEEPALIVE, NOTIFICATION) therefore never lands inside an UPDATE
//!   (RFC 4271 section 4.1: messages follow each other whole on the
//!   stream).
//! - The gate holds the socket only weakly and only while the session is
//!   Established on that connection ([`WriteGate::attach`]); a connection
//!   closed or dropped leaves nothing the core could write into.
//!
//! UPDATEs the core writes do not restart the peer task's KeepaliveTimer
//! (RFC 4271 section 4.4 lets a KEEPALIVE go earlier than needed); a
//! write that blocks hands the rest to the task, whose Send Hold Timer
//! (RFC 9687) then runs as for its own writes.

use bytes::Bytes;
use std::sync::{Mutex, MutexGuard, TryLockError, Weak};
use tokio::net::TcpStream;

use crate::speaker::hops;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct WriteGate {
    state: Mutex<GateState>,
}

#[derive(Debug, Default)]
pub(crate) struct GateState {
    /// The Established session's socket, while attached.
    socket: Weak<TcpStream>,
    /// The peer task has nothing begun or queued on the socket.
    idle: bool,
    /// What the core wrote in part or not at all, for the task.
    leftover: Option<Leftover>,
    /// The peer's id, for the hop marks.
    tag: u64,
}

/// Bytes the core handed to the peer task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Leftover {
    /// What is still to be written.
    pub bytes: Bytes,
    /// Part of the message is on the wire already: the rest must follow
    /// before anything else, even on close.
    pub begun: bool,
}

/// What [`WriteGate::try_write`] did with the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectWrite {
    /// All written into the socket.
    Written,
    /// Written in part or not at all; the rest is the task's now, and
    /// the caller must account `left` bytes as queued and wake the task.
    Handed {
        /// Bytes the task has to write.
        left: usize,
    },
    /// The gate was not open to the core (busy, detached, or the lock
    /// held): queue the bytes as usual.
    Refused,
}

impl WriteGate {
    /// A detached gate.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The core's write: only if the gate is idle, attached and free, and
    /// `queue_empty` (nothing pushed is still unwritten). Never waits.
    pub fn try_write(&self, bytes: &Bytes, queue_empty: bool) -> DirectWrite {
        if !queue_empty || bytes.is_empty() {
            return DirectWrite::Refused;
        }
        let mut state = match self.state.try_lock() {
            Ok(state) => state,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return DirectWrite::Refused,
        };
        if !state.idle || state.leftover.is_some() {
            return DirectWrite::Refused;
        }
        let Some(socket) = state.socket.upgrade() else {
            return DirectWrite::Refused;
        };
        // On an error (WouldBlock or worse) nothing was written: the task
        // finds out, or finds room again, when it writes the bytes itself.
        let written: usize = socket.try_write(bytes).unwrap_or_default();
        if written > 0 {
            hops::mark("peer.write", state.tag);
        }
        if written == bytes.len() {
            return DirectWrite::Written;
        }
        let left = bytes.len() - written;
        state.idle = false;
        state.leftover = Some(Leftover {
            bytes: bytes.slice(written..),
            begun: written > 0,
        });
        DirectWrite::Handed { left }
    }

    /// The task's side: lock for a flush (blocks only while the core is
    /// in its one write).
    pub(crate) fn hold(&self) -> GateHold<'_> {
        GateHold { state: self.lock() }
    }

    /// Open the gate to the core for `socket` (the session just became
    /// Established on it); `idle` as in [`GateHold::set_idle`].
    pub(crate) fn attach(&self, socket: Weak<TcpStream>, tag: u64, idle: bool) {
        let mut state = self.lock();
        state.socket = socket;
        state.tag = tag;
        state.idle = idle;
        state.leftover = None;
    }

    /// Close the gate (the connection is going away or its session is
    /// down); returns the leftover, which the caller must still write
    /// first if it is begun. Once this returns the core holds no
    /// reference to the socket.
    pub(crate) fn detach(&self) -> Option<Leftover> {
        let mut state = self.lock();
        state.socket = Weak::new();
        state.idle = false;
        state.leftover.take()
    }
}

/// The peer task holding the gate: the core cannot write meanwhile.
pub(crate) struct GateHold<'a> {
    state: MutexGuard<'a, GateState>,
}

impl GateHold<'_> {
    /// Take what the core left for the task.
    pub fn take_leftover(&mut self) -> Option<Leftover> {
        self.state.leftover.take()
    }

    /// Let the core write when the task has nothing begun or queued.
    pub fn set_idle(&mut self, idle: bool) {
        self.state.idle = idle;
    }
}

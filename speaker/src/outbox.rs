//! A peer's queue of encoded messages waiting for its socket.
//!
//! Update groups push the same [`Bytes`] into the outbox of every member;
//! the peer task writes them out. The queue is bounded by bytes: once it
//! holds more than [`Outbox::HIGH_WATER`], [`Outbox::push`] refuses and the
//! outbox is marked *lagging*. The group then stops queueing for that member
//! and remembers how far it got; when the peer task has written the queue
//! down below [`Outbox::LOW_WATER`] it reports the member as drained, and the
//! group resynchronises it from its table with the latest state only. A slow
//! peer therefore costs a bounded queue plus a position, never a growing
//! backlog, and never slows the other members.
//!
//! An outbox is *open* only while the core has the member in an update
//! group for the current session: the peer task closes it when its session
//! goes down, and the core opens it (empty) when it adds the member after a
//! new Established. Pushes to a closed outbox are dropped, so nothing the
//! core queued for an old session can be written on a new one, whose
//! encoding (ADD-PATH, AS size) may differ.
//!
//! This is a queue of bytes, not routing state: the lock is held only to
//! push or pop a handful of pointers.
//!
//! Every push is stamped with its time, so [`Outbox::oldest_unwritten`]
//! tells how long the oldest byte not yet written has waited: the peer's
//! reflection lag as the operator sees it (zero for a peer that keeps up).

use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// See the module documentation.
#[derive(Debug)]
pub struct Outbox {
    queue: Mutex<VecDeque<Bytes>>,
    stamps: Mutex<Stamps>,
    queued_bytes: AtomicUsize,
    lagging: AtomicBool,
    open: AtomicBool,
    notify: Notify,
}

/// When the queued bytes were pushed: `(end offset, time)` per push, in
/// the stream of bytes pushed since the outbox was last cleared.
#[derive(Debug, Default)]
struct Stamps {
    pushes: VecDeque<(u64, Instant)>,
    pushed: u64,
    written: u64,
}

impl Stamps {
    fn pushed(&mut self, len: usize) {
        self.pushed += len as u64;
        self.pushes.push_back((self.pushed, Instant::now()));
    }

    fn written(&mut self, len: usize) {
        // A write reported after a clear() must not run ahead of the pushes.
        self.written = (self.written + len as u64).min(self.pushed);
        while self
            .pushes
            .front()
            .is_some_and(|(end, _)| *end <= self.written)
        {
            self.pushes.pop_front();
        }
    }
}

impl Default for Outbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Outbox {
    /// Above this many queued bytes, pushes are refused.
    pub const HIGH_WATER: usize = 4 << 20;
    /// Below this many queued bytes, a lagging outbox counts as drained.
    pub const LOW_WATER: usize = 1 << 20;

    /// An empty, open outbox.
    pub fn new() -> Self {
        Outbox {
            queue: Mutex::new(VecDeque::new()),
            stamps: Mutex::new(Stamps::default()),
            queued_bytes: AtomicUsize::new(0),
            lagging: AtomicBool::new(false),
            open: AtomicBool::new(true),
            notify: Notify::new(),
        }
    }

    /// Queue `bytes` (one or more complete messages) unless the outbox is
    /// lagging or over the high-water mark, in which case it becomes
    /// lagging and `false` is returned: the caller must resynchronise later.
    pub fn push(&self, bytes: Bytes) -> bool {
        if !self.is_open() {
            return true;
        }
        if self.lagging.load(Ordering::Acquire) {
            return false;
        }
        if self.queued_bytes.load(Ordering::Acquire) > Self::HIGH_WATER {
            self.lagging.store(true, Ordering::Release);
            return false;
        }
        self.force_push(bytes);
        true
    }

    /// Queue `bytes` whatever the level (End-of-RIB markers, the chunks of
    /// a resynchronisation that the caller paces itself).
    pub fn force_push(&self, bytes: Bytes) {
        if !self.is_open() {
            return;
        }
        let len = bytes.len();
        if len > 0 {
            self.stamps().pushed(len);
        }
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push_back(bytes);
        self.queued_bytes.fetch_add(len, Ordering::AcqRel);
        self.notify.notify_one();
    }

    /// Take everything queued (the peer task calls this when it can write).
    pub fn take_all(&self, into: &mut VecDeque<Bytes>) {
        let mut queue = self
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        into.append(&mut queue);
    }

    /// The peer task wrote `len` bytes that it had taken. Returns `true`
    /// when a lagging outbox has just drained below the low-water mark; the
    /// caller must then report the member as drained.
    pub fn written(&self, len: usize) -> bool {
        self.stamps().written(len);
        // Saturating: a close() may have reset the count meanwhile.
        let before = self
            .queued_bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                Some(q.saturating_sub(len))
            })
            .unwrap_or(0);
        let left = before.saturating_sub(len);
        left < Self::LOW_WATER && self.lagging.swap(false, Ordering::AcqRel)
    }

    /// How long the oldest byte not yet written has been queued; `None`
    /// when everything pushed has been written.
    pub fn oldest_unwritten(&self) -> Option<Duration> {
        let stamps = self.stamps();
        stamps.pushes.front().map(|(_, at)| at.elapsed())
    }

    fn stamps(&self) -> std::sync::MutexGuard<'_, Stamps> {
        self.stamps
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes.load(Ordering::Acquire)
    }

    /// Is the member waiting for a resynchronisation?
    pub fn is_lagging(&self) -> bool {
        self.lagging.load(Ordering::Acquire)
    }

    /// Wait until something is pushed.
    pub async fn wait(&self) {
        self.notify.notified().await;
    }

    /// Empty the outbox and accept pushes: the core added the member for a
    /// new session.
    pub fn open(&self) {
        self.clear();
        self.open.store(true, Ordering::Release);
    }

    /// Refuse pushes and drop everything queued: the session went down.
    pub fn close(&self) {
        self.open.store(false, Ordering::Release);
        self.clear();
    }

    /// Does the outbox accept pushes?
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    fn clear(&self) {
        let mut queue = self
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        queue.clear();
        *self.stamps() = Stamps::default();
        self.queued_bytes.store(0, Ordering::Release);
        self.lagging.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_above_the_high_water_mark_and_reports_the_drain() {
        let outbox = Outbox::new();
        let chunk = Bytes::from(vec![0u8; 1 << 20]);
        for _ in 0..5 {
            assert!(outbox.push(chunk.clone()));
        }
        assert!(!outbox.push(chunk.clone()), "over 4 MiB");
        assert!(outbox.is_lagging());
        assert!(!outbox.push(Bytes::from_static(b"x")), "lagging refuses");
        let mut taken = VecDeque::new();
        outbox.take_all(&mut taken);
        assert_eq!(taken.len(), 5);
        assert!(!outbox.written(2 << 20), "3 MiB left: still lagging");
        assert!(
            outbox.written((2 << 20) + 1),
            "just under 1 MiB left: drained"
        );
        assert_eq!(outbox.queued_bytes(), (1 << 20) - 1);
    }

    #[test]
    fn the_oldest_unwritten_push_is_timed_until_all_its_bytes_are_written() {
        let outbox = Outbox::new();
        assert_eq!(outbox.oldest_unwritten(), None);
        outbox.force_push(Bytes::from_static(b"first"));
        std::thread::sleep(Duration::from_millis(20));
        let before_second = Instant::now();
        outbox.force_push(Bytes::from_static(b"second"));
        // Which push is the oldest, without depending on how fast the test
        // runs: the first is older than `before_second` (read the bound
        // first), the second is not (read the age first).
        let first_is_oldest = |outbox: &Outbox| {
            let bound = before_second.elapsed();
            outbox.oldest_unwritten().unwrap() > bound
        };
        let second_is_oldest = |outbox: &Outbox| {
            let age = outbox.oldest_unwritten().unwrap();
            age <= before_second.elapsed()
        };
        assert!(first_is_oldest(&outbox));
        let mut taken = VecDeque::new();
        outbox.take_all(&mut taken);
        // Part of the first push written: it is still the oldest.
        outbox.written(3);
        assert!(first_is_oldest(&outbox));
        // The rest of it: now the second push is the oldest.
        outbox.written(2);
        assert!(second_is_oldest(&outbox));
        outbox.written(6);
        assert_eq!(outbox.oldest_unwritten(), None);
        // A clear forgets the stamps; a late write does not run ahead.
        outbox.force_push(Bytes::from_static(b"x"));
        outbox.close();
        outbox.written(100);
        outbox.open();
        outbox.force_push(Bytes::from_static(b"new"));
        assert!(outbox.oldest_unwritten().is_some());
        outbox.written(3);
        assert_eq!(outbox.oldest_unwritten(), None);
    }

    #[test]
    fn drained_is_reported_once() {
        let outbox = Outbox::new();
        let chunk = Bytes::from(vec![0u8; 5 << 20]);
        outbox.force_push(chunk.clone());
        assert!(!outbox.push(chunk));
        let mut taken = VecDeque::new();
        outbox.take_all(&mut taken);
        assert!(outbox.written(5 << 20));
        assert!(!outbox.is_lagging());
        assert!(outbox.push(Bytes::from_static(b"y")));
    }

    #[test]
    fn a_closed_outbox_drops_pushes_and_written_saturates() {
        let outbox = Outbox::new();
        outbox.close();
        assert!(outbox.push(Bytes::from_static(b"old session")));
        assert_eq!(outbox.queued_bytes(), 0, "closed: dropped");
        outbox.open();
        outbox.force_push(Bytes::from_static(b"abc"));
        let mut taken = VecDeque::new();
        outbox.take_all(&mut taken);
        outbox.close();
        assert!(!outbox.written(3));
        assert_eq!(outbox.queued_bytes(), 0);
    }
}

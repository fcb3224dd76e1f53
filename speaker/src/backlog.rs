//! A bound on the routes that peer tasks have decoded and the core has not
//! yet applied.
//!
//! A peer task decodes everything it reads at once, and the core applies
//! UPDATEs in batches of a few thousand prefixes between flushes. Without a
//! bound a full table arriving in one burst is decoded whole before the
//! core has applied much of it, and every decoded prefix ([`Nlri`], 28
//! octets) waits in memory; a flood of large UPDATEs could hold far more.
//! The event channel alone does not bound it: it counts UPDATEs (4,096 of
//! them), not prefixes.
//!
//! [`RouteBacklog`] holds permits for a number of prefixes, shared by all
//! the peers of one speaker. A peer task takes a [`BacklogShare`] for an
//! UPDATE's prefixes before passing it to the core, and the share returns
//! its permits when the core drops the event. A task whose next UPDATE
//! finds no permits stops reading its socket until the core frees some
//! (as it does when the event channel is full), so TCP flow control slows
//! the sender: RFC 4271 leaves the pace of reading to the receiver.
//!
//! ```
//! use bgp_speaker::backlog::RouteBacklog;
//!
//! let backlog = RouteBacklog::new(1000);
//! let share = backlog.try_take(600).expect("room for 600");
//! assert!(backlog.try_take(600).is_none());
//! drop(share);
//! assert!(backlog.try_take(600).is_some());
//! ```
//!
//! [`Nlri`]: bgp_proto::nlri::Nlri

use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use bgp_proto::message::Update;

/// Prefixes decoded ahead of the core by default: two of the core's
/// batches (`speaker::core`'s `BATCH_PREFIXES`), so that one is always
/// decoded while the other is applied; about 230 KiB of decoded prefixes.
pub const DEFAULT_BACKLOG_PREFIXES: usize = 8192;

/// Permits for decoded prefixes, shared by the peer tasks of one speaker.
/// See the module documentation.
#[derive(Debug, Clone)]
pub struct RouteBacklog {
    permits: Arc<Semaphore>,
    /// The number of permits: a share is never larger, so an UPDATE with
    /// more prefixes still gets through, alone.
    limit: u32,
}

impl Default for RouteBacklog {
    fn default() -> Self {
        RouteBacklog::new(DEFAULT_BACKLOG_PREFIXES)
    }
}

/// Permits held by one UPDATE on its way to the core; they return when it
/// is dropped. A share of nothing holds no permit.
#[derive(Debug)]
pub struct BacklogShare {
    permit: Option<OwnedSemaphorePermit>,
}

impl BacklogShare {
    /// A share that holds nothing (an UPDATE without prefixes, or one sent
    /// outside the bound).
    pub fn none() -> Self {
        BacklogShare { permit: None }
    }

    /// Does it hold permits?
    pub fn is_held(&self) -> bool {
        self.permit.is_some()
    }
}

impl RouteBacklog {
    /// A backlog of at most `prefixes` decoded prefixes (at least one).
    pub fn new(prefixes: usize) -> Self {
        let limit = u32::try_from(prefixes.max(1)).unwrap_or(u32::MAX);
        RouteBacklog {
            permits: Arc::new(Semaphore::new(limit as usize)),
            limit,
        }
    }

    /// Permits an UPDATE needs: its decoded prefixes, announced and
    /// withdrawn, at most the whole backlog. Zero for one without any (an
    /// End-of-RIB marker, say).
    pub fn cost(&self, update: &Update) -> u32 {
        let mp_reach = update.mp_reach().map_or(0, |r| r.nlri.prefixes().len());
        let mp_unreach = update
            .mp_unreach()
            .map_or(0, |u| u.withdrawn.prefixes().len());
        let prefixes = update.nlri.len() + update.withdrawn.len() + mp_reach + mp_unreach;
        u32::try_from(prefixes).unwrap_or(u32::MAX).min(self.limit)
    }

    /// A share of `cost` permits, if that many are free now.
    pub fn try_take(&self, cost: u32) -> Option<BacklogShare> {
        let cost = cost.min(self.limit);
        let permit = Arc::clone(&self.permits)
            .try_acquire_many_owned(cost)
            .ok()?;
        Some(BacklogShare {
            permit: Some(permit),
        })
    }

    /// A share of `cost` permits, once that many are free. Waiters are
    /// served in order.
    pub async fn take(&self, cost: u32) -> BacklogShare {
        let cost = cost.min(self.limit);
        let permits = Arc::clone(&self.permits);
        // The semaphore is never closed.
        let permit = permits.acquire_many_owned(cost).await.ok();
        BacklogShare { permit }
    }

    /// Permits free now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_proto::nlri::Nlri;

    fn update_with(prefixes: usize) -> Update {
        let mut update = Update::default();
        for i in 0..prefixes {
            let prefix = ipnetwork::Ipv4Network::new([10, (i >> 8) as u8, i as u8, 0].into(), 24);
            update.nlri.push(Nlri::new(prefix.expect("valid").into()));
        }
        update
    }

    #[test]
    fn an_update_costs_its_prefixes_and_at_most_the_whole_backlog() {
        let backlog = RouteBacklog::new(100);
        assert_eq!(backlog.cost(&update_with(0)), 0);
        assert_eq!(backlog.cost(&update_with(7)), 7);
        assert_eq!(backlog.cost(&update_with(300)), 100);
        let mut withdrawing = update_with(3);
        withdrawing.withdrawn = update_with(4).nlri;
        assert_eq!(backlog.cost(&withdrawing), 7);
    }

    #[test]
    fn permits_return_when_the_share_is_dropped() {
        let backlog = RouteBacklog::new(10);
        let first = backlog.try_take(6).expect("free");
        assert_eq!(backlog.available(), 4);
        assert!(backlog.try_take(5).is_none());
        drop(first);
        assert_eq!(backlog.available(), 10);
        // A share larger than the backlog takes all of it.
        let all = backlog.try_take(50).expect("the whole backlog");
        assert_eq!(backlog.available(), 0);
        assert!(all.is_held());
    }

    #[tokio::test]
    async fn a_waiting_take_completes_when_permits_return() {
        let backlog = RouteBacklog::new(10);
        let held = backlog.try_take(10).expect("free");
        let waiter = {
            let backlog = backlog.clone();
            tokio::spawn(async move { backlog.take(4).await.is_held() })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(held);
        assert!(waiter.await.expect("joined"));
        assert_eq!(backlog.available(), 10);
    }
}

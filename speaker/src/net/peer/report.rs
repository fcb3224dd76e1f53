//! What the peer task tells the core: the [`PeerInfo`] of an Established
//! session, and whether a session that went down ended gracefully.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bgp_proto::PeerType;
use bgp_proto::iana::notification as code;
use bgp_proto::message::Notification;
use bgp_proto::session::{DownReason, Negotiated};

use crate::config::PeerOptions;
use crate::types::{PeerId, PeerInfo, PeerRole};

/// The record of an Established session (RFC 4456 section 6 for the role,
/// section 7 for the cluster ID: the peer's own, else the speaker's).
pub(crate) fn peer_info(
    id: PeerId,
    address: IpAddr,
    options: &PeerOptions,
    cluster_id: Ipv4Addr,
    negotiated: Arc<Negotiated>,
) -> PeerInfo {
    let role = match negotiated.peer_type {
        PeerType::External => PeerRole::External,
        PeerType::Internal if options.route_reflector_client => PeerRole::ReflectorClient,
        PeerType::Internal => PeerRole::Internal,
    };
    PeerInfo {
        id,
        address,
        peer_as: negotiated.peer_as,
        local_as: negotiated.local_as,
        router_id: negotiated.peer_id,
        role,
        cluster_id: options.cluster_id.unwrap_or(cluster_id),
        negotiated,
    }
}

/// Should the peer's routes be kept as stale (RFC 4724 section 4.2)?
///
/// Only when both sides announced Graceful Restart, and the session ended
/// without a NOTIFICATION: the TCP connection was lost, or the hold timer
/// expired (the peer went silent, as a restarting speaker does). When both
/// sides also set the N bit (RFC 8538 section 4), any NOTIFICATION sent or
/// received except Cease / Hard Reset is graceful too. Our own stop
/// ([`DownReason::Stopped`]) never is.
pub(crate) fn graceful(negotiated: &Negotiated, our_n_bit: bool, reason: &DownReason) -> bool {
    if !negotiated.graceful_restart {
        return false;
    }
    let n_bit = our_n_bit
        && negotiated
            .peer_graceful_restart
            .as_ref()
            .is_some_and(|gr| gr.notification);
    let hard_reset =
        |n: &Notification| n.code == code::CEASE && n.subcode == code::cease::HARD_RESET;
    match reason {
        DownReason::ConnectionLost => true,
        DownReason::NotificationSent(n) if n.code == code::HOLD_TIMER_EXPIRED => true,
        DownReason::NotificationSent(n) | DownReason::NotificationReceived(n) => {
            n_bit && !hard_reset(n)
        }
        DownReason::Stopped(_) | DownReason::ConnectRetry => false,
    }
}

/// `DownReason` for logs.
pub(crate) struct ShowReason<'a>(pub &'a DownReason);

impl fmt::Display for ShowReason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            DownReason::Stopped(n) => write!(f, "stopped, sent {n}"),
            DownReason::NotificationSent(n) => write!(f, "sent {n}"),
            DownReason::NotificationReceived(n) => write!(f, "received {n}"),
            DownReason::ConnectionLost => f.write_str("connection lost"),
            DownReason::ConnectRetry => f.write_str("connect retry"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_proto::capability::{Capability, GracefulRestart};
    use bgp_proto::message::Open;

    fn negotiated(ours: bool, theirs: Option<bool>) -> Negotiated {
        let gr = |n| {
            Capability::GracefulRestart(GracefulRestart {
                notification: n,
                restart_time: 120,
                ..GracefulRestart::default()
            })
        };
        let local = Open::new(
            1,
            90,
            Ipv4Addr::new(1, 1, 1, 1),
            if ours { vec![gr(true)] } else { vec![] },
        );
        let remote = Open::new(
            2,
            90,
            Ipv4Addr::new(2, 2, 2, 2),
            theirs.map(gr).into_iter().collect(),
        );
        Negotiated::new(&local, &remote, None)
    }

    #[test]
    fn rfc4724_4_2_connection_loss_and_hold_timer_are_graceful() {
        let n = negotiated(true, Some(false));
        assert!(graceful(&n, false, &DownReason::ConnectionLost));
        assert!(graceful(
            &n,
            false,
            &DownReason::NotificationSent(Notification::hold_timer_expired())
        ));
        let cease = Notification::new(
            code::CEASE,
            code::cease::ADMINISTRATIVE_RESET,
            Default::default(),
        );
        assert!(!graceful(
            &n,
            false,
            &DownReason::NotificationReceived(cease.clone())
        ));
        assert!(!graceful(&n, false, &DownReason::Stopped(cease)));
        assert!(!graceful(
            &negotiated(false, Some(false)),
            false,
            &DownReason::ConnectionLost
        ));
        assert!(!graceful(
            &negotiated(true, None),
            false,
            &DownReason::ConnectionLost
        ));
    }

    #[test]
    fn rfc8538_4_notifications_are_graceful_except_hard_reset() {
        let n = negotiated(true, Some(true));
        let cease = Notification::new(
            code::CEASE,
            code::cease::ADMINISTRATIVE_RESET,
            Default::default(),
        );
        assert!(graceful(
            &n,
            true,
            &DownReason::NotificationReceived(cease.clone())
        ));
        assert!(!graceful(
            &n,
            false,
            &DownReason::NotificationReceived(cease.clone())
        ));
        let hard = Notification::hard_reset(&cease);
        assert!(!graceful(&n, true, &DownReason::NotificationReceived(hard)));
    }
}

//! From a peer's [`PeerOptions`] to the [`SessionConfig`] of its state
//! machine, capabilities included.

use std::net::Ipv4Addr;
use std::time::Duration;

use bgp_proto::capability::{Capability, GracefulRestart, graceful_restart::MAX_RESTART_TIME};
use bgp_proto::session::SessionConfig;

use crate::config::PeerOptions;

/// The session configuration for a peer with `options`, when the speaker
/// is `local_as` with identifier `router_id`.
///
/// Hold times 1 and 2, which RFC 4271 section 4.2 forbids, become 3.
/// `send_hold_time` overrides the RFC 9687 default when set.
pub fn session_config(
    options: &PeerOptions,
    local_as: u32,
    router_id: Ipv4Addr,
    send_hold_time: Option<Duration>,
) -> SessionConfig {
    let mut config = SessionConfig::new(
        options.local_as.unwrap_or(local_as),
        router_id,
        options.peer_as.clone(),
    );
    config.hold_time = match options.hold_time {
        1 | 2 => 3,
        hold => hold,
    };
    config.keepalive = options.keepalive;
    config.connect_retry = options.connect_retry;
    config.passive = options.passive;
    config.auto_restart = true;
    config.send_hold_time = send_hold_time;
    config.capabilities = capabilities(options);
    config
}

/// The capabilities we announce (RFC 5492) to a peer with `options`:
///
/// - Multiprotocol (RFC 4760 section 8), one per family;
/// - Route Refresh (RFC 2918) and Enhanced Route Refresh (RFC 7313);
/// - Extended Message (RFC 8654);
/// - ADD-PATH (RFC 7911) for the configured families that are negotiated;
/// - Graceful Restart (RFC 4724 section 3) when enabled: our restart time,
///   the R bit when we are restarting, and every family with the F bit set
///   when we are restarting with forwarding state preserved. The N bit of
///   RFC 8538 is not announced: it would oblige us to send Hard Reset
///   instead of the plain Cease the state machine sends on a stop.
///
/// 4-octet AS (RFC 6793) is added by the state machine.
pub fn capabilities(options: &PeerOptions) -> Vec<Capability> {
    let mut caps: Vec<Capability> = options
        .families
        .iter()
        .map(|&family| Capability::Multiprotocol(family))
        .collect();
    caps.push(Capability::RouteRefresh);
    caps.push(Capability::EnhancedRouteRefresh);
    caps.push(Capability::ExtendedMessage);
    let add_path: Vec<_> = options
        .add_path
        .iter()
        .filter(|(family, _)| options.families.contains(family))
        .copied()
        .collect();
    if !add_path.is_empty() {
        caps.push(Capability::AddPath(add_path));
    }
    let gr = &options.graceful_restart;
    if gr.enabled {
        caps.push(Capability::GracefulRestart(GracefulRestart {
            restart_state: gr.restarting,
            notification: false,
            restart_time: gr.restart_time.min(MAX_RESTART_TIME),
            families: options
                .families
                .iter()
                .map(|&family| (family, gr.restarting))
                .collect(),
        }));
    }
    caps
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_proto::capability::AddPathMode;
    use bgp_proto::iana::AfiSafi;
    use bgp_proto::session::PeerAs;

    #[test]
    fn capabilities_follow_the_options() {
        let mut options = PeerOptions::new(PeerAs::Exact(65001));
        options.families = vec![AfiSafi::IPV4_UNICAST];
        options.add_path = vec![
            (AfiSafi::IPV4_UNICAST, AddPathMode::Both),
            (AfiSafi::IPV6_UNICAST, AddPathMode::Send),
        ];
        options.graceful_restart.restart_time = 5000;
        options.graceful_restart.restarting = true;
        options.hold_time = 2;
        let config = session_config(&options, 65000, Ipv4Addr::new(192, 0, 2, 1), None);
        assert_eq!(config.hold_time, 3);
        assert_eq!(config.local_as, 65000);
        let caps = &config.capabilities;
        assert!(caps.contains(&Capability::Multiprotocol(AfiSafi::IPV4_UNICAST)));
        assert!(!caps.contains(&Capability::Multiprotocol(AfiSafi::IPV6_UNICAST)));
        assert!(caps.contains(&Capability::AddPath(vec![(
            AfiSafi::IPV4_UNICAST,
            AddPathMode::Both
        )])));
        let gr = caps
            .iter()
            .find_map(|c| match c {
                Capability::GracefulRestart(gr) => Some(gr),
                _ => None,
            })
            .unwrap();
        assert_eq!(gr.restart_time, MAX_RESTART_TIME);
        assert!(gr.restart_state);
        assert_eq!(gr.forwarding_preserved(AfiSafi::IPV4_UNICAST), Some(true));
        options.graceful_restart.enabled = false;
        options.local_as = Some(65002);
        let config = session_config(&options, 65000, Ipv4Addr::new(192, 0, 2, 1), None);
        assert_eq!(config.local_as, 65002);
        assert!(
            !config
                .capabilities
                .iter()
                .any(|c| matches!(c, Capability::GracefulRestart(_)))
        );
    }
}

//! Connection collisions (RFC 4271 section 6.8; RFC 4724 section 4.2).
//!
//! While the session has a connection in OpenSent or OpenConfirm (or is
//! Established with graceful restart), a connection the peer opens runs as
//! a *candidate*: a second state machine that sends our OPEN and waits for
//! the peer's. Once the candidate has the peer's OPEN, and so its BGP
//! Identifier, [`decide`] says which connection stays.

use std::net::Ipv4Addr;

use bgp_proto::session::{CollisionWinner, State, resolve_collision};

/// The main session as the resolution sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Main {
    /// Its state.
    pub state: State,
    /// Whether its connection is one we opened (`None` without connection).
    pub outbound: Option<bool>,
    /// Established with graceful restart negotiated (both sides announced it).
    pub graceful_restart: bool,
}

/// The candidate session as the resolution sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// Its state.
    pub state: State,
    /// The peer's BGP Identifier, once its OPEN arrived.
    pub peer_id: Option<Ipv4Addr>,
    /// The peer announced Graceful Restart in that OPEN.
    pub peer_graceful_restart: bool,
}

/// What to do with the two connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// Not yet decidable: the candidate has no OPEN yet.
    Wait,
    /// Keep the main connection; Cease 7 on the candidate.
    DumpCandidate,
    /// Keep the candidate; Cease 7 on the main connection.
    DumpMain,
    /// The main session has no connection any more: the candidate takes over.
    Adopt,
    /// The peer restarted while we still held its Established session
    /// (RFC 4724 section 4.2): close the old connection without a
    /// NOTIFICATION, keeping its routes as stale, and use the new one.
    ReplaceEstablished,
}

/// Resolve a collision. `local_id` is our BGP Identifier; `running` is
/// false once the session has been stopped.
pub(crate) fn decide(local_id: Ipv4Addr, running: bool, main: Main, cand: Candidate) -> Resolution {
    let established_without_gr = main.state == State::Established && !main.graceful_restart;
    if !running || established_without_gr || cand.state == State::Idle {
        return Resolution::DumpCandidate;
    }
    let Some(peer_id) = cand.peer_id else {
        return Resolution::Wait;
    };
    match main.state {
        State::Idle | State::Connect | State::Active => Resolution::Adopt,
        State::Established if cand.peer_graceful_restart => Resolution::ReplaceEstablished,
        State::Established => Resolution::DumpCandidate,
        State::OpenSent | State::OpenConfirm => match main.outbound {
            // Both connections came from the peer: it gave up the older one.
            Some(false) | None => Resolution::DumpMain,
            // Section 6.8: the connection opened by the higher identifier wins.
            Some(true) => match resolve_collision(local_id, peer_id) {
                CollisionWinner::Ours => Resolution::DumpCandidate,
                CollisionWinner::Theirs => Resolution::DumpMain,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOW: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const HIGH: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    fn main(state: State, outbound: Option<bool>, gr: bool) -> Main {
        Main {
            state,
            outbound,
            graceful_restart: gr,
        }
    }

    fn cand(peer_id: Option<Ipv4Addr>, gr: bool) -> Candidate {
        Candidate {
            state: if peer_id.is_some() {
                State::OpenConfirm
            } else {
                State::OpenSent
            },
            peer_id,
            peer_graceful_restart: gr,
        }
    }

    #[test]
    fn rfc4271_6_8_higher_identifier_keeps_its_own_connection() {
        let ours = main(State::OpenSent, Some(true), false);
        assert_eq!(
            decide(HIGH, true, ours, cand(Some(LOW), false)),
            Resolution::DumpCandidate
        );
        assert_eq!(
            decide(LOW, true, ours, cand(Some(HIGH), false)),
            Resolution::DumpMain
        );
        let confirm = main(State::OpenConfirm, Some(true), false);
        assert_eq!(
            decide(LOW, true, confirm, cand(Some(HIGH), false)),
            Resolution::DumpMain
        );
        assert_eq!(
            decide(LOW, true, confirm, cand(None, false)),
            Resolution::Wait
        );
    }

    #[test]
    fn rfc4271_6_8_established_session_wins() {
        let up = main(State::Established, Some(true), false);
        assert_eq!(
            decide(LOW, true, up, cand(None, false)),
            Resolution::DumpCandidate
        );
        assert_eq!(
            decide(LOW, true, up, cand(Some(HIGH), true)),
            Resolution::DumpCandidate
        );
    }

    #[test]
    fn rfc4724_4_2_restarted_peer_replaces_the_established_session() {
        let up = main(State::Established, Some(false), true);
        assert_eq!(decide(LOW, true, up, cand(None, true)), Resolution::Wait);
        assert_eq!(
            decide(LOW, true, up, cand(Some(HIGH), true)),
            Resolution::ReplaceEstablished
        );
        assert_eq!(
            decide(LOW, true, up, cand(Some(HIGH), false)),
            Resolution::DumpCandidate
        );
    }

    #[test]
    fn without_a_main_connection_the_candidate_takes_over() {
        for state in [State::Idle, State::Connect, State::Active] {
            assert_eq!(
                decide(LOW, true, main(state, None, false), cand(Some(HIGH), false)),
                Resolution::Adopt
            );
        }
        let stopped = main(State::Idle, None, false);
        assert_eq!(
            decide(LOW, false, stopped, cand(Some(HIGH), false)),
            Resolution::DumpCandidate
        );
        let inbound = main(State::OpenSent, Some(false), false);
        assert_eq!(
            decide(HIGH, true, inbound, cand(Some(LOW), false)),
            Resolution::DumpMain
        );
    }
}

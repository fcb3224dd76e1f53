//! Writing many routes at once with several netlink requests in flight.
//!
//! [`RouteWriter::set_many`] decides every prefix from the writer's state
//! first (unchanged, foreign, create, replace, delete), then sends the
//! requests from the caller's task on the writer's own request socket,
//! up to [`IN_FLIGHT`] in one datagram, and matches each ack (or
//! `NLMSG_ERROR`) to its request by sequence number (netlink(7),
//! `nlmsg_seq`; see [`super::requests`]). Each prefix gets its own outcome or error, as with
//! [`RouteWriter::set`]. The rare create that meets a route with our key
//! (`EEXIST`) is retried alone through the one-at-a-time path, which
//! adopts it.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::RouteNetlinkMessage;

use super::{EEXIST, ESRCH, Outcome, RouteWriter, WriterError, message};
use crate::kernel::netlink::NetlinkError;

/// Requests in one datagram at most (the kernel answers each as it
/// processes it, so this bounds the acks queued on our socket).
pub const IN_FLIGHT: usize = 256;

/// One request to send.
enum Op {
    Create(IpNetwork, Vec<IpAddr>),
    Replace(IpNetwork, Vec<IpAddr>),
    Delete(IpNetwork),
}

impl Op {
    fn prefix(&self) -> IpNetwork {
        match self {
            Op::Create(p, _) | Op::Replace(p, _) | Op::Delete(p) => *p,
        }
    }
}

/// What the kernel said to one request.
type Answer = (Op, Result<(), NetlinkError>);

impl RouteWriter {
    /// Install (gateways given) or remove (none) many prefixes, as
    /// [`RouteWriter::set`] and [`RouteWriter::remove`] would one by one;
    /// when a prefix appears twice the last entry wins. Returns each
    /// prefix's outcome, in no particular order.
    pub async fn set_many(
        &mut self,
        routes: Vec<(IpNetwork, Vec<IpAddr>)>,
    ) -> Vec<(IpNetwork, Result<Outcome, WriterError>)> {
        let mut seen = HashSet::new();
        let mut results = Vec::new();
        let mut ops = Vec::new();
        for (prefix, gateways) in routes.into_iter().rev() {
            if !seen.insert(prefix) {
                continue;
            }
            match self.plan(prefix, gateways) {
                Ok(outcome) => results.push((prefix, Ok(outcome))),
                Err(op) => ops.push(op),
            }
        }
        let placement = self.config.placement;
        let requests: Vec<(RouteNetlinkMessage, u16)> = ops
            .iter()
            .map(|op| match op {
                Op::Create(prefix, gateways) => (
                    RouteNetlinkMessage::NewRoute(message::install_message(
                        *prefix, gateways, placement,
                    )),
                    NLM_F_CREATE | NLM_F_EXCL,
                ),
                Op::Replace(prefix, gateways) => (
                    RouteNetlinkMessage::NewRoute(message::install_message(
                        *prefix, gateways, placement,
                    )),
                    NLM_F_CREATE | NLM_F_REPLACE,
                ),
                Op::Delete(prefix) => (
                    RouteNetlinkMessage::DelRoute(message::delete_message(*prefix, placement)),
                    0,
                ),
            })
            .collect();
        let answers: Vec<Answer> = match self.requests.exchange(requests).await {
            Ok(kernel) => ops
                .into_iter()
                .zip(kernel)
                .map(|(op, answer)| {
                    let what = match op {
                        Op::Delete(_) => "delete route",
                        _ => "install route",
                    };
                    let result = answer.map_err(|error| {
                        NetlinkError::request(what, rtnetlink::Error::NetlinkError(error))
                    });
                    (op, result)
                })
                .collect(),
            Err(error) => ops
                .into_iter()
                .map(|op| {
                    let copy = std::io::Error::new(error.kind(), error.to_string());
                    (op, Err(NetlinkError::Socket(copy)))
                })
                .collect(),
        };
        for (op, result) in answers {
            let prefix = op.prefix();
            let outcome = self.settle(op, result).await;
            results.push((prefix, outcome));
        }
        results
    }

    /// Update the state for `prefix` and say what it needs: an outcome
    /// already (`Ok`), or a request to send (`Err`).
    fn plan(&mut self, prefix: IpNetwork, gateways: Vec<IpAddr>) -> Result<Outcome, Op> {
        let mut gateways: Vec<IpAddr> = gateways
            .into_iter()
            .filter(|g| g.is_ipv4() == prefix.is_ipv4())
            .collect();
        gateways.sort();
        gateways.dedup();
        if gateways.is_empty() {
            self.wanted.remove(&prefix);
            self.stale.remove(&prefix);
            return match self.installed.remove(&prefix) {
                Some(_) => Err(Op::Delete(prefix)),
                None => Ok(Outcome::Absent),
            };
        }
        self.wanted.insert(prefix, gateways.clone());
        if self.is_foreign(prefix) {
            self.stats.foreign += 1;
            tracing::warn!(%prefix, "a route of another protocol holds this prefix: not installing");
            return Ok(Outcome::Foreign);
        }
        match self.installed.get(&prefix) {
            Some(current) if *current == gateways => {
                self.stale.remove(&prefix);
                Ok(Outcome::Unchanged)
            }
            Some(_) => Err(Op::Replace(prefix, gateways)),
            None => Err(Op::Create(prefix, gateways)),
        }
    }

    /// Record the kernel's answer to one request.
    async fn settle(
        &mut self,
        op: Op,
        result: Result<(), NetlinkError>,
    ) -> Result<Outcome, WriterError> {
        match (op, result) {
            (Op::Create(prefix, gateways), Ok(())) => {
                self.stale.remove(&prefix);
                self.installed.insert(prefix, gateways);
                self.stats.installed += 1;
                Ok(Outcome::Installed)
            }
            (Op::Replace(prefix, gateways), Ok(())) => {
                self.stale.remove(&prefix);
                self.installed.insert(prefix, gateways);
                self.stats.replaced += 1;
                Ok(Outcome::Replaced)
            }
            (Op::Delete(_), Ok(())) => {
                self.stats.removed += 1;
                Ok(Outcome::Removed)
            }
            (Op::Delete(_), Err(e)) if e.errno() == Some(ESRCH) => Ok(Outcome::Absent),
            (Op::Create(prefix, _), Err(e)) if e.errno() == Some(EEXIST) => {
                // A route with our key we did not know of: the
                // one-at-a-time path adopts or yields to it.
                self.write(prefix).await
            }
            (op, Err(source)) => {
                self.stats.failed += 1;
                Err(WriterError::Kernel {
                    prefix: op.prefix(),
                    source,
                })
            }
        }
    }
}

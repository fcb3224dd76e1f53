//! Writing many routes at once with several netlink requests in flight.
//!
//! [`RouteWriter::set_many`] decides every prefix from the writer's state
//! first (unchanged, foreign, create, replace, delete), then sends the
//! requests without waiting for each ack: up to [`IN_FLIGHT`] at a time
//! on the writer's rtnetlink connection, whose task matches each ack (or
//! `NLMSG_ERROR`) to its request by sequence number (netlink(7),
//! `nlmsg_seq`). Each prefix gets its own outcome or error, as with
//! [`RouteWriter::set`]. The rare create that meets a route with our key
//! (`EEXIST`) is retried alone through the one-at-a-time path, which
//! adopts it.

use std::collections::HashSet;
use std::net::IpAddr;

use futures::StreamExt;
use ipnetwork::IpNetwork;

use super::{EEXIST, ESRCH, Outcome, RouteWriter, WriterError, message};
use crate::kernel::netlink::NetlinkError;

/// Requests in flight at most (the kernel answers each as it processes
/// it, so this only bounds the acks queued on our socket).
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
        let handle = self.handle.clone();
        let placement = self.config.placement;
        let answers: Vec<Answer> = futures::stream::iter(ops)
            .map(|op| {
                let handle = handle.clone();
                async move {
                    let result = match &op {
                        Op::Create(prefix, gateways) | Op::Replace(prefix, gateways) => {
                            let install = message::install_message(*prefix, gateways, placement);
                            let request = handle.route().add(install);
                            let request = match op {
                                Op::Replace(..) => request.replace(),
                                _ => request,
                            };
                            request
                                .execute()
                                .await
                                .map_err(|e| NetlinkError::request("install route", e))
                        }
                        Op::Delete(prefix) => handle
                            .route()
                            .del(message::delete_message(*prefix, placement))
                            .execute()
                            .await
                            .map_err(|e| NetlinkError::request("delete route", e)),
                    };
                    (op, result)
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
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

//! Keeping the writer's picture of its table current from the reader's
//! changes (routes of other protocols, and ours deleted or replaced
//! behind its back).

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::{Outcome, RouteWriter, WriterError};
use crate::kernel::netlink;
use crate::kernel::route::{LinkNames, RouteChange, decode_route};

impl RouteWriter {
    /// Take note of a change of the kernel's routes (from the reader):
    /// routes of other protocols in our table come and go, and ours may
    /// be deleted or replaced behind our back. Writes what that makes
    /// possible or necessary.
    pub async fn observe(&mut self, change: &RouteChange) -> Result<Option<Outcome>, WriterError> {
        let route = change.route();
        let placement = self.config.placement;
        if route.key.table != placement.table {
            return Ok(None);
        }
        let prefix = route.key.prefix;
        let ours = placement.is_ours(&route.key, route.protocol);
        match change {
            RouteChange::Upsert(_) if ours => {
                // The route at this key is ours now: nothing else is there.
                self.foreign.remove(&route.key);
                Ok(None)
            }
            RouteChange::Upsert(_) => {
                self.foreign.insert(route.key);
                if route.key.metric == placement.metric_for(prefix)
                    && self.installed.remove(&prefix).is_some()
                {
                    // Replaced by someone else: it is theirs now.
                    tracing::warn!(%prefix, protocol = route.protocol, "our route was replaced by another protocol's");
                }
                Ok(None)
            }
            RouteChange::Removed(_) if ours => {
                // Deleted behind our back (or by us): put it back if wanted.
                // The notification may be older than a route we installed
                // since (removed, then learned again): ask the kernel.
                if !self.installed.contains_key(&prefix)
                    || self.our_route_in_kernel(prefix).await?.is_some()
                {
                    return Ok(None);
                }
                self.installed.remove(&prefix);
                if self.wanted.contains_key(&prefix) {
                    return self.write(prefix).await.map(Some);
                }
                Ok(None)
            }
            RouteChange::Removed(_) => {
                if self.foreign.remove(&route.key) && self.wanted.contains_key(&prefix) {
                    return self.write(prefix).await.map(Some);
                }
                Ok(None)
            }
        }
    }

    /// The next hops of our route to `prefix` as the kernel holds it now
    /// (a dump of the family: for the rare cases that need certainty).
    pub(super) async fn our_route_in_kernel(
        &self,
        prefix: IpNetwork,
    ) -> Result<Option<Vec<IpAddr>>, WriterError> {
        let placement = self.config.placement;
        let routes = netlink::dump_routes(&self.handle, prefix.network()).await?;
        Ok(routes
            .iter()
            .filter_map(|m| decode_route(m, &LinkNames::new()).ok())
            .find(|r| r.key.prefix == prefix && placement.is_ours(&r.key, r.protocol))
            .map(|r| {
                let mut gateways: Vec<IpAddr> =
                    r.next_hops.iter().filter_map(|h| h.gateway).collect();
                gateways.sort();
                gateways
            }))
    }
}

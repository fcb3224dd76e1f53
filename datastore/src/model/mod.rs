//! Calico's `projectcalico.org/v3` resources, read and written in Calico's JSON.
//!
//! Field names are Calico's (camelCase, with Calico's spelling of acronyms:
//! `peerIP`, `routeReflectorClusterID`, `disableBGPExport`). Every struct that
//! matters keeps the fields it does not model in an `extra` map (serde `flatten`),
//! so a resource written by a newer Calico survives a read-modify-write intact.
//! Zero values are omitted on write, as Go's `omitempty` does.

mod bgp;
mod kind;
mod meta;
mod network;
pub mod numorstring;
mod policy;
mod resource;
#[cfg(test)]
mod tests;

pub use bgp::{
    BgpConfigurationSpec, BgpPassword, BgpPeerSpec, CidrBlock, Community, NextHopMode, NodeAddress,
    NodeBgpSpec, NodeSpec, PrefixAdvertisement, ReversePeering, SecretKeySelector, SourceAddress,
};
pub use kind::{API_VERSION, KEY_PREFIX, Kind, ResourceKey};
pub use meta::{Labels, ObjectMeta};
pub use network::{EncapMode, EndpointPort, IpNat, IpPoolSpec, WorkloadEndpointSpec};
pub use numorstring::{AsNumber, GoDuration, Port, Protocol};
pub use policy::{
    Action, EntityRule, GlobalNetworkPolicySpec, IcmpFields, NetworkPolicySpec, PolicyType,
    ProfileSpec, Rule,
};
pub use resource::{
    BgpConfiguration, BgpPeer, GlobalNetworkPolicy, IpPool, NetworkPolicy, Node, Object, Profile,
    Resource, Spec, WorkloadEndpoint,
};

/// `skip_serializing_if` helper: Go's `omitempty` for `bool`.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

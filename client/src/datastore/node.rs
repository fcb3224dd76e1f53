//! The node's own `Node` resource: created or updated on start (and after
//! each reconnection, and when it was deleted) with the fields the client
//! owns: `spec.bgp.ipv4Address` and `ipv6Address` (with their prefix
//! lengths) and, when configured, `spec.bgp.asNumber`. Every other field
//! (labels, `routeReflectorClusterID`, `orchRefs`, fields unknown to the
//! model) is kept as it was. Writes are compare-and-swap on the resource
//! version, retried on a conflict.

use ipnetwork::IpNetwork;
use reflex_datastore::model::{AsNumber, Kind, Node, NodeBgpSpec, NodeSpec, Resource, ResourceKey};
use reflex_datastore::store::{Datastore, Precondition};
use reflex_datastore::{DatastoreError, Snapshot};

/// What the client writes into its Node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnNode {
    /// The Node's name.
    pub name: String,
    /// `spec.bgp.ipv4Address`.
    pub ipv4: Option<IpNetwork>,
    /// `spec.bgp.ipv6Address`.
    pub ipv6: Option<IpNetwork>,
    /// `spec.bgp.asNumber`, when the file or the command line gives one.
    pub asn: Option<u32>,
}

impl OwnNode {
    /// `existing` with our fields, or `None` when it already has them.
    pub fn merge(&self, existing: Option<&Node>) -> Option<Node> {
        let mut node = match existing {
            Some(n) => n.clone(),
            None => Node::new(self.name.clone(), NodeSpec::default()),
        };
        let before = existing.map(|n| n.spec.clone());
        let bgp = node.spec.bgp.get_or_insert_with(NodeBgpSpec::default);
        if let Some(v4) = self.ipv4 {
            bgp.ipv4_address = v4.to_string();
        }
        if let Some(v6) = self.ipv6 {
            bgp.ipv6_address = v6.to_string();
        }
        if let Some(asn) = self.asn {
            bgp.as_number = Some(AsNumber(asn));
        }
        (before.as_ref() != Some(&node.spec)).then_some(node)
    }

    /// Does the snapshot's Node have our fields?
    pub fn is_registered(&self, snapshot: &Snapshot) -> bool {
        snapshot
            .node(&self.name)
            .is_some_and(|n| self.merge(Some(n)).is_none())
    }

    /// Create or update the Node in `store`; `Ok(true)` when written,
    /// `Ok(false)` when it already had our fields.
    pub async fn register<D: Datastore>(&self, store: &D) -> Result<bool, DatastoreError> {
        let key = ResourceKey::global(Kind::Node, self.name.clone());
        let mut attempts = 0;
        loop {
            attempts += 1;
            let existing = match store.get(&key).await? {
                Some(Resource::Node(n)) => Some(n),
                _ => None,
            };
            let Some(node) = self.merge(existing.as_ref()) else {
                return Ok(false);
            };
            let precondition = match &existing {
                Some(n) => n
                    .metadata
                    .revision()
                    .map_or(Precondition::None, Precondition::Revision),
                None => Precondition::MustNotExist,
            };
            match store.put(&Resource::Node(node), precondition).await {
                Ok(_) => return Ok(true),
                // Someone else wrote it meanwhile: read it again.
                Err(DatastoreError::Conflict { .. }) if attempts < 5 => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reflex_datastore::cli::parse_documents;
    use reflex_datastore::store::memory::MemoryStore;

    fn own() -> OwnNode {
        OwnNode {
            name: "n1".into(),
            ipv4: Some("10.0.0.11/24".parse().unwrap()),
            ipv6: Some("fd00::11/64".parse().unwrap()),
            asn: None,
        }
    }

    #[tokio::test]
    async fn a_new_node_is_created_and_an_existing_one_keeps_what_we_do_not_own() {
        let store = MemoryStore::new();
        assert!(own().register(&store).await.unwrap());
        let key = ResourceKey::global(Kind::Node, "n1");
        let Some(Resource::Node(n)) = store.get(&key).await.unwrap() else {
            panic!("no node");
        };
        let bgp = n.spec.bgp.as_ref().unwrap();
        assert_eq!(bgp.ipv4_address, "10.0.0.11/24");
        assert_eq!(bgp.ipv6_address, "fd00::11/64");
        assert_eq!(bgp.as_number, None);
        // Nothing to do the second time.
        assert!(!own().register(&store).await.unwrap());

        // An operator's node with labels, a cluster id, an old address and
        // fields the model does not know.
        let yaml = r#"
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1, labels: {rack: a1}, annotations: {note: kept}}
spec:
  orchRefs: [{nodeName: n1, orchestrator: k8s}]
  bgp: {ipv4Address: 192.0.2.1/24, routeReflectorClusterID: 224.0.0.1, futureField: 7}
status: {podCIDRs: [10.65.1.0/24]}
"#;
        let r = parse_documents(yaml).unwrap().remove(0);
        store.put(&r, Precondition::None).await.unwrap();
        let mut with_as = own();
        with_as.asn = Some(64513);
        assert!(with_as.register(&store).await.unwrap());
        let Some(Resource::Node(n)) = store.get(&key).await.unwrap() else {
            panic!("no node");
        };
        let json = serde_json::to_value(&n).unwrap();
        assert_eq!(json["metadata"]["labels"]["rack"], "a1");
        assert_eq!(json["metadata"]["annotations"]["note"], "kept");
        assert_eq!(json["spec"]["orchRefs"][0]["nodeName"], "n1");
        assert_eq!(json["spec"]["bgp"]["routeReflectorClusterID"], "224.0.0.1");
        assert_eq!(json["spec"]["bgp"]["futureField"], 7);
        assert_eq!(json["spec"]["bgp"]["ipv4Address"], "10.0.0.11/24");
        assert_eq!(json["spec"]["bgp"]["asNumber"], 64513);
        assert_eq!(json["status"]["podCIDRs"][0], "10.65.1.0/24");
        let snapshot = Snapshot::from_resources([Resource::Node(n)]);
        assert!(with_as.is_registered(&snapshot));
        assert!(!own().is_registered(&Snapshot::new()));
    }
}

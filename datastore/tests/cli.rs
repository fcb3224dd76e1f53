//! `apply` and `get` on the in-memory store.

use reflex_datastore::cli::{self, CliError};
use reflex_datastore::model::{Kind, Resource, ResourceKey};
use reflex_datastore::store::memory::MemoryStore;
use reflex_datastore::store::{Datastore, Precondition};

const MULTI_DOC_YAML: &str = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
spec:
  nodeToNodeMeshEnabled: false
  asNumber: 63400
  logSeverityScreen: Info
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: rr-1
  labels:
    route-reflector: "true"
spec:
  bgp:
    ipv4Address: 10.0.0.101/24
    routeReflectorClusterID: 224.0.0.1
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-1
spec:
  bgp:
    ipv4Address: 10.0.0.1/24
    asNumber: 65001
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: peer-with-route-reflectors
spec:
  nodeSelector: "!has(route-reflector)"
  peerSelector: has(route-reflector)
"#;

const LIST_YAML: &str = r#"
apiVersion: v1
kind: List
items:
- apiVersion: projectcalico.org/v3
  kind: IPPool
  metadata:
    name: pool-1
  spec:
    cidr: 192.168.0.0/16
    ipipMode: Always
    natOutgoing: true
- apiVersion: projectcalico.org/v3
  kind: NetworkPolicy
  metadata:
    name: allow-web
    namespace: prod
  spec:
    order: 10
    selector: app == 'web'
    ingress:
    - action: Allow
      protocol: TCP
      destination:
        ports: [80, "8000:8080"]
"#;

#[tokio::test]
async fn apply_yaml_json_and_lists_then_get() {
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryStore::new();

    let yaml = dir.path().join("rr.yaml");
    std::fs::write(&yaml, MULTI_DOC_YAML).unwrap();
    let applied = cli::apply_file(&store, &yaml).await.unwrap();
    assert_eq!(applied.len(), 4);
    assert_eq!(
        applied[0].key,
        ResourceKey::global(Kind::BgpConfiguration, "default")
    );

    let list = dir.path().join("list.yaml");
    std::fs::write(&list, LIST_YAML).unwrap();
    cli::apply_file(&store, &list).await.unwrap();

    let json = dir.path().join("peer.json");
    std::fs::write(
        &json,
        r#"{"apiVersion": "projectcalico.org/v3", "kind": "BGPPeerList", "items": [
             {"metadata": {"name": "tor"}, "spec": {"peerIP": "192.0.2.1", "asNumber": 65000}}]}
           {"apiVersion": "projectcalico.org/v3", "kind": "Profile", "metadata": {"name": "kns.prod"}}"#,
    )
    .unwrap();
    cli::apply_file(&store, &json).await.unwrap();

    let nodes = cli::get_by_name(&store, "nodes").await.unwrap();
    assert_eq!(
        nodes.to_string(),
        "NAME     ASN       IPV4            IPV6   RR CLUSTER ID\n\
         node-1   65001     10.0.0.1/24\n\
         rr-1     (63400)   10.0.0.101/24          224.0.0.1\n"
    );
    let peers = cli::get(&store, Kind::BgpPeer).await.unwrap();
    assert_eq!(
        peers.rows,
        [
            vec![
                "peer-with-route-reflectors",
                "has(route-reflector)",
                "!has(route-reflector)",
                ""
            ],
            vec!["tor", "192.0.2.1", "(global)", "65000"],
        ]
    );
    let pools = cli::get_by_name(&store, "ippool").await.unwrap();
    assert_eq!(
        pools.rows,
        [vec![
            "pool-1",
            "192.168.0.0/16",
            "all()",
            "Always",
            "Never",
            "true",
            "false"
        ]]
    );
    let pols = cli::get_by_name(&store, "networkpolicies").await.unwrap();
    assert_eq!(pols.rows, [vec!["prod", "allow-web", "10", "app == 'web'"]]);
    assert_eq!(
        cli::get_by_name(&store, "profiles")
            .await
            .unwrap()
            .rows
            .len(),
        1
    );
    assert!(matches!(
        cli::get_by_name(&store, "widgets").await,
        Err(CliError::UnknownKind(_))
    ));

    // Applying again replaces (no resourceVersion in the file: unconditional).
    let again = cli::apply_file(&store, &yaml).await.unwrap();
    assert!(again[0].revision > applied[3].revision);
}

#[tokio::test]
async fn apply_with_a_stale_resource_version_is_refused() {
    let store = MemoryStore::new();
    let mut r = cli::parse_documents(MULTI_DOC_YAML).unwrap().remove(1);
    store.put(&r, Precondition::None).await.unwrap();
    store.put(&r, Precondition::None).await.unwrap();
    r.metadata_mut().resource_version = Some("1".into());
    let err = cli::apply(&store, vec![r]).await.unwrap_err();
    assert!(matches!(err, CliError::Apply { .. }), "{err}");
    assert!(err.to_string().contains("conflict"), "{err}");
}

#[test]
fn parse_errors_name_the_document() {
    let bad_yaml =
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: a}\n---\nkind: [\n";
    let err = cli::parse_documents(bad_yaml).unwrap_err();
    assert!(matches!(err, CliError::Syntax { document: 2, .. }), "{err}");

    let bad_kind = "apiVersion: projectcalico.org/v3\nkind: Widget\nmetadata: {name: a}\n";
    let err = cli::parse_documents(bad_kind).unwrap_err();
    assert_eq!(
        err.to_string(),
        "document 1: unknown resource kind \"Widget\""
    );

    let bad_field = r#"{"apiVersion": "projectcalico.org/v3", "kind": "BGPPeer",
        "metadata": {"name": "p"}, "spec": {"peerIP": 7}}"#;
    let err = cli::parse_documents(bad_field).unwrap_err();
    assert!(err.to_string().contains("BGPPeer"), "{err}");

    let array = r#"[{"apiVersion": "projectcalico.org/v3", "kind": "Node", "metadata": {"name": "a"}},
                    {"apiVersion": "projectcalico.org/v3", "kind": "Node", "metadata": {"name": "b"}}]"#;
    let names: Vec<String> = cli::parse_documents(array)
        .unwrap()
        .iter()
        .map(|r: &Resource| r.name().to_string())
        .collect();
    assert_eq!(names, ["a", "b"]);
}

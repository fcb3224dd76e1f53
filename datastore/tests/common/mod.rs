//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use reflex_datastore::model::{
    BgpPeer, BgpPeerSpec, Node, NodeBgpSpec, NodeSpec, Resource, ResourceKey,
};
use reflex_datastore::store::{WatchEvent, WatchStream};

/// A Node with an IPv4 address.
pub fn node(name: &str, ip: &str) -> Resource {
    Node::new(
        name,
        NodeSpec {
            bgp: Some(NodeBgpSpec {
                ipv4_address: format!("{ip}/24"),
                ..NodeBgpSpec::default()
            }),
            ..NodeSpec::default()
        },
    )
    .into()
}

/// A BGPPeer to an address.
pub fn bgp_peer(name: &str, ip: &str) -> Resource {
    BgpPeer::new(
        name,
        BgpPeerSpec {
            peer_ip: ip.to_string(),
            ..BgpPeerSpec::default()
        },
    )
    .into()
}

/// The next event, within `secs`.
pub async fn next(stream: &mut WatchStream, secs: u64) -> WatchEvent {
    tokio::time::timeout(Duration::from_secs(secs), stream.next())
        .await
        .expect("timed out waiting for a watch event")
        .expect("watch stream ended")
        .expect("watch stream failed")
}

/// The next event that is not `InSync`.
pub async fn next_change(stream: &mut WatchStream, secs: u64) -> WatchEvent {
    loop {
        match next(stream, secs).await {
            WatchEvent::InSync { .. } => continue,
            other => return other,
        }
    }
}

/// Every event until none arrives for `quiet`.
pub async fn drain(stream: &mut WatchStream, quiet: Duration) -> Vec<WatchEvent> {
    let mut out = Vec::new();
    while let Ok(Some(item)) = tokio::time::timeout(quiet, stream.next()).await {
        out.push(item.expect("watch stream failed"));
    }
    out
}

/// A put or delete, summarised as `put NAME@REV` / `delete NAME`.
pub fn summary(e: &WatchEvent) -> Option<String> {
    match e {
        WatchEvent::Put(r) => Some(format!(
            "put {}@{}",
            r.name(),
            r.metadata().resource_version.as_deref().unwrap_or("?")
        )),
        WatchEvent::Delete { key, .. } => Some(format!("delete {}", key.name)),
        _ => None,
    }
}

/// The key of a global resource.
pub fn key_of(r: &Resource) -> ResourceKey {
    r.key().unwrap()
}

/// A CA, a server certificate for 127.0.0.1/localhost and a client certificate,
/// written as PEM files into `dir`: (ca, server cert, server key, client cert,
/// client key).
pub fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf, PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "reflex test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();

    let mut server = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    server.distinguished_name.push(DnType::CommonName, "etcd");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate().unwrap();
    let server_cert = server.signed_by(&server_key, &ca, &ca_key).unwrap();

    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client
        .distinguished_name
        .push(DnType::CommonName, "reflex-client");
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate().unwrap();
    let client_cert = client.signed_by(&client_key, &ca, &ca_key).unwrap();

    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    (
        write("ca.pem", ca.pem()),
        write("server.pem", server_cert.pem()),
        write("server-key.pem", server_key.serialize_pem()),
        write("client.pem", client_cert.pem()),
        write("client-key.pem", client_key.serialize_pem()),
    )
}

//! The `--etcd-*` flags against a real etcd: TLS with a client certificate
//! (an etcd that requires one), and user/password authentication with the
//! password from `ETCD_PASSWORD`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reflex_datastore::store::Datastore;
use reflex_datastore::store::etcd::EtcdStore;
use reflex_datastore::testing::{EtcdServer, ServerTls};

const BIN: &str = env!("CARGO_BIN_EXE_bgp-reflector");

const NODE: &str = r#"{"apiVersion": "projectcalico.org/v3", "kind": "Node",
 "metadata": {"name": "rr1"}, "spec": {"bgp": {"ipv4Address": "10.0.0.1/24"}}}"#;

fn cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("ETCD_PASSWORD")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A CA, a server certificate for 127.0.0.1/localhost and a client
/// certificate, as PEM files: (ca, server cert, server key, client cert,
/// client key).
fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf, PathBuf) {
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
        .push(DnType::CommonName, "bgp-reflector");
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

#[test]
fn tls_with_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key, client_cert, client_key) = make_certs(dir.path());
    let Some(etcd) = EtcdServer::start_with(Some(ServerTls {
        cert,
        key,
        client_ca: Some(ca.clone()),
    })) else {
        return;
    };
    let endpoint = etcd.endpoint();
    assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");
    let file = dir.path().join("rr1.json");
    std::fs::write(&file, NODE).unwrap();
    let tls = [
        "--etcd-endpoints",
        &endpoint,
        "--etcd-ca-cert-file",
        ca.to_str().unwrap(),
        "--etcd-cert-file",
        client_cert.to_str().unwrap(),
        "--etcd-key-file",
        client_key.to_str().unwrap(),
    ];
    let mut args = vec!["datastore", "apply", "-f", file.to_str().unwrap()];
    args.extend_from_slice(&tls);
    let out = cli(&args, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let mut args = vec!["datastore", "get", "nodes"];
    args.extend_from_slice(&tls);
    let out = cli(&args, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("rr1"), "{}", text(&out));
    // Half a client certificate is refused before connecting.
    let out = cli(
        &[
            "datastore",
            "get",
            "nodes",
            "--etcd-endpoints",
            &endpoint,
            "--etcd-cert-file",
            client_cert.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("needs both --etcd-cert-file and --etcd-key-file"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn user_and_password_from_the_environment() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let admin = EtcdStore::connect(etcd.config()).await.unwrap();
    let mut c = admin.client();
    c.user_add("root", "rootpw", None).await.unwrap();
    c.role_add("root").await.unwrap();
    c.user_grant_role("root", "root").await.unwrap();
    c.auth_enable().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rr1.json");
    std::fs::write(&file, NODE).unwrap();
    let endpoint = etcd.endpoint();
    let args = [
        "datastore",
        "apply",
        "-f",
        file.to_str().unwrap(),
        "--etcd-endpoints",
        &endpoint,
        "--etcd-username",
        "root",
    ];
    let out = cli(&args, &[("ETCD_PASSWORD", "rootpw")]);
    assert!(out.status.success(), "{}", text(&out));
    let out = cli(&args, &[("ETCD_PASSWORD", "wrong")]);
    assert!(!out.status.success(), "a wrong password was accepted");
    let out = cli(&args, &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("has no password"), "{}", text(&out));
    // Without credentials, etcd refuses reads.
    assert!(
        admin
            .list(reflex_datastore::model::Kind::Node)
            .await
            .is_err()
    );
}

//! `[datastore]` in the configuration file: its mistakes are reported with
//! line, column and field path, and a datastore-only file (no neighbours, no
//! dynamic ranges) is valid without the "no peers" warning.

use bgp_reflector::config::{self, schema::DatastoreType};

#[test]
fn datastore_mistakes_are_located() {
    let text = r#"[datastore]
type = "etcd"
node = "rr1"
etcd_endpoints = ["127.0.0.1:2379"]
etcd_cert_file = "/x.pem"
template = "nope"
status_ttl = 1
"#;
    let report = config::parse("ds.toml", text).unwrap_err();
    assert_eq!(
        report.lines(),
        [
            "ds.toml:4:19: datastore.etcd_endpoints[0]: `127.0.0.1:2379` is not an etcd client URL (http://HOST:PORT or https://HOST:PORT)",
            "ds.toml:5:18: datastore.etcd_cert_file: a client certificate needs both etcd_cert_file and etcd_key_file",
            "ds.toml:6:12: datastore.template: no template named `nope`",
            "ds.toml:7:14: datastore.status_ttl: status_ttl must be at least 3 seconds, not 1",
        ]
    );
    let unknown = config::parse("ds.toml", "[datastore]\ntype = \"kubernetes\"\n").unwrap_err();
    assert!(
        unknown.lines()[0].starts_with("ds.toml:2:8: datastore.type: unknown variant `kubernetes`"),
        "{:?}",
        unknown.lines()
    );
}

#[test]
fn a_datastore_only_file_is_valid() {
    let text = r#"[datastore]
type = "etcd"
node = "rr1"
etcd_endpoints = ["https://10.0.0.5:2379", "https://10.0.0.6:2379"]
etcd_ca_cert_file = "/etc/reflex/ca.pem"
etcd_cert_file = "/etc/reflex/cert.pem"
etcd_key_file = "/etc/reflex/key.pem"
template = "nodes"

[[template]]
name = "nodes"
hold_time = 30
"#;
    let checked = config::parse("ds.toml", text).unwrap();
    assert!(
        checked.report.lines().is_empty(),
        "{:?}",
        checked.report.lines()
    );
    let d = &checked.file.datastore;
    assert_eq!(d.kind, DatastoreType::Etcd);
    assert_eq!(d.etcd_endpoints.len(), 2);
    assert_eq!(d.status_ttl, 30, "the default");
    // Without [datastore], the same file warns that no session can come up.
    let plain = text.split("[[template]]").nth(1).unwrap();
    let checked = config::parse("plain.toml", &format!("[[template]]{plain}")).unwrap();
    assert!(
        checked
            .report
            .lines()
            .iter()
            .any(|l| l.contains("no session can come up")),
        "{:?}",
        checked.report.lines()
    );
}

//! The reload diff as a pure function: which neighbours are added,
//! removed, reset or left alone, and which global changes need a restart.

use std::net::{IpAddr, Ipv4Addr};

use bgp_reflector::config::{self, ReflectorConfig};
use bgp_reflector::reload::{self, PeerDiff, Reset};

fn running(text: &str) -> ReflectorConfig {
    let checked = config::parse("t.toml", text).unwrap_or_else(|r| panic!("{r}"));
    config::convert(&checked.file, Ipv4Addr::new(10, 0, 0, 1))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const BASE: &str = r#"
[[template]]
name = "node"
client = true
hold_time = 90

[[neighbor]]
address = "10.0.0.2"
asn = 64512
template = "node"
description = "two"

[[neighbor]]
address = "10.0.0.3"
asn = 64512
template = "node"
import = "in"

[[policy]]
name = "in"
default = "accept"
"#;

#[test]
fn neighbours_are_added_removed_reset_or_left_alone() {
    struct Case {
        name: &'static str,
        new: String,
        want: PeerDiff,
    }
    let cases = [
        Case {
            name: "identical",
            new: BASE.to_string(),
            want: PeerDiff {
                unchanged: vec![ip("10.0.0.2"), ip("10.0.0.3")],
                ..PeerDiff::default()
            },
        },
        Case {
            name: "a description only",
            new: BASE.replace("description = \"two\"", "description = \"node two\""),
            want: PeerDiff {
                described: vec![ip("10.0.0.2")],
                unchanged: vec![ip("10.0.0.3")],
                ..PeerDiff::default()
            },
        },
        Case {
            name: "the template's hold time resets both",
            new: BASE.replace("hold_time = 90", "hold_time = 30"),
            want: PeerDiff {
                reset: vec![
                    Reset {
                        address: ip("10.0.0.2"),
                        changed: vec!["hold_time".into()],
                    },
                    Reset {
                        address: ip("10.0.0.3"),
                        changed: vec!["hold_time".into()],
                    },
                ],
                ..PeerDiff::default()
            },
        },
        Case {
            name: "a policy's content",
            new: BASE.replace("default = \"accept\"", "default = \"reject\""),
            want: PeerDiff {
                reset: vec![Reset {
                    address: ip("10.0.0.3"),
                    changed: vec!["import".into()],
                }],
                unchanged: vec![ip("10.0.0.2")],
                ..PeerDiff::default()
            },
        },
        Case {
            name: "one removed, one added, password and port of the third",
            new: BASE
                .replace("address = \"10.0.0.2\"", "address = \"10.0.0.4\"")
                .replace(
                    "import = \"in\"",
                    "import = \"in\"\npassword = \"x\"\nport = 1179",
                ),
            want: PeerDiff {
                added: vec![ip("10.0.0.4")],
                removed: vec![ip("10.0.0.2")],
                reset: vec![Reset {
                    address: ip("10.0.0.3"),
                    changed: vec!["port".into(), "password".into()],
                }],
                ..PeerDiff::default()
            },
        },
        Case {
            name: "everything removed",
            new: "[[dynamic]]\nprefix = \"10.0.0.0/8\"\n".to_string(),
            want: PeerDiff {
                removed: vec![ip("10.0.0.2"), ip("10.0.0.3")],
                ..PeerDiff::default()
            },
        },
    ];
    let old = running(BASE);
    for case in cases {
        let new = running(&case.new);
        let got = reload::diff(&old.neighbors, &new.neighbors);
        assert_eq!(got, case.want, "case `{}`", case.name);
        assert_eq!(
            got.is_empty(),
            case.name == "identical",
            "case `{}`",
            case.name
        );
    }
}

#[test]
fn global_changes_wait_for_a_restart() {
    let cases: [(&str, String, Vec<&str>); 6] = [
        ("nothing", BASE.to_string(), vec![]),
        (
            "multipath",
            format!("[global]\nmultipath = true\n{BASE}"),
            vec!["global.multipath"],
        ),
        (
            "listen",
            format!("[global]\nlisten = [\"127.0.0.1\"]\n{BASE}"),
            vec!["global.listen"],
        ),
        (
            "a dynamic range",
            format!("{BASE}\n[[dynamic]]\nprefix = \"10.0.0.0/8\"\n"),
            vec!["dynamic"],
        ),
        (
            "client-to-client reflection",
            format!("[[cluster]]\nid = \"10.0.0.1\"\nclient_to_client = false\n{BASE}"),
            vec!["cluster"],
        ),
        (
            "API and logging",
            format!("[api]\nlisten = \"127.0.0.1:9999\"\n[logging]\nlevel = \"debug\"\n{BASE}"),
            vec!["api.listen", "logging"],
        ),
    ];
    let old = running(BASE);
    for (name, text, want) in cases {
        let mut new = running(&text);
        assert_eq!(reload::restart_required(&old, &new), want, "case `{name}`");
        new.speaker.router_id = Ipv4Addr::new(10, 9, 9, 9);
        new.speaker.local_as = 64513;
        let mut with_id = want.clone();
        with_id.splice(0..0, ["global.asn", "global.router_id"]);
        assert_eq!(
            reload::restart_required(&old, &new),
            with_id,
            "case `{name}`"
        );
        let neighbors = new.neighbors.len();
        let merged = reload::merge(&old, new);
        assert_eq!(
            merged.speaker.router_id, old.speaker.router_id,
            "running settings stay"
        );
        assert_eq!(
            merged.neighbors.len(),
            neighbors,
            "the new neighbours are taken"
        );
    }
}

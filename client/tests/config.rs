//! The configuration file: the example parses into the expected agent
//! configuration, and mistakes are reported with line, column and field.

use std::time::Duration;

use bgp_client::config::{self, Problem};
use bgp_client::kernel::route::RouteKind;

const EXAMPLE: &str = include_str!("../../examples/client/client.toml");

#[test]
fn the_example_converts_into_an_agent_configuration() {
    let checked = config::parse("client.toml", EXAMPLE).expect("the example is valid");
    assert!(checked.report.diagnostics.is_empty(), "{}", checked.report);
    let c = checked.config;
    assert_eq!(c.node_name, "node-a");
    assert_eq!(c.local_as, 64512);
    assert_eq!(
        c.router_id,
        "192.0.2.11".parse::<std::net::Ipv4Addr>().unwrap()
    );
    assert_eq!(c.reflectors.len(), 2);
    assert_eq!(c.reflectors[0].port, 179);
    assert_eq!(c.graceful_restart_time, Duration::from_secs(120));
    assert_eq!(c.export.pools, vec!["10.65.0.0/16".parse().unwrap()]);
    assert_eq!(c.export.rules[0].kinds, vec![RouteKind::Blackhole]);
    assert_eq!(c.export.rules[1].interfaces, vec!["cali*".to_string()]);
    assert_eq!(c.install.placement.table, 254);
    assert_eq!(c.install.placement.protocol, 186);
    assert!(!c.install.remove_on_stop);
    assert_eq!(c.validate(), Ok(()));
}

fn errors(text: &str) -> Vec<String> {
    config::parse("client.toml", text).unwrap_err().lines()
}

const NODE: &str = "[node]\nname = \"a\"\nasn = 64512\nipv4 = \"192.0.2.11\"\n";

#[test]
fn mistakes_are_reported_with_line_column_and_field() {
    assert_eq!(
        errors(&format!(
            "{NODE}[[reflector]]\naddress = \"192.0.2.1\"\nprot = 179\n"
        )),
        [
            "client.toml:7:1: reflector[0].prot: unknown field `prot`, expected one of `address`, `port`, `password`"
        ]
    );
    assert_eq!(
        errors(&format!("{NODE}[[reflector]]\naddress = \"192.0.2.300\"\n")),
        ["client.toml:6:11: reflector[0].address: invalid IP address syntax"]
    );
    let text = format!(
        "{NODE}[bgp]\nhold_time = 2\n[[reflector]]\naddress = \"192.0.2.1\"\n[[reflector]]\naddress = \"192.0.2.2\"\n\
         [[export.rule]]\nkinds = [\"unicast\", \"blackhol\"]\nprotocols = [\"static\", \"statik\"]\n"
    );
    assert_eq!(
        errors(&text),
        [
            "client.toml:6:13: bgp.hold_time: must be 0 or at least 3 seconds (RFC 4271 section 4.2), not 2",
            "client.toml:12:21: export.rule[0].kinds[1]: unknown route type \"blackhol\" (unicast, blackhole, unreachable, prohibit, local, ...)",
            "client.toml:13:24: export.rule[0].protocols[1]: unknown protocol \"statik\" (kernel, boot, static, dhcp, ... or a number)",
        ]
    );
    assert_eq!(
        errors("[node\n"),
        ["client.toml:1:6: unclosed table, expected `]`"]
    );
}

#[test]
fn warnings_do_not_reject_a_file() {
    let text = format!(
        "{NODE}[[reflector]]\naddress = \"192.0.2.1\"\n[export]\npools = [\"10.65.1.0/16\"]\n"
    );
    let checked = config::parse("client.toml", &text).expect("only warnings");
    let problems: Vec<&Problem> = checked
        .report
        .diagnostics
        .iter()
        .map(|d| &d.problem)
        .collect();
    assert!(matches!(problems[0], Problem::OneReflector));
    assert!(matches!(problems[1], Problem::NothingExported));
    assert!(matches!(problems[2], Problem::HostBits(..)));
    assert_eq!(
        checked.config.export.pools,
        vec!["10.65.0.0/16".parse().unwrap()]
    );
    assert_eq!(
        checked.report.lines()[0],
        "client.toml:5:1: warning: reflector: one reflector only: losing it withdraws every learned route after the restart time"
    );
}

#[test]
fn a_reflector_of_a_family_without_a_node_address_is_an_error() {
    let text = format!(
        "{NODE}[[reflector]]\naddress = \"2001:db8::1\"\n[[reflector]]\naddress = \"2001:db8::1\"\n"
    );
    let lines = errors(&text);
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(
        lines[0],
        "client.toml:1:1: warning: export: no export rules: this node advertises nothing"
    );
    assert_eq!(
        lines[1],
        "client.toml:6:11: reflector[0].address: the node has no IPv6 address to reach this reflector from"
    );
    assert!(
        lines[2].contains("reflector[1].address: reflector 2001:db8::1 is listed twice"),
        "{lines:?}"
    );
}

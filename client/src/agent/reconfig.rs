//! A new configuration for a running agent (SIGHUP, `POST
//! /api/v1/reload`): what changes, as a pure function of the old and the
//! new [`AgentConfig`] ([`plan`]), applied by the agent's loop.
//!
//! - A reflector added starts a session; one removed is stopped (Cease /
//!   Peer De-configured), its routes withdrawn from the kernel unless
//!   another reflector has them. A reflector whose port or password
//!   changed, and every reflector when a session setting changed
//!   (`bgp.hold_time`, `connect_retry`, `graceful_restart_time`,
//!   `add_path`), is reset. The others are not touched.
//! - A changed export selection is applied to the kernel routes already
//!   read: newly selected prefixes are advertised, no longer selected
//!   ones withdrawn, the rest untouched.
//! - A changed install table or metric moves the installed routes (they
//!   are deleted from the old place, then written in the new one);
//!   `remove_on_stop` is taken as is; `restart_window` only matters at
//!   start.
//! - The node's identity (`node.asn`, `node.router_id`, `node.ipv4`,
//!   `node.ipv6`), `bgp.multipath` and `reader.receive_buffer` take effect
//!   after a restart: the running values are kept and the settings named
//!   in [`Plan::restart_required`].

use std::net::IpAddr;

use super::config::{AgentConfig, ConfigError};

/// A reflector whose session is reset, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetReflector {
    /// Its address.
    pub address: IpAddr,
    /// The settings that changed (`port`, `password`, `bgp.hold_time`, ...).
    pub changed: Vec<&'static str>,
}

/// What a new configuration changes.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What runs from now on: the new configuration with the settings of
    /// [`Plan::restart_required`] as they were.
    pub config: AgentConfig,
    /// Reflectors to start.
    pub added: Vec<IpAddr>,
    /// Reflectors to stop.
    pub removed: Vec<IpAddr>,
    /// Reflectors to reset.
    pub reset: Vec<ResetReflector>,
    /// Reflectors left alone.
    pub unchanged: Vec<IpAddr>,
    /// The export selection changed.
    pub export_changed: bool,
    /// The install table or metric changed.
    pub placement_changed: bool,
    /// Settings that changed but wait for a restart.
    pub restart_required: Vec<&'static str>,
}

/// The changes from `old` to `new`. Fails if what would run is not a
/// valid configuration (a reflector of a family whose node address is
/// only in the new file, for example).
pub fn plan(old: &AgentConfig, new: &AgentConfig) -> Result<Plan, ConfigError> {
    let mut config = new.clone();
    let mut restart_required = Vec::new();
    let mut keep = |changed: bool, name: &'static str| {
        if changed {
            restart_required.push(name);
        }
        changed
    };
    if keep(old.local_as != new.local_as, "node.asn") {
        config.local_as = old.local_as;
    }
    if keep(old.router_id != new.router_id, "node.router_id") {
        config.router_id = old.router_id;
    }
    if keep(old.node_v4 != new.node_v4, "node.ipv4") {
        config.node_v4 = old.node_v4;
    }
    if keep(old.node_v6 != new.node_v6, "node.ipv6") {
        config.node_v6 = old.node_v6;
    }
    if keep(old.multipath != new.multipath, "bgp.multipath") {
        config.multipath = old.multipath;
    }
    if keep(old.reader != new.reader, "reader.receive_buffer") {
        config.reader = old.reader;
    }
    if keep(old.blocks != new.blocks, "export.blocks") {
        config.blocks = old.blocks;
    }
    config.validate()?;

    let mut session_wide = Vec::new();
    if old.hold_time != config.hold_time {
        session_wide.push("bgp.hold_time");
    }
    if old.connect_retry != config.connect_retry {
        session_wide.push("bgp.connect_retry");
    }
    if old.graceful_restart_time != config.graceful_restart_time {
        session_wide.push("bgp.graceful_restart_time");
    }
    if old.add_path_receive != config.add_path_receive {
        session_wide.push("bgp.add_path");
    }
    let mut plan = Plan {
        added: Vec::new(),
        removed: Vec::new(),
        reset: Vec::new(),
        unchanged: Vec::new(),
        export_changed: old.export != config.export || old.pools_required != config.pools_required,
        placement_changed: old.install.placement != config.install.placement,
        restart_required,
        config,
    };
    for reflector in &old.reflectors {
        if !plan
            .config
            .reflectors
            .iter()
            .any(|r| r.address == reflector.address)
        {
            plan.removed.push(reflector.address);
        }
    }
    for reflector in &plan.config.reflectors {
        let Some(before) = old
            .reflectors
            .iter()
            .find(|r| r.address == reflector.address)
        else {
            plan.added.push(reflector.address);
            continue;
        };
        let mut changed = Vec::new();
        if before.port != reflector.port {
            changed.push("port");
        }
        if before.password != reflector.password {
            changed.push("password");
        }
        changed.extend_from_slice(&session_wide);
        if changed.is_empty() {
            plan.unchanged.push(reflector.address);
        } else {
            plan.reset.push(ResetReflector {
                address: reflector.address,
                changed,
            });
        }
    }
    Ok(plan)
}

/// What a reconfiguration did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconfigured {
    /// Reflectors started.
    pub added: Vec<IpAddr>,
    /// Reflectors stopped.
    pub removed: Vec<IpAddr>,
    /// Reflectors reset.
    pub reset: Vec<ResetReflector>,
    /// Reflectors left alone.
    pub unchanged: usize,
    /// The export selection changed and was applied.
    pub export_changed: bool,
    /// Prefixes advertised because of the new selection.
    pub originated: usize,
    /// Prefixes withdrawn because of the new selection.
    pub withdrawn: usize,
    /// Installed routes moved to a new table or metric.
    pub install_moved: bool,
    /// Settings that changed but wait for a restart.
    pub restart_required: Vec<&'static str>,
    /// Reflectors the speaker refused, with its error.
    pub failed: Vec<(IpAddr, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::ReflectorPeer;
    use crate::kernel::select::SelectRule;
    use std::net::Ipv4Addr;
    use std::time::Duration;

    fn config(reflectors: &[&str]) -> AgentConfig {
        let mut config = AgentConfig::new("a", 64512, Ipv4Addr::new(192, 0, 2, 11));
        config.reflectors = reflectors
            .iter()
            .map(|r| ReflectorPeer::new(r.parse().unwrap()))
            .collect();
        config
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn reflectors_are_added_removed_reset_or_left_alone() {
        let old = config(&["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
        let mut new = config(&["192.0.2.2", "192.0.2.3", "192.0.2.4"]);
        new.reflectors[1].password = Some("secret".into());
        let plan = plan(&old, &new).unwrap();
        assert_eq!(plan.added, [ip("192.0.2.4")]);
        assert_eq!(plan.removed, [ip("192.0.2.1")]);
        assert_eq!(
            plan.reset,
            [ResetReflector {
                address: ip("192.0.2.3"),
                changed: vec!["password"]
            }]
        );
        assert_eq!(plan.unchanged, [ip("192.0.2.2")]);
        assert!(!plan.export_changed && !plan.placement_changed);
        assert!(plan.restart_required.is_empty());
    }

    #[test]
    fn a_session_setting_resets_every_kept_reflector() {
        let old = config(&["192.0.2.1", "192.0.2.2"]);
        let mut new = config(&["192.0.2.1", "192.0.2.2"]);
        new.hold_time = 30;
        new.graceful_restart_time = Duration::from_secs(60);
        let plan = plan(&old, &new).unwrap();
        assert!(plan.unchanged.is_empty());
        assert_eq!(plan.reset.len(), 2);
        assert_eq!(
            plan.reset[0].changed,
            ["bgp.hold_time", "bgp.graceful_restart_time"]
        );
    }

    #[test]
    fn selection_and_placement_changes_are_noticed() {
        let old = config(&["192.0.2.1", "192.0.2.2"]);
        let mut new = old.clone();
        new.export.rules.push(SelectRule::main_unicast());
        new.install.placement.metric = 30;
        new.install.remove_on_stop = true;
        let plan = plan(&old, &new).unwrap();
        assert!(plan.export_changed && plan.placement_changed);
        assert_eq!(plan.unchanged.len(), 2);
        assert!(plan.config.install.remove_on_stop);
    }

    #[test]
    fn identity_changes_wait_for_a_restart() {
        let old = config(&["192.0.2.1", "192.0.2.2"]);
        let mut new = old.clone();
        new.local_as = 65000;
        new.router_id = Ipv4Addr::new(1, 1, 1, 1);
        new.multipath = false;
        new.node_name = "renamed".into();
        let plan = plan(&old, &new).unwrap();
        assert_eq!(
            plan.restart_required,
            ["node.asn", "node.router_id", "bgp.multipath"]
        );
        assert_eq!(plan.config.local_as, 64512);
        assert_eq!(plan.config.router_id, Ipv4Addr::new(192, 0, 2, 11));
        assert!(plan.config.multipath);
        assert_eq!(plan.config.node_name, "renamed");
        assert_eq!(plan.unchanged.len(), 2, "sessions untouched");
    }

    #[test]
    fn a_reflector_needing_an_address_of_the_next_run_is_refused() {
        let old = config(&["192.0.2.1", "192.0.2.2"]);
        let mut new = config(&["192.0.2.1", "192.0.2.2", "2001:db8::1"]);
        new.node_v6 = Some("2001:db8::11".parse().unwrap());
        assert!(matches!(
            plan(&old, &new),
            Err(ConfigError::NoLocalAddress(_))
        ));
    }
}

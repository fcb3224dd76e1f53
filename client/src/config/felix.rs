//! `[felix]`: the workload dataplane (see [`crate::felix`]).
//!
//! ```toml
//! [felix]
//! enabled = true                 # default: true once the table is there
//! source = "datastore"           # or "file"; default: datastore with a [datastore]
//! # file = "/etc/reflex/workloads.yaml"   # source = "file": resources to program
//! reconcile_interval = 10        # seconds between full reconciles (drift repair)
//! cleanup_on_stop = false        # remove routes, the nftables table, settings at stop
//! report_endpoints = true        # endpoint status keys in etcd (datastore source)
//! advertise = true               # export Felix's routes (protocol 80 on cali*)
//! interface_prefix = "cali"      # workload interface names
//! ```
//!
//! With `advertise` (the default) the export selection gets one more rule,
//! `protocols = [80], interfaces = ["<prefix>*"]` in the main table, so the
//! workload routes Felix installs are advertised within the pools (the
//! datastore's IPPools, or `export.pools`).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::report::{Diagnostic, FieldPath, Problem};
use super::schema::ConfigFile;
use crate::agent::AgentConfig;
use crate::felix::routes::RTPROT_FELIX;
use crate::kernel::route::RT_TABLE_MAIN;
use crate::kernel::select::SelectRule;

/// Where Felix's resources come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FelixSource {
    /// The `[datastore]`'s etcd.
    Datastore,
    /// The file named by `file`.
    File,
}

/// `[felix]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FelixSection {
    /// Run Felix (true).
    pub enabled: Option<bool>,
    /// Where the resources come from.
    pub source: Option<FelixSource>,
    /// The resources of the file source.
    pub file: Option<PathBuf>,
    /// Seconds between full reconciles (10).
    pub reconcile_interval: Option<u32>,
    /// Remove what Felix programmed at a clean stop (false).
    pub cleanup_on_stop: Option<bool>,
    /// Write endpoint status keys (true; datastore source only).
    pub report_endpoints: Option<bool>,
    /// Advertise the workload routes (true).
    pub advertise: Option<bool>,
    /// Workload interface name prefix (`cali`).
    pub interface_prefix: Option<String>,
}

/// The longest reconcile interval accepted, seconds.
pub const MAX_RECONCILE: u32 = 3600;

/// `[felix]` as it applies: `None` when absent or disabled.
pub fn section(file: &ConfigFile) -> Option<&FelixSection> {
    file.felix.as_ref().filter(|f| f.enabled.unwrap_or(true))
}

/// The source `[felix]` means (datastore when there is one).
pub fn source(file: &ConfigFile, felix: &FelixSection) -> FelixSource {
    felix.source.unwrap_or(if file.datastore.is_some() {
        FelixSource::Datastore
    } else {
        FelixSource::File
    })
}

/// Findings about `[felix]`.
pub fn validate(file: &ConfigFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some(felix) = section(file) else {
        return out;
    };
    let path = FieldPath::of(&["felix"]);
    match source(file, felix) {
        FelixSource::Datastore if file.datastore.is_none() => out.push(Diagnostic::new(
            path.key("source"),
            Problem::FelixWithoutDatastore,
        )),
        FelixSource::File if felix.file.is_none() => {
            out.push(Diagnostic::new(path.clone(), Problem::FelixWithoutFile))
        }
        FelixSource::File if felix.report_endpoints == Some(true) => out.push(Diagnostic::new(
            path.key("report_endpoints"),
            Problem::FelixReportsWithoutDatastore,
        )),
        _ => {}
    }
    if let Some(seconds) = felix
        .reconcile_interval
        .filter(|s| *s == 0 || *s > MAX_RECONCILE)
    {
        out.push(Diagnostic::new(
            path.key("reconcile_interval"),
            Problem::FelixInterval(seconds),
        ));
    }
    if let Some(prefix) = &felix.interface_prefix {
        let ok = !prefix.is_empty()
            && prefix.len() < 15
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok {
            out.push(Diagnostic::new(
                path.key("interface_prefix"),
                Problem::FelixPrefix(prefix.clone()),
            ));
        }
    }
    out
}

/// Whether `[felix]` adds its export rule.
pub fn advertises(file: &ConfigFile) -> bool {
    section(file).is_some_and(|f| f.advertise.unwrap_or(true))
}

/// The export rule of Felix's routes.
pub fn export_rule(prefix: &str) -> SelectRule {
    SelectRule {
        tables: vec![RT_TABLE_MAIN],
        protocols: vec![RTPROT_FELIX],
        interfaces: vec![format!("{prefix}*")],
        ..SelectRule::default()
    }
}

/// Add Felix's export rule to `config` when `[felix]` advertises.
pub fn convert(file: &ConfigFile, config: &mut AgentConfig) {
    let Some(felix) = section(file) else {
        return;
    };
    if felix.advertise.unwrap_or(true) {
        let rule = export_rule(felix.interface_prefix.as_deref().unwrap_or("cali"));
        if !config.export.rules.contains(&rule) {
            config.export.rules.push(rule);
        }
    }
}

/// What the daemon needs to start Felix (a checked file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FelixSettings {
    /// The source.
    pub source: FelixSource,
    /// The file (file source).
    pub file: Option<PathBuf>,
    /// Reconcile interval.
    pub reconcile_interval: Duration,
    /// Cleanup on stop.
    pub cleanup_on_stop: bool,
    /// Endpoint status keys.
    pub report_endpoints: bool,
    /// Workload interface prefix.
    pub interface_prefix: String,
}

/// The settings of an enabled `[felix]`.
pub fn settings(file: &ConfigFile) -> Option<FelixSettings> {
    let felix = section(file)?;
    let source = source(file, felix);
    Some(FelixSettings {
        source,
        file: felix.file.clone(),
        reconcile_interval: Duration::from_secs(u64::from(felix.reconcile_interval.unwrap_or(10))),
        cleanup_on_stop: felix.cleanup_on_stop.unwrap_or(false),
        report_endpoints: source == FelixSource::Datastore
            && felix.report_endpoints.unwrap_or(true),
        interface_prefix: felix
            .interface_prefix
            .clone()
            .unwrap_or_else(|| "cali".into()),
    })
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    const FILE_BASE: &str = "[node]\nname = \"a\"\nasn = 64512\nipv4 = \"192.0.2.11\"\n[[reflector]]\naddress = \"192.0.2.1\"\n[[reflector]]\naddress = \"192.0.2.2\"\n[export]\npools = [\"10.65.0.0/16\"]\n";
    const DATASTORE: &str =
        "[node]\nname = \"n1\"\n[datastore]\nendpoints = [\"http://10.0.0.100:2379\"]\n";

    #[test]
    fn felix_from_the_datastore_advertises_its_routes() {
        let text = format!("{DATASTORE}[felix]\n");
        let checked = parse("c.toml", &text).unwrap();
        let settings = super::settings(&checked.file).unwrap();
        assert_eq!(settings.source, super::FelixSource::Datastore);
        assert!(settings.report_endpoints && !settings.cleanup_on_stop);
        assert_eq!(settings.reconcile_interval.as_secs(), 10);
        let rules = &checked.config.export.rules;
        assert_eq!(
            rules.len(),
            2,
            "the datastore's main-table rule and Felix's"
        );
        assert_eq!(rules[1].protocols, [80]);
        assert_eq!(rules[1].interfaces, ["cali*"]);
        // Disabled: nothing.
        let text = format!("{DATASTORE}[felix]\nenabled = false\n");
        let checked = parse("c.toml", &text).unwrap();
        assert!(super::settings(&checked.file).is_none());
        assert_eq!(checked.config.export.rules.len(), 1);
        // advertise = false: no rule.
        let text = format!("{DATASTORE}[felix]\nadvertise = false\ninterface_prefix = \"tap\"\n");
        let checked = parse("c.toml", &text).unwrap();
        assert_eq!(checked.config.export.rules.len(), 1);
        assert_eq!(
            super::settings(&checked.file).unwrap().interface_prefix,
            "tap"
        );
    }

    #[test]
    fn the_example_workloads_file_is_felix_input() {
        let input = crate::felix::FelixInput::from_documents(include_str!(
            "../../../examples/client/workloads.yaml"
        ))
        .unwrap();
        assert_eq!(
            (
                input.endpoints.len(),
                input.profiles.len(),
                input.global_policies.len()
            ),
            (1, 1, 1)
        );
    }

    #[test]
    fn a_file_source_needs_a_file_and_mistakes_name_line_and_field() {
        let text = format!("{FILE_BASE}[felix]\nfile = \"/etc/reflex/w.yaml\"\n");
        let checked = parse("c.toml", &text).unwrap();
        let settings = super::settings(&checked.file).unwrap();
        assert_eq!(settings.source, super::FelixSource::File);
        assert!(!settings.report_endpoints);
        assert_eq!(checked.config.export.rules.len(), 1);
        assert_eq!(checked.config.export.rules[0].protocols, [80]);

        let text = format!("{FILE_BASE}[felix]\nreconcile_interval = 0\n");
        let report = parse("c.toml", &text).unwrap_err();
        assert_eq!(
            report.lines(),
            [
                "c.toml:11:1: felix: source \"file\" needs `file`, the resources to program",
                "c.toml:12:22: felix.reconcile_interval: must be 1 to 3600 seconds, not 0",
            ]
        );
        let text = format!("{FILE_BASE}[felix]\nsource = \"datastore\"\n");
        let report = parse("c.toml", &text).unwrap_err();
        assert_eq!(
            report.lines(),
            ["c.toml:12:10: felix.source: source \"datastore\" needs a [datastore] section"]
        );
        let text = format!(
            "{FILE_BASE}[felix]\nfile = \"w.yaml\"\ninterface_prefix = \"ca li\"\nreport_endpoints = true\n"
        );
        let report = parse("c.toml", &text).unwrap_err();
        let lines = report.lines();
        assert!(
            lines[0].contains("felix.interface_prefix: \"ca li\" is not an interface name prefix"),
            "{report}"
        );
        assert!(
            lines[1].contains("warning: felix.report_endpoints"),
            "{report}"
        );
        let text = format!("{FILE_BASE}[felix]\nfile = \"w.yaml\"\ncolour = 1\n");
        let report = parse("c.toml", &text).unwrap_err();
        assert!(
            report.lines()[0].starts_with("c.toml:13:1: felix.colour: unknown field `colour`"),
            "{report}"
        );
    }
}

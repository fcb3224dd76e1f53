//! The agent's TOML configuration file (`bgp-client run --config FILE`):
//! parsing with line and column numbers, checks, and conversion into an
//! [`AgentConfig`]. It follows the reflector's configuration: three
//! stages, each reporting every finding of its kind as a [`Report`]:
//! 1. TOML syntax (with `toml`'s span);
//! 2. the [`schema`] (unknown keys are errors), the field path tracked by
//!    `serde_path_to_error`;
//! 3. [`validate()`], whose field paths are located in the spanned tree.
//!
//! Warnings never reject a file.
//!
//! ```
//! let text = "[node]\nname = \"a\"\nasn = 64512\nipv4 = \"192.0.2.11\"\n\n[[reflector]]\naddress = \"2001:db8::1\"\n";
//! let report = bgp_client::config::parse("client.toml", text).unwrap_err();
//! assert_eq!(
//!     report.lines().last().unwrap(),
//!     "client.toml:7:11: reflector[0].address: the node has no IPv6 address to reach this reflector from"
//! );
//! ```

pub mod felix;
pub mod report;
pub mod schema;
pub mod validate;

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use crate::agent::AgentConfig;
pub use report::{Diagnostic, FieldPath, Location, Problem, Report, Segment, Severity};
pub use schema::ConfigFile;
pub use validate::{convert, validate};

/// A file that passed the checks.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The file.
    pub file: ConfigFile,
    /// What it means for the agent.
    pub config: AgentConfig,
    /// Its warnings.
    pub report: Report,
}

/// Why a file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// It could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It has errors.
    #[error("{0}")]
    Invalid(Report),
}

/// Settings of the command line that replace the file's (`bgp-client run
/// --node NAME --datastore etcd --etcd-endpoints URLS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--node`: `[node] name`.
    pub node: Option<String>,
    /// `--datastore`: a `[datastore]` of this kind.
    pub datastore: Option<schema::DatastoreKind>,
    /// `--etcd-endpoints`: `[datastore] endpoints` (and a `[datastore]`).
    pub etcd_endpoints: Vec<String>,
}

impl Overrides {
    /// Any datastore setting?
    pub fn has_datastore(&self) -> bool {
        self.datastore.is_some() || !self.etcd_endpoints.is_empty()
    }

    /// Put them into `file`.
    pub fn apply(&self, file: &mut ConfigFile) {
        if let Some(node) = &self.node {
            file.node.name.clone_from(node);
        }
        if self.has_datastore() {
            let datastore = file
                .datastore
                .get_or_insert_with(schema::Datastore::default);
            if let Some(kind) = self.datastore {
                datastore.kind = kind;
            }
            if !self.etcd_endpoints.is_empty() {
                datastore.endpoints.clone_from(&self.etcd_endpoints);
            }
        }
    }

    /// A configuration from the command line alone (no file): the node's
    /// name and a datastore, defaults for the rest.
    pub fn checked(&self) -> Result<Checked, Report> {
        let mut file = ConfigFile {
            node: schema::Node {
                name: String::new(),
                asn: None,
                router_id: None,
                ipv4: None,
                ipv6: None,
                nodename_file: None,
            },
            reflector: Vec::new(),
            bgp: schema::Bgp::default(),
            export: schema::Export::default(),
            install: schema::Install::default(),
            reader: schema::Reader::default(),
            api: schema::Api::default(),
            logging: schema::Logging::default(),
            datastore: None,
            felix: None,
        };
        self.apply(&mut file);
        let mut diagnostics = validate(&file);
        if self.node.is_none() {
            diagnostics.push(Diagnostic::new(
                FieldPath::default(),
                Problem::Schema {
                    message: "--node NAME is required without --config".into(),
                },
            ));
        }
        if file.datastore.is_none() {
            diagnostics.push(Diagnostic::new(
                FieldPath::default(),
                Problem::Schema {
                    message: "--config FILE is required without --datastore".into(),
                },
            ));
        }
        let report = Report {
            source: "command line".into(),
            diagnostics,
        };
        if report.has_errors() {
            return Err(report);
        }
        Ok(Checked {
            config: convert(&file),
            file,
            report,
        })
    }
}

/// Parse and check `text`; `source` names it in messages.
pub fn parse(source: &str, text: &str) -> Result<Checked, Report> {
    parse_with(source, text, &Overrides::default())
}

/// [`parse`] with command-line settings put in before the checks.
pub fn parse_with(source: &str, text: &str, overrides: &Overrides) -> Result<Checked, Report> {
    let report = |diagnostics| Report {
        source: source.to_string(),
        diagnostics,
    };
    let tree = match DeTable::parse(text) {
        Ok(tree) => tree,
        Err(error) => {
            let mut diagnostic = Diagnostic::new(
                FieldPath::default(),
                Problem::Syntax {
                    message: error.message().to_string(),
                },
            );
            diagnostic.location = error.span().map(|s| Location::of_offset(text, s.start));
            return Err(report(vec![diagnostic]));
        }
    };
    let mut file: ConfigFile =
        match serde_path_to_error::deserialize(toml::Deserializer::from(tree.clone())) {
            Ok(file) => file,
            Err(error) => {
                let path = FieldPath::from_serde(error.path());
                let span = error.inner().span();
                let message = error.inner().message().to_string();
                let mut diagnostic = Diagnostic::new(path.clone(), Problem::Schema { message });
                diagnostic.location = span
                    .or_else(|| locate(&tree, &path))
                    .map(|s| Location::of_offset(text, s.start));
                return Err(report(vec![diagnostic]));
            }
        };
    overrides.apply(&mut file);
    let mut diagnostics = validate(&file);
    for diagnostic in &mut diagnostics {
        diagnostic.location =
            locate(&tree, &diagnostic.path).map(|s| Location::of_offset(text, s.start));
    }
    diagnostics.sort_by_key(|d| d.location);
    let report = report(diagnostics);
    if report.has_errors() {
        return Err(report);
    }
    Ok(Checked {
        config: convert(&file),
        file,
        report,
    })
}

/// Read and [`parse`] a file.
pub fn load(path: &Path) -> Result<Checked, LoadError> {
    load_with(path, &Overrides::default())
}

/// Read and [`parse_with`] a file.
pub fn load_with(path: &Path, overrides: &Overrides) -> Result<Checked, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_with(&path.display().to_string(), &text, overrides).map_err(LoadError::Invalid)
}

/// The span of the deepest value along `path` that the document has.
fn locate(tree: &toml::Spanned<DeTable<'_>>, path: &FieldPath) -> Option<Range<usize>> {
    let mut span = None;
    let mut current: Option<&DeValue<'_>> = None;
    for segment in &path.0 {
        let next = match (current, segment) {
            (None, Segment::Key(key)) => tree.get_ref().get(key.as_str()),
            (Some(value), Segment::Key(key)) => value.get(key.as_str()),
            (Some(value), Segment::Index(index)) => value.get(*index),
            (None, Segment::Index(_)) => None,
        };
        match next {
            Some(value) => {
                span = Some(value.span());
                current = Some(value.get_ref());
            }
            None => break,
        }
    }
    // A missing key (`[export]` absent) points at the start of the document.
    span.or(Some(tree.span().start..tree.span().start))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[node]\nname = \"a\"\nasn = 64512\nipv4 = \"192.0.2.11\"\n\
                        [[reflector]]\naddress = \"192.0.2.1\"\n[[reflector]]\naddress = \"192.0.2.2\"\n\
                        [[export.rule]]\nkinds = [\"blackhole\"]\n";

    #[test]
    fn api_and_logging_default_and_are_checked() {
        let checked = parse("c.toml", BASE).unwrap();
        assert_eq!(checked.file.api.listen, None);
        assert_eq!(checked.file.logging, schema::Logging::default());

        let text =
            format!("{BASE}[api]\nlisten = \"0.0.0.0:9180\"\n[logging]\nformat = \"json\"\n");
        let checked = parse("c.toml", &text).unwrap();
        assert_eq!(checked.file.logging.format, Some(schema::LogFormat::Json));
        assert_eq!(
            checked.report.lines(),
            [
                "c.toml:12:10: warning: api.listen: the API has no authentication: 0.0.0.0:9180 is reachable from other hosts (use a loopback address)"
            ]
        );

        let text = format!("{BASE}[logging]\nlevel = \"info,=x=y\"\n");
        let report = parse("c.toml", &text).unwrap_err();
        assert!(
            report.lines()[0].starts_with("c.toml:12:9: logging.level: invalid log filter"),
            "{report}"
        );
        let text = format!("{BASE}[logging]\nformat = \"xml\"\n");
        let report = parse("c.toml", &text).unwrap_err();
        assert!(
            report.lines()[0].starts_with("c.toml:12:10: logging.format: unknown variant `xml`"),
            "{report}"
        );
        let text = format!("{BASE}[api]\nlisten = \"localhost\"\n");
        assert!(parse("c.toml", &text).is_err());
    }

    const DATASTORE: &str = "[node]\nname = \"n1\"\n\n[datastore]\ntype = \"etcd\"\nendpoints = [\"http://10.0.0.100:2379\"]\n";

    #[test]
    fn with_a_datastore_the_as_address_reflectors_and_rules_may_be_left_out() {
        let checked = parse("c.toml", DATASTORE).unwrap();
        assert!(checked.report.diagnostics.is_empty(), "{}", checked.report);
        let c = &checked.config;
        assert!(!c.require_reflectors && c.pools_required && c.validate().is_ok());
        assert_eq!(c.local_as, validate::DEFAULT_AS);
        assert_eq!(c.export.rules.len(), 1, "a default rule: the main table");
        assert_eq!(checked.file.datastore.as_ref().unwrap().endpoints.len(), 1);

        // Pools of the file give way to the IPPools.
        let text = format!("{DATASTORE}[export]\npools = [\"10.65.0.0/16\"]\n");
        let checked = parse("c.toml", &text).unwrap();
        assert!(checked.config.export.pools.is_empty());
        assert_eq!(
            checked.report.lines(),
            [
                "c.toml:8:9: warning: export.pools: ignored with a [datastore]: its enabled IPPools are the pools"
            ]
        );

        // Without a datastore the AS is still required.
        let report = parse("c.toml", "[node]\nname = \"a\"\nipv4 = \"192.0.2.1\"\n[[reflector]]\naddress = \"192.0.2.2\"\n[[reflector]]\naddress = \"192.0.2.3\"\n").unwrap_err();
        assert!(
            report
                .lines()
                .iter()
                .any(|l| l.contains("node.asn: required")),
            "{report}"
        );
    }

    #[test]
    fn the_reflectors_datastore_key_names_are_accepted() {
        let text = "[node]\nname = \"n1\"\n\n[datastore]\ntype = \"etcd\"\netcd_endpoints = [\"https://10.0.0.100:2379\"]\netcd_ca_cert_file = \"/ca.pem\"\netcd_cert_file = \"/c.pem\"\netcd_key_file = \"/k.pem\"\n";
        let checked = parse("c.toml", text).unwrap();
        let datastore = checked.file.datastore.as_ref().unwrap();
        assert_eq!(datastore.endpoints, ["https://10.0.0.100:2379"]);
        assert_eq!(
            datastore.ca_file.as_deref(),
            Some(std::path::Path::new("/ca.pem"))
        );
        assert!(datastore.cert_file.is_some() && datastore.key_file.is_some());
    }

    #[test]
    fn a_bad_datastore_section_is_refused() {
        let text = "[node]\nname = \"n1\"\n[datastore]\nendpoints = [\"10.0.0.1:2379\"]\ncert_file = \"c.pem\"\nusername = \"u\"\n";
        let report = parse("c.toml", text).unwrap_err();
        let lines = report.lines();
        assert!(
            lines.iter().any(|l| l
                .contains("datastore.endpoints[0]: \"10.0.0.1:2379\" is not an etcd client URL")),
            "{report}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("needs both cert_file and key_file")),
            "{report}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("needs both username and password")),
            "{report}"
        );
        let report = parse("c.toml", "[node]\nname = \"n1\"\n[datastore]\n").unwrap_err();
        assert!(
            report.lines()[0].contains("datastore: no endpoints"),
            "{report}"
        );
        assert!(parse("c.toml", "[node]\nname = \"n1\"\n[datastore]\ntype = \"consul\"\nendpoints = [\"http://a:1\"]\n").is_err());
    }

    #[test]
    fn the_command_line_adds_a_datastore_and_names_the_node() {
        let overrides = Overrides {
            node: Some("n7".into()),
            datastore: Some(schema::DatastoreKind::Etcd),
            etcd_endpoints: vec!["http://10.0.0.100:2379".into()],
        };
        let checked = parse_with("c.toml", BASE, &overrides).unwrap();
        assert_eq!(checked.config.node_name, "n7");
        assert!(checked.config.pools_required);
        assert_eq!(
            checked.file.datastore.unwrap().endpoints,
            ["http://10.0.0.100:2379"]
        );
        // The command line alone.
        let checked = overrides.checked().unwrap();
        assert_eq!(checked.config.node_name, "n7");
        assert!(checked.config.reflectors.is_empty());
        let missing = Overrides {
            node: None,
            ..overrides.clone()
        };
        assert!(
            missing
                .checked()
                .unwrap_err()
                .to_string()
                .contains("--node NAME is required")
        );
        let no_datastore = Overrides {
            node: Some("n7".into()),
            ..Overrides::default()
        };
        assert!(no_datastore.checked().is_err());
        // Nothing from the command line: the file as it is.
        assert!(
            parse_with("c.toml", BASE, &Overrides::default())
                .unwrap()
                .file
                .datastore
                .is_none()
        );
    }
}

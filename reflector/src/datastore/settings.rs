//! `[datastore]` and the command line, resolved into [`DatastoreSettings`].

use std::path::PathBuf;
use std::time::Duration;

use reflex_datastore::store::etcd::{EtcdConfig, EtcdTls};

use crate::config::schema::{DatastoreSection, DatastoreType};

/// The default etcd endpoint (as calicoctl's).
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:2379";

/// Datastore settings given on the command line; they win over `[datastore]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatastoreOverrides {
    /// `--datastore`.
    pub kind: Option<DatastoreType>,
    /// `--node`.
    pub node: Option<String>,
    /// `--etcd-endpoints` (comma-separated on the command line).
    pub etcd_endpoints: Vec<String>,
    /// `--etcd-ca-cert-file`.
    pub etcd_ca_cert_file: Option<PathBuf>,
    /// `--etcd-cert-file`.
    pub etcd_cert_file: Option<PathBuf>,
    /// `--etcd-key-file`.
    pub etcd_key_file: Option<PathBuf>,
    /// `--etcd-username`.
    pub etcd_username: Option<String>,
    /// The password (from `ETCD_PASSWORD`).
    pub etcd_password: Option<String>,
}

/// Everything datastore mode needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatastoreSettings {
    /// Our `Node` resource's name.
    pub node: String,
    /// How to reach etcd.
    pub etcd: EtcdConfig,
    /// Time to live of the status lease.
    pub status_ttl: Duration,
}

/// Why the settings do not work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// No node name.
    #[error("datastore mode needs the reflector's Node name: --node NAME or [datastore] node")]
    NoNode,
    /// Half a client certificate, or a user without a password.
    #[error("{0}")]
    Invalid(String),
    /// Datastore mode asked of a binary built without the `datastore`
    /// cargo feature (no etcd client in it).
    #[error(
        "datastore mode (etcd) is not in this build: bgp-reflector was built without the `datastore` feature"
    )]
    NotBuilt,
}

/// [`SettingsError::NotBuilt`] when the etcd client is not in this build.
fn etcd_built() -> Result<(), SettingsError> {
    if cfg!(feature = "datastore") {
        Ok(())
    } else {
        Err(SettingsError::NotBuilt)
    }
}

impl DatastoreSettings {
    /// The settings, or `None` when the datastore is not used.
    pub fn resolve(
        file: &DatastoreSection,
        overrides: &DatastoreOverrides,
    ) -> Result<Option<DatastoreSettings>, SettingsError> {
        if overrides.kind.unwrap_or(file.kind) == DatastoreType::None {
            return Ok(None);
        }
        etcd_built()?;
        let node = overrides
            .node
            .clone()
            .or_else(|| file.node.clone())
            .filter(|n| !n.is_empty())
            .ok_or(SettingsError::NoNode)?;
        let mut etcd = etcd_config(file, overrides)?;
        // Notice a dead etcd under an idle watch within seconds.
        etcd.keep_alive = (Duration::from_secs(3), Duration::from_secs(2));
        etcd.connect_timeout = Duration::from_secs(3);
        etcd.request_timeout = Duration::from_secs(5);
        etcd.retry_backoff = (Duration::from_millis(200), Duration::from_secs(5));
        Ok(Some(DatastoreSettings {
            node,
            etcd,
            status_ttl: Duration::from_secs(u64::from(file.status_ttl.max(3))),
        }))
    }
}

/// How to reach etcd, from the command line, else `[datastore]`, else
/// [`DEFAULT_ENDPOINT`]; the password from the command line's caller
/// (`ETCD_PASSWORD`), else the file.
pub fn etcd_config(
    file: &DatastoreSection,
    overrides: &DatastoreOverrides,
) -> Result<EtcdConfig, SettingsError> {
    etcd_built()?;
    let endpoints = if !overrides.etcd_endpoints.is_empty() {
        overrides.etcd_endpoints.clone()
    } else if !file.etcd_endpoints.is_empty() {
        file.etcd_endpoints.clone()
    } else {
        vec![DEFAULT_ENDPOINT.to_string()]
    };
    let mut etcd = EtcdConfig::new(endpoints);
    let pick = |a: &Option<PathBuf>, b: &Option<PathBuf>| a.clone().or_else(|| b.clone());
    let tls = EtcdTls {
        ca_file: pick(&overrides.etcd_ca_cert_file, &file.etcd_ca_cert_file),
        cert_file: pick(&overrides.etcd_cert_file, &file.etcd_cert_file),
        key_file: pick(&overrides.etcd_key_file, &file.etcd_key_file),
        domain_name: None,
    };
    if tls.cert_file.is_some() != tls.key_file.is_some() {
        return Err(SettingsError::Invalid(
            "a client certificate needs both --etcd-cert-file and --etcd-key-file".into(),
        ));
    }
    if tls != EtcdTls::default() {
        etcd.tls = Some(tls);
    }
    let user = overrides
        .etcd_username
        .clone()
        .or_else(|| file.etcd_username.clone());
    if let Some(user) = user {
        let password = overrides
            .etcd_password
            .clone()
            .or_else(|| file.etcd_password.clone())
            .ok_or_else(|| {
                SettingsError::Invalid(format!(
                    "etcd user {user:?} has no password: set ETCD_PASSWORD or [datastore] etcd_password"
                ))
            })?;
        etcd.credentials = Some((user, password));
    }
    Ok(etcd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datastore_mode_is_refused_by_a_build_without_the_feature() {
        let file = DatastoreSection {
            kind: DatastoreType::Etcd,
            node: Some("rr-file".into()),
            ..DatastoreSection::default()
        };
        let none = DatastoreOverrides::default();
        let resolved = DatastoreSettings::resolve(&file, &none);
        let etcd = etcd_config(&file, &none);
        if cfg!(feature = "datastore") {
            assert!(matches!(resolved, Ok(Some(_))), "{resolved:?}");
            assert!(etcd.is_ok());
        } else {
            assert_eq!(resolved.unwrap_err(), SettingsError::NotBuilt);
            assert_eq!(etcd.unwrap_err(), SettingsError::NotBuilt);
        }
        let off = DatastoreSection::default();
        assert_eq!(
            DatastoreSettings::resolve(&off, &none),
            Ok(None),
            "file mode"
        );
    }

    #[cfg(feature = "datastore")]
    #[test]
    fn the_command_line_wins_and_the_node_is_required() {
        let mut file = DatastoreSection {
            kind: DatastoreType::Etcd,
            node: Some("rr-file".into()),
            etcd_endpoints: vec!["http://10.0.0.1:2379".into()],
            ..DatastoreSection::default()
        };
        let none = DatastoreOverrides::default();
        let s = DatastoreSettings::resolve(&file, &none).unwrap().unwrap();
        assert_eq!(s.node, "rr-file");
        assert_eq!(s.etcd.endpoints, ["http://10.0.0.1:2379"]);
        assert_eq!(s.etcd.tls, None);
        let cli = DatastoreOverrides {
            node: Some("rr-cli".into()),
            etcd_endpoints: vec!["https://a:2379".into(), "https://b:2379".into()],
            etcd_ca_cert_file: Some("/ca.pem".into()),
            etcd_username: Some("reflex".into()),
            etcd_password: Some("secret".into()),
            ..DatastoreOverrides::default()
        };
        let s = DatastoreSettings::resolve(&file, &cli).unwrap().unwrap();
        assert_eq!(s.node, "rr-cli");
        assert_eq!(s.etcd.endpoints.len(), 2);
        assert_eq!(s.etcd.credentials, Some(("reflex".into(), "secret".into())));
        assert!(s.etcd.tls.unwrap().ca_file.is_some());
        file.node = None;
        assert_eq!(
            DatastoreSettings::resolve(&file, &none),
            Err(SettingsError::NoNode)
        );
        let off = DatastoreOverrides {
            kind: Some(DatastoreType::None),
            ..DatastoreOverrides::default()
        };
        assert_eq!(DatastoreSettings::resolve(&file, &off), Ok(None));
        assert_eq!(
            DatastoreSettings::resolve(&DatastoreSection::default(), &none),
            Ok(None)
        );
    }
}

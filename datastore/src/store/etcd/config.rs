//! How to reach etcd: endpoints, TLS (server CA, client certificate) and
//! user/password authentication, after calicoctl's `etcdv3` datastore settings.

use std::path::PathBuf;
use std::time::Duration;

#[cfg(feature = "etcd")]
use etcd_client::{Certificate, ConnectOptions, Identity, TlsOptions};

#[cfg(feature = "etcd")]
use crate::error::DatastoreError;

/// TLS settings. Endpoints must be `https://` URLs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EtcdTls {
    /// PEM file of the CA that signed the server's certificate (`ETCD_CA_CERT_FILE`).
    pub ca_file: Option<PathBuf>,
    /// PEM file of the client certificate (`ETCD_CERT_FILE`).
    pub cert_file: Option<PathBuf>,
    /// PEM file of the client key (`ETCD_KEY_FILE`).
    pub key_file: Option<PathBuf>,
    /// The name to check the server certificate against, when not the endpoint's
    /// host.
    pub domain_name: Option<String>,
}

/// etcd connection settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdConfig {
    /// Client URLs (`http://127.0.0.1:2379`, `https://etcd-1:2379`).
    pub endpoints: Vec<String>,
    /// User name and password for etcd's authentication (`ETCD_USERNAME`,
    /// `ETCD_PASSWORD`).
    pub credentials: Option<(String, String)>,
    /// TLS settings.
    pub tls: Option<EtcdTls>,
    /// Timeout of establishing a connection.
    pub connect_timeout: Duration,
    /// Timeout of each unary request.
    pub request_timeout: Duration,
    /// HTTP/2 keep-alive interval and timeout, which detect a dead connection
    /// under an idle watch.
    pub keep_alive: (Duration, Duration),
    /// Delays between reconnection attempts of a watch: first, then doubling up to
    /// the second.
    pub retry_backoff: (Duration, Duration),
    /// Keys per page when listing (every page at the revision of the first), so a
    /// large kind never exceeds the gRPC message limit (4 MiB).
    pub list_page_size: usize,
}

impl Default for EtcdConfig {
    fn default() -> Self {
        EtcdConfig {
            endpoints: vec!["http://127.0.0.1:2379".to_string()],
            credentials: None,
            tls: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            keep_alive: (Duration::from_secs(10), Duration::from_secs(5)),
            retry_backoff: (Duration::from_millis(100), Duration::from_secs(10)),
            list_page_size: 500,
        }
    }
}

impl EtcdConfig {
    /// Settings for these endpoints, defaults otherwise.
    pub fn new(endpoints: impl IntoIterator<Item = impl Into<String>>) -> Self {
        EtcdConfig {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            ..EtcdConfig::default()
        }
    }

    /// Settings from calicoctl's environment variables: `ETCD_ENDPOINTS`
    /// (comma-separated), `ETCD_USERNAME`, `ETCD_PASSWORD`, `ETCD_CA_CERT_FILE`,
    /// `ETCD_CERT_FILE`, `ETCD_KEY_FILE`, read through `var`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Self {
        let mut c = EtcdConfig::default();
        if let Some(e) = var("ETCD_ENDPOINTS") {
            c.endpoints = e
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
        }
        if let (Some(u), Some(p)) = (var("ETCD_USERNAME"), var("ETCD_PASSWORD")) {
            c.credentials = Some((u, p));
        }
        let tls = EtcdTls {
            ca_file: var("ETCD_CA_CERT_FILE").map(PathBuf::from),
            cert_file: var("ETCD_CERT_FILE").map(PathBuf::from),
            key_file: var("ETCD_KEY_FILE").map(PathBuf::from),
            domain_name: None,
        };
        if tls != EtcdTls::default() {
            c.tls = Some(tls);
        }
        c
    }

    /// etcd-client's options for these settings (reads the TLS files).
    #[cfg(feature = "etcd")]
    pub(crate) fn connect_options(&self) -> Result<ConnectOptions, DatastoreError> {
        let mut o = ConnectOptions::new()
            .with_connect_timeout(self.connect_timeout)
            .with_timeout(self.request_timeout)
            .with_keep_alive(self.keep_alive.0, self.keep_alive.1)
            .with_keep_alive_while_idle(true)
            .with_auto_token_refresh(true);
        if let Some((user, password)) = &self.credentials {
            o = o.with_user(user.clone(), password.clone());
        }
        if let Some(tls) = &self.tls {
            let read = |p: &PathBuf| {
                std::fs::read(p)
                    .map_err(|e| DatastoreError::Config(format!("reading {}: {e}", p.display())))
            };
            let mut t = TlsOptions::new();
            if let Some(ca) = &tls.ca_file {
                t = t.ca_certificate(Certificate::from_pem(read(ca)?));
            }
            match (&tls.cert_file, &tls.key_file) {
                (Some(cert), Some(key)) => {
                    t = t.identity(Identity::from_pem(read(cert)?, read(key)?));
                }
                (None, None) => {}
                _ => {
                    return Err(DatastoreError::Config(
                        "a client certificate needs both a cert file and a key file".into(),
                    ));
                }
            }
            if let Some(name) = &tls.domain_name {
                t = t.domain_name(name.clone());
            }
            o = o.with_tls(t);
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_calicoctl_environment() {
        let env = |k: &str| {
            match k {
                "ETCD_ENDPOINTS" => Some("https://a:2379, https://b:2379"),
                "ETCD_USERNAME" => Some("calico"),
                "ETCD_PASSWORD" => Some("secret"),
                "ETCD_CA_CERT_FILE" => Some("/etc/calico/ca.pem"),
                _ => None,
            }
            .map(str::to_string)
        };
        let c = EtcdConfig::from_env(env);
        assert_eq!(c.endpoints, ["https://a:2379", "https://b:2379"]);
        assert_eq!(c.credentials, Some(("calico".into(), "secret".into())));
        assert_eq!(
            c.tls.unwrap().ca_file.as_deref(),
            Some(std::path::Path::new("/etc/calico/ca.pem"))
        );
        assert_eq!(EtcdConfig::from_env(|_| None), EtcdConfig::default());
    }

    #[test]
    fn half_a_client_certificate_is_refused() {
        let c = EtcdConfig {
            tls: Some(EtcdTls {
                cert_file: Some("/nonexistent.pem".into()),
                ..EtcdTls::default()
            }),
            ..EtcdConfig::default()
        };
        assert!(c.connect_options().is_err());
    }
}

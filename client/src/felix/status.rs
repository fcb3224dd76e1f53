//! Felix's status in etcd, as Calico's Felix reports it (libcalico-go's
//! `ActiveStatusReportKey` and `WorkloadEndpointStatusKey`):
//!
//! - `/calico/felix/v2/no-region/host/<node>/status`: `{"time": RFC 3339,
//!   "uptime": seconds, "first_update": bool}` on a lease of
//!   [`STATUS_TTL`], written again (and the lease renewed) every
//!   [`STATUS_REFRESH`]; a lost lease is granted again and every key
//!   written again;
//! - with endpoint reporting, one key per local endpoint,
//!   `/calico/felix/v2/no-region/host/<node>/workload/<orchestrator>/<workload>/endpoint/<endpoint>`
//!   with `{"status": "up"}` (programmed) or `{"status": "down"}` (its
//!   interface is missing or down), on the same lease, deleted when the
//!   endpoint goes. As Calico, the workload is `<namespace>/<workload>`
//!   and a `/` inside a name is written `%2f`.
//!
//! At a clean stop the lease is revoked, which removes every key.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use reflex_datastore::backoff::Backoff;
use reflex_datastore::model::WorkloadEndpoint;
use reflex_datastore::store::{Datastore, LeaseId};
use tokio::sync::{oneshot, watch};

/// TTL of the status lease (Calico's default `ReportingTTLSecs`).
pub const STATUS_TTL: Duration = Duration::from_secs(90);
/// How often the status is written and the lease renewed
/// (`ReportingIntervalSecs`).
pub const STATUS_REFRESH: Duration = Duration::from_secs(30);
/// The region string of a cluster without OpenStack regions.
pub const REGION: &str = "no-region";

/// `/calico/felix/v2/no-region/host/<node>/status`.
pub fn status_key(node: &str) -> String {
    format!("/calico/felix/v2/{REGION}/host/{node}/status")
}

/// Calico's `escapeName`: `/` becomes `%2f`.
fn escape(name: &str) -> String {
    name.replace('/', "%2f")
}

/// The status key of `wep`, or `None` when it lacks a part Calico needs
/// (orchestrator, workload or pod, endpoint).
pub fn endpoint_key(node: &str, wep: &WorkloadEndpoint) -> Option<String> {
    let spec = &wep.spec;
    let namespace = wep.metadata.namespace.as_deref().unwrap_or("default");
    let workload = if spec.workload.is_empty() {
        &spec.pod
    } else {
        &spec.workload
    };
    if spec.orchestrator.is_empty() || workload.is_empty() || spec.endpoint.is_empty() {
        return None;
    }
    Some(format!(
        "/calico/felix/v2/{REGION}/host/{node}/workload/{}/{}/endpoint/{}",
        escape(&spec.orchestrator),
        escape(&format!("{namespace}/{workload}")),
        escape(&spec.endpoint)
    ))
}

/// The value of an endpoint key.
pub fn endpoint_value(up: bool) -> String {
    format!(r#"{{"status":"{}"}}"#, if up { "up" } else { "down" })
}

/// The value of the status key.
pub fn status_value(now: SystemTime, uptime: Duration, first_update: bool) -> String {
    serde_json::json!({
        "time": rfc3339(now),
        "uptime": uptime.as_secs_f64(),
        "first_update": first_update,
    })
    .to_string()
}

/// `2026-12-01T13:45:07Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// What the reporter shows (API, metrics).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReporterState {
    /// The status key is written on a live lease.
    pub written: bool,
    /// Leases granted (more than one: a lease was lost).
    pub leases: u64,
    /// Writes that failed.
    pub errors: u64,
    /// The last failure.
    pub last_error: Option<String>,
    /// Endpoint keys written.
    pub endpoints: usize,
}

/// The task writing the keys; dropping it aborts it (the lease then
/// expires after its TTL).
#[derive(Debug)]
pub struct Reporter {
    endpoints: watch::Sender<BTreeMap<String, String>>,
    state: watch::Receiver<ReporterState>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

/// How the reporter runs.
#[derive(Debug, Clone)]
pub struct ReporterConfig {
    /// The node.
    pub node: String,
    /// Lease TTL.
    pub ttl: Duration,
    /// Rewrite and renew interval.
    pub refresh: Duration,
    /// When Felix started (for `uptime`).
    pub started: Instant,
}

impl Reporter {
    /// Start writing to `store`.
    pub fn start<D: Datastore>(store: D, config: ReporterConfig) -> Reporter {
        let (endpoints, endpoints_rx) = watch::channel(BTreeMap::new());
        let (state_tx, state) = watch::channel(ReporterState::default());
        let (stop, stop_rx) = oneshot::channel();
        let task = tokio::spawn(report(store, config, endpoints_rx, state_tx, stop_rx));
        Reporter {
            endpoints,
            state,
            stop: Some(stop),
            task,
        }
    }

    /// The endpoint keys and values that should exist now.
    pub fn set_endpoints(&self, endpoints: BTreeMap<String, String>) {
        self.endpoints.send_if_modified(|old| {
            let changed = *old != endpoints;
            *old = endpoints;
            changed
        });
    }

    /// What it has done.
    pub fn state(&self) -> ReporterState {
        self.state.borrow().clone()
    }

    /// Revoke the lease (removing every key) and end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.task).await;
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if self.stop.is_some() {
            self.task.abort();
        }
    }
}

async fn report<D: Datastore>(
    store: D,
    config: ReporterConfig,
    mut endpoints: watch::Receiver<BTreeMap<String, String>>,
    state: watch::Sender<ReporterState>,
    mut stop: oneshot::Receiver<()>,
) {
    let key = status_key(&config.node);
    let mut first_update = true;
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    let failed = |error: String| {
        tracing::warn!(%error, "felix status not written to the datastore; retrying");
        state.send_modify(|s| {
            s.written = false;
            s.errors += 1;
            s.last_error = Some(error);
        });
    };
    loop {
        // A lease, the status key and every endpoint key on it.
        let lease = match store.grant_lease(config.ttl).await {
            Ok(lease) => lease,
            Err(e) => {
                failed(e.to_string());
                tokio::select! {
                    () = tokio::time::sleep(backoff.next_delay()) => continue,
                    _ = &mut stop => return,
                }
            }
        };
        state.send_modify(|s| s.leases += 1);
        let mut written: BTreeMap<String, String> = BTreeMap::new();
        let result = async {
            let value = status_value(SystemTime::now(), config.started.elapsed(), first_update);
            store.put_raw(&key, value.as_bytes(), Some(lease)).await?;
            first_update = false;
            let wanted = endpoints.borrow_and_update().clone();
            sync_endpoints(&store, lease, &wanted, &mut written).await
        }
        .await;
        if let Err(e) = result {
            failed(e.to_string());
            let _ = store.revoke(lease).await;
            tokio::select! {
                () = tokio::time::sleep(backoff.next_delay()) => continue,
                _ = &mut stop => return,
            }
        }
        backoff.reset();
        state.send_modify(|s| {
            s.written = true;
            s.endpoints = written.len();
        });
        let lost = run_lease(
            &store,
            &config,
            &key,
            lease,
            &mut endpoints,
            &mut written,
            &state,
            &mut stop,
        )
        .await;
        match lost {
            None => {
                let _ = store.revoke(lease).await;
                return;
            }
            Some(error) => failed(error),
        }
    }
}

/// Refresh on the timer and follow endpoint changes until the lease or a
/// write fails (`Some(why)`) or a stop (`None`).
#[allow(clippy::too_many_arguments)]
async fn run_lease<D: Datastore>(
    store: &D,
    config: &ReporterConfig,
    key: &str,
    lease: LeaseId,
    endpoints: &mut watch::Receiver<BTreeMap<String, String>>,
    written: &mut BTreeMap<String, String>,
    state: &watch::Sender<ReporterState>,
    stop: &mut oneshot::Receiver<()>,
) -> Option<String> {
    let mut ticker =
        tokio::time::interval_at(tokio::time::Instant::now() + config.refresh, config.refresh);
    loop {
        tokio::select! {
            _ = &mut *stop => return None,
            _ = ticker.tick() => {
                if let Err(e) = store.keep_alive(lease).await {
                    return Some(format!("lease lost: {e}"));
                }
                let value = status_value(SystemTime::now(), config.started.elapsed(), false);
                if let Err(e) = store.put_raw(key, value.as_bytes(), Some(lease)).await {
                    return Some(e.to_string());
                }
            }
            changed = endpoints.changed() => {
                if changed.is_err() {
                    return None;
                }
                let wanted = endpoints.borrow_and_update().clone();
                if let Err(e) = sync_endpoints(store, lease, &wanted, written).await {
                    return Some(e.to_string());
                }
                state.send_modify(|s| s.endpoints = written.len());
            }
        }
    }
}

/// Write the endpoint keys that changed and delete those that went.
async fn sync_endpoints<D: Datastore>(
    store: &D,
    lease: LeaseId,
    wanted: &BTreeMap<String, String>,
    written: &mut BTreeMap<String, String>,
) -> Result<(), reflex_datastore::DatastoreError> {
    let gone: Vec<String> = written
        .keys()
        .filter(|k| !wanted.contains_key(*k))
        .cloned()
        .collect();
    for key in gone {
        store.delete_raw(&key).await?;
        written.remove(&key);
    }
    for (key, value) in wanted {
        if written.get(key) != Some(value) {
            store.put_raw(key, value.as_bytes(), Some(lease)).await?;
            written.insert(key.clone(), value.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reflex_datastore::store::memory::MemoryStore;

    fn wep(yaml: &str) -> WorkloadEndpoint {
        match reflex_datastore::cli::parse_documents(yaml)
            .unwrap()
            .remove(0)
        {
            reflex_datastore::model::Resource::WorkloadEndpoint(w) => w,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_and_values_are_calicos() {
        assert_eq!(
            status_key("node1"),
            "/calico/felix/v2/no-region/host/node1/status"
        );
        let w = wep(
            "apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: n-k8s-pod1-eth0, namespace: prod}\nspec: {node: n, orchestrator: k8s, pod: pod1, endpoint: eth0, interfaceName: cali1}\n",
        );
        assert_eq!(
            endpoint_key("n", &w).unwrap(),
            "/calico/felix/v2/no-region/host/n/workload/k8s/prod%2fpod1/endpoint/eth0"
        );
        let mut bare = w.clone();
        bare.spec.endpoint.clear();
        assert_eq!(endpoint_key("n", &bare), None);
        assert_eq!(endpoint_value(true), r#"{"status":"up"}"#);
        assert_eq!(endpoint_value(false), r#"{"status":"down"}"#);
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_132_707);
        assert_eq!(rfc3339(at), "2026-12-01T13:45:07Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let v: serde_json::Value =
            serde_json::from_str(&status_value(at, Duration::from_millis(1500), true)).unwrap();
        assert_eq!(v["time"], "2026-12-01T13:45:07Z");
        assert_eq!(v["uptime"], 1.5);
        assert_eq!(v["first_update"], true);
    }

    #[tokio::test]
    async fn keys_are_written_on_a_lease_followed_and_revoked() {
        let store = MemoryStore::new();
        let reporter = Reporter::start(
            store.clone(),
            ReporterConfig {
                node: "n".into(),
                ttl: Duration::from_secs(90),
                refresh: Duration::from_millis(50),
                started: Instant::now(),
            },
        );
        let key = "/calico/felix/v2/no-region/host/n/workload/k8s/ns%2fw/endpoint/eth0";
        reporter.set_endpoints(BTreeMap::from([(key.to_string(), endpoint_value(true))]));
        let mut state = reporter.state.clone();
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            state.wait_for(|s| s.written && s.endpoints == 1),
        )
        .await
        .expect("written");
        let status = store.get_raw(&status_key("n")).await.unwrap().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&status).unwrap();
        assert!(v["uptime"].as_f64().unwrap() >= 0.0);
        assert_eq!(
            store.get_raw(key).await.unwrap().as_deref(),
            Some(br#"{"status":"up"}"#.as_slice())
        );
        // The lease lost (revoked by someone, or expired while etcd was
        // away): a new one, with every key written again.
        let first = state.borrow().leases;
        assert_eq!(first, 1);
        store.revoke(1).await.unwrap();
        assert_eq!(store.get_raw(&status_key("n")).await.unwrap(), None);
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            state.wait_for(|s| s.leases == 2 && s.written),
        )
        .await
        .expect("a new lease");
        assert!(store.get_raw(&status_key("n")).await.unwrap().is_some());
        assert!(store.get_raw(key).await.unwrap().is_some());
        // Gone from the input: deleted.
        reporter.set_endpoints(BTreeMap::new());
        let _ = tokio::time::timeout(Duration::from_secs(5), state.wait_for(|s| s.endpoints == 0))
            .await
            .expect("deleted");
        assert_eq!(store.get_raw(key).await.unwrap(), None);
        reporter.stop().await;
        assert_eq!(store.get_raw(&status_key("n")).await.unwrap(), None);
    }
}

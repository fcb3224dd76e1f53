//! The API's request handlers.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use bgp_proto::iana::AfiSafi;
use bgp_speaker::speaker::NeighborState;
use ipnetwork::IpNetwork;
use serde::Deserialize;

use super::types::{KernelRoute, Neighbor, ReloadResult, Route, Status};
use super::{ApiError, render};
use crate::daemon::Shared;
use crate::metrics;

type Api = State<Arc<Shared>>;

/// The families the agent carries.
const FAMILIES: [AfiSafi; 2] = [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST];

/// `GET /api/v1/status`.
pub async fn status(State(shared): Api) -> Result<Json<Status>, ApiError> {
    let agent = &shared.agent;
    let neighbors = agent.speaker().neighbors().await?;
    let config = agent.config().await?;
    let status = agent.status();
    let established = neighbors
        .iter()
        .filter(|n| n.state == NeighborState::Established)
        .count();
    let mut reflectors = BTreeMap::new();
    reflectors.insert("total".to_string(), neighbors.len());
    reflectors.insert("established".to_string(), established);
    reflectors.insert("down".to_string(), neighbors.len() - established);
    let (reloads_ok, reloads_failed) = shared.reload_counts();
    Ok(Json(Status {
        version: env!("CARGO_PKG_VERSION").to_string(),
        node: config.node_name,
        asn: config.local_as,
        router_id: config.router_id,
        uptime_seconds: shared.started.elapsed().as_secs_f64(),
        config: shared.config_name(),
        synced: status.synced,
        reflectors,
        routes_advertised: status.exported,
        routes_installed: status.installed,
        reloads_ok,
        reloads_failed,
        last_reload_error: shared.last_reload_error(),
        restart_pending: shared.restart_pending(),
        datastore: shared.datastore(),
    }))
}

async fn all_neighbors(shared: &Shared) -> Result<Vec<Neighbor>, ApiError> {
    let agent = &shared.agent;
    let mut statuses = agent.speaker().neighbors().await?;
    statuses.sort_by_key(|s| s.address);
    let config = agent.config().await?;
    let advertised = agent.advertised().await?;
    Ok(statuses
        .iter()
        .map(|s| render::neighbor(s, &config, advertised))
        .collect())
}

/// `GET /api/v1/neighbors`.
pub async fn neighbors(State(shared): Api) -> Result<Json<Vec<Neighbor>>, ApiError> {
    Ok(Json(all_neighbors(&shared).await?))
}

/// `GET /api/v1/neighbors/{address}`.
pub async fn neighbor(
    State(shared): Api,
    Path(address): Path<String>,
) -> Result<Json<Neighbor>, ApiError> {
    let address: IpAddr = address
        .parse()
        .map_err(|_| ApiError::Address(address.clone()))?;
    all_neighbors(&shared)
        .await?
        .into_iter()
        .find(|n| n.address == address)
        .map(Json)
        .ok_or(ApiError::UnknownNeighbor(address))
}

/// Query of `GET /api/v1/routes`.
#[derive(Debug, Deserialize)]
pub struct RoutesQuery {
    /// `ipv4`, `ipv6`, `ipv4-unicast`, `ipv6-unicast`.
    pub family: Option<String>,
    /// One prefix (exact match).
    pub prefix: Option<String>,
}

fn parse_family(name: &str) -> Result<AfiSafi, ApiError> {
    match name {
        "ipv4" | "ipv4-unicast" => Ok(AfiSafi::IPV4_UNICAST),
        "ipv6" | "ipv6-unicast" => Ok(AfiSafi::IPV6_UNICAST),
        _ => Err(ApiError::Family(name.to_string())),
    }
}

fn parse_prefix(text: Option<&String>) -> Result<Option<IpNetwork>, ApiError> {
    text.map(|t| {
        t.parse::<IpNetwork>()
            .map(crate::kernel::route::normalise)
            .map_err(|_| ApiError::Prefix(t.clone()))
    })
    .transpose()
}

/// `GET /api/v1/routes`: every prefix with a path from a reflector, and
/// every prefix the writer holds (a previous run's leftovers included).
pub async fn routes(
    State(shared): Api,
    Query(query): Query<RoutesQuery>,
) -> Result<Json<Vec<Route>>, ApiError> {
    let prefix = parse_prefix(query.prefix.as_ref())?;
    let families = match (&query.family, prefix) {
        (Some(name), Some(prefix)) if parse_family(name)? != render::family_of(prefix) => {
            return Err(ApiError::FamilyMismatch {
                prefix,
                family: name.clone(),
            });
        }
        (Some(name), _) => vec![parse_family(name)?],
        (None, Some(prefix)) => vec![render::family_of(prefix)],
        (None, None) => FAMILIES.to_vec(),
    };
    let agent = &shared.agent;
    let installed = agent.installed_routes().await?;
    let entries: HashMap<IpNetwork, _> = installed.routes.iter().map(|e| (e.prefix, e)).collect();
    let mut out = Vec::new();
    for family in families {
        let mut prefixes = BTreeMap::new();
        for status in agent.speaker().routes(family, prefix).await? {
            if status.paths.iter().any(|(_, from)| from.is_some()) {
                prefixes.insert(sort_key(status.prefix), (status.prefix, Some(status)));
            }
        }
        for entry in &installed.routes {
            if render::family_of(entry.prefix) == family && prefix.is_none_or(|p| p == entry.prefix)
            {
                prefixes
                    .entry(sort_key(entry.prefix))
                    .or_insert((entry.prefix, None));
            }
        }
        for (prefix, status) in prefixes.values() {
            out.push(render::route(
                *prefix,
                status.as_ref(),
                entries.get(prefix).copied(),
                installed.placement,
            ));
        }
    }
    Ok(Json(out))
}

fn sort_key(prefix: IpNetwork) -> (u128, u8) {
    let address = match prefix.network() {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    };
    (address, prefix.prefix())
}

/// Query of `GET /api/v1/kernel`.
#[derive(Debug, Deserialize)]
pub struct KernelQuery {
    /// Every route read, not only the advertised ones.
    #[serde(default)]
    pub all: bool,
    /// One prefix (exact match).
    pub prefix: Option<String>,
}

/// `GET /api/v1/kernel`.
pub async fn kernel(
    State(shared): Api,
    Query(query): Query<KernelQuery>,
) -> Result<Json<Vec<KernelRoute>>, ApiError> {
    let prefix = parse_prefix(query.prefix.as_ref())?;
    let entries = shared.agent.kernel_routes().await?;
    Ok(Json(
        entries
            .iter()
            .filter(|e| query.all || e.verdict.is_selected())
            .filter(|e| prefix.is_none_or(|p| p == e.route.key.prefix))
            .map(render::kernel_route)
            .collect(),
    ))
}

/// `GET /api/v1/felix`: Felix's state (404 without `[felix]`).
pub async fn felix(
    State(shared): Api,
) -> Result<Json<crate::felix::service::FelixStatus>, ApiError> {
    shared.felix().map(Json).ok_or(ApiError::FelixDisabled)
}

/// `POST /api/v1/reload`.
pub async fn reload(State(shared): Api) -> Result<Json<ReloadResult>, ApiError> {
    Ok(Json(shared.reload().await?))
}

/// `GET /metrics`.
pub async fn metrics(State(shared): Api) -> Result<impl IntoResponse, ApiError> {
    let neighbors = shared.agent.speaker().neighbors().await?;
    let status = shared.agent.status();
    let (reloads_ok, reloads_failed) = shared.reload_counts();
    let datastore = shared.datastore();
    let mut text = metrics::render(&metrics::Snapshot {
        neighbors: &neighbors,
        status: &status,
        uptime: shared.started.elapsed(),
        reloads_ok,
        reloads_failed,
        datastore: datastore.as_ref(),
    });
    if let Some(felix) = shared.felix() {
        text.push_str(&metrics::render_felix(&felix));
    }
    Ok(([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text))
}

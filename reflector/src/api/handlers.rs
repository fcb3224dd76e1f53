//! The API's request handlers.

use std::collections::BTreeMap;
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

use super::types::{Group, Neighbor, ReloadResult, Route, Summary, Warning};
use super::{ApiError, render};
use crate::daemon::Shared;
use crate::metrics;

type Api = State<Arc<Shared>>;

/// The families the routes endpoint walks when none is asked for.
const FAMILIES: [AfiSafi; 2] = [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST];

/// `GET /api/v1/summary`.
pub async fn summary(State(shared): Api) -> Result<Json<Summary>, ApiError> {
    let neighbors = shared.speaker.neighbors().await?;
    let groups = shared.speaker.groups().await?;
    let mut loc_rib = BTreeMap::new();
    for family in FAMILIES {
        let count = shared.speaker.routes(family, None).await?.len();
        loc_rib.insert(render::family_name(family), count);
    }
    let mut peers = BTreeMap::new();
    let established = neighbors
        .iter()
        .filter(|n| n.state == NeighborState::Established)
        .count();
    peers.insert("total".to_string(), neighbors.len());
    peers.insert("established".to_string(), established);
    peers.insert("down".to_string(), neighbors.len() - established);
    peers.insert(
        "dynamic".to_string(),
        neighbors.iter().filter(|n| n.dynamic).count(),
    );
    let config = shared.config().await;
    let warnings = crate::redundancy::check_statuses(&neighbors, &config);
    Ok(Json(Summary {
        version: env!("CARGO_PKG_VERSION").to_string(),
        asn: config.speaker.local_as,
        router_id: config.speaker.router_id,
        cluster_ids: config.cluster_ids(),
        uptime_seconds: shared.started.elapsed().as_secs_f64(),
        config: shared.source.name(),
        peers,
        prefixes_received: neighbors.iter().map(|n| n.prefixes_received).sum(),
        loc_rib_prefixes: loc_rib,
        update_groups: groups.len(),
        restart_pending: shared.restart_pending(),
        warnings: warnings
            .into_iter()
            .map(|finding| Warning {
                message: finding.to_string(),
                finding,
            })
            .collect(),
        datastore: shared.datastore().map(|link| render::datastore(link)),
    }))
}

async fn all_neighbors(shared: &Shared) -> Result<Vec<Neighbor>, ApiError> {
    let statuses = shared.speaker.neighbors().await?;
    let config = shared.config().await;
    Ok(statuses
        .iter()
        .map(|s| render::neighbor(s, &config))
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

/// `GET /api/v1/routes`.
pub async fn routes(
    State(shared): Api,
    Query(query): Query<RoutesQuery>,
) -> Result<Json<Vec<Route>>, ApiError> {
    let prefix = match &query.prefix {
        Some(text) => Some(
            text.parse::<IpNetwork>()
                .map_err(|_| ApiError::Prefix(text.clone()))?,
        ),
        None => None,
    };
    let families = match (&query.family, prefix) {
        (Some(name), Some(prefix)) => {
            let family = parse_family(name)?;
            if prefix.is_ipv4() != (family == AfiSafi::IPV4_UNICAST) {
                return Err(ApiError::FamilyMismatch {
                    prefix,
                    family: name.clone(),
                });
            }
            vec![family]
        }
        (Some(name), None) => vec![parse_family(name)?],
        (None, Some(prefix)) if prefix.is_ipv4() => vec![AfiSafi::IPV4_UNICAST],
        (None, Some(_)) => vec![AfiSafi::IPV6_UNICAST],
        (None, None) => FAMILIES.to_vec(),
    };
    let mut out = Vec::new();
    for family in families {
        for status in shared.speaker.routes(family, prefix).await? {
            let explanation = match prefix {
                Some(prefix) => Some(shared.speaker.explain(family, prefix).await?),
                None => None,
            };
            out.push(render::route(&status, explanation.as_ref()));
        }
    }
    Ok(Json(out))
}

/// `GET /api/v1/groups`.
pub async fn groups(State(shared): Api) -> Result<Json<Vec<Group>>, ApiError> {
    let groups = shared.speaker.groups().await?;
    Ok(Json(groups.iter().map(render::group).collect()))
}

/// `POST /api/v1/reload`.
pub async fn reload(State(shared): Api) -> Result<Json<ReloadResult>, ApiError> {
    Ok(Json(shared.reload().await?))
}

/// `GET /metrics`.
pub async fn metrics(State(shared): Api) -> Result<impl IntoResponse, ApiError> {
    let neighbors = shared.speaker.neighbors().await?;
    let groups = shared.speaker.groups().await?;
    let (reloads_ok, reloads_failed) = shared.reload_counts();
    let text = metrics::render(&metrics::Snapshot {
        neighbors: &neighbors,
        groups: &groups,
        uptime: shared.started.elapsed(),
        reloads_ok,
        reloads_failed,
    });
    let mut text = text;
    if let Some(link) = shared.datastore() {
        text.push_str(&metrics::render_datastore(link));
    }
    Ok(([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text))
}

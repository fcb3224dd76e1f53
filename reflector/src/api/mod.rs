//! The operations API: JSON over HTTP on a local address, and Prometheus
//! metrics.
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/api/v1/summary` | [`types::Summary`] |
//! | GET | `/api/v1/neighbors` | list of [`types::Neighbor`] |
//! | GET | `/api/v1/neighbors/{address}` | one [`types::Neighbor`], 404 if unknown |
//! | GET | `/api/v1/routes?family=ipv4&prefix=10.0.0.0/24` | list of [`types::Route`]; with `prefix`, each path carries the best-path explanation |
//! | GET | `/api/v1/groups` | list of [`types::Group`] |
//! | POST | `/api/v1/reload` | [`types::ReloadResult`], or 400 with the file's errors |
//! | GET | `/metrics` | Prometheus text exposition ([`crate::metrics`]) |
//!
//! Errors are [`types::ErrorBody`] documents with a 4xx or 5xx status.

pub mod handlers;
pub mod render;
pub mod types;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::daemon::{ReloadError, Shared};
use bgp_speaker::speaker::SpeakerError;

/// The API's routes over the daemon's state.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/summary", get(handlers::summary))
        .route("/api/v1/neighbors", get(handlers::neighbors))
        .route("/api/v1/neighbors/{address}", get(handlers::neighbor))
        .route("/api/v1/routes", get(handlers::routes))
        .route("/api/v1/groups", get(handlers::groups))
        .route("/api/v1/reload", post(handlers::reload))
        .route("/metrics", get(handlers::metrics))
        .with_state(shared)
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The speaker did not answer.
    #[error("the speaker is not answering: {0}")]
    Speaker(#[from] SpeakerError),
    /// `family` is not one the reflector knows.
    #[error("unknown family `{0}`: use ipv4 or ipv6")]
    Family(String),
    /// `prefix` does not parse.
    #[error("`{0}` is not a prefix")]
    Prefix(String),
    /// The prefix is not of the family asked for.
    #[error("prefix {prefix} is not in family {family}")]
    FamilyMismatch {
        /// The prefix.
        prefix: ipnetwork::IpNetwork,
        /// The family.
        family: String,
    },
    /// `{address}` does not parse.
    #[error("`{0}` is not an IP address")]
    Address(String),
    /// No such neighbour.
    #[error("no neighbour {0}")]
    UnknownNeighbor(IpAddr),
    /// The reload was refused.
    #[error(transparent)]
    Reload(#[from] ReloadError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::Speaker(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::UnknownNeighbor(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        let findings = match &self {
            ApiError::Reload(ReloadError::Load(crate::config::LoadError::Invalid(report))) => {
                render::findings(report)
            }
            _ => Vec::new(),
        };
        let body = types::ErrorBody {
            error: self.to_string(),
            findings,
        };
        (status, Json(body)).into_response()
    }
}

//! The operations API: JSON over HTTP on a local address (`[api] listen`,
//! `127.0.0.1:9180` by default), and Prometheus metrics. The same shape as
//! the reflector's (`bgp_reflector::api`).
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/api/v1/status` | [`types::Status`] |
//! | GET | `/api/v1/neighbors` | list of [`types::Neighbor`] (the reflector sessions) |
//! | GET | `/api/v1/neighbors/{address}` | one [`types::Neighbor`], 404 if unknown |
//! | GET | `/api/v1/routes?family=ipv4&prefix=P` | list of [`types::Route`]: learned routes and what is installed |
//! | GET | `/api/v1/kernel?all=true&prefix=P` | list of [`types::KernelRoute`]: kernel routes advertised (with `all`, every route read, with why it is not) |
//! | GET | `/api/v1/felix` | [`crate::felix::service::FelixStatus`], 404 without `[felix]` |
//! | POST | `/api/v1/reload` | [`types::ReloadResult`], or 400 with the file's findings |
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
use bgp_speaker::speaker::SpeakerError;

use crate::agent::AgentError;
use crate::config::LoadError;
use crate::daemon::{ReloadError, Shared};

/// The API's routes over the daemon's state.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/status", get(handlers::status))
        .route("/api/v1/neighbors", get(handlers::neighbors))
        .route("/api/v1/neighbors/{address}", get(handlers::neighbor))
        .route("/api/v1/routes", get(handlers::routes))
        .route("/api/v1/kernel", get(handlers::kernel))
        .route("/api/v1/felix", get(handlers::felix))
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
    /// The agent did not answer.
    #[error("the agent is not answering: {0}")]
    Agent(#[from] AgentError),
    /// `family` is not one the client knows.
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
    /// No such reflector.
    #[error("no reflector {0}")]
    UnknownNeighbor(IpAddr),
    /// The reload was refused.
    #[error(transparent)]
    Reload(#[from] ReloadError),
    /// `GET /api/v1/felix` without `[felix]`.
    #[error("felix is not enabled (no [felix] in the configuration)")]
    FelixDisabled,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::Speaker(_) | ApiError::Agent(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::UnknownNeighbor(_) | ApiError::FelixDisabled => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        let findings = match &self {
            ApiError::Reload(ReloadError::Load(LoadError::Invalid(report))) => {
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

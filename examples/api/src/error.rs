//! The one error type handlers return. Clients see a status and a short message; internal
//! details (database errors, panics, anything from `anyhow`) are logged and never sent.

use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The resource does not exist.
    #[error("not found")]
    NotFound,
    /// The request is well-formed but its content is not acceptable; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// Refused before a handler ran: a malformed body, a wrong method, a body over the limit, a
    /// request that took too long. The message says what the client can do about it.
    #[error("{1}")]
    Rejected(StatusCode, String),
    /// Anything else. The cause is logged; the client only learns that it failed.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Rejected(status, _) => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        match self {
            Self::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                let mut response =
                    (status, Json(json!({ "error": "internal error" }))).into_response();
                response.extensions_mut().insert(Cause(Arc::new(cause)));
                response
            }
            other => (status, Json(json!({ "error": other.to_string() }))).into_response(),
        }
    }
}

/// Why a request failed with an internal error, kept in its response's extensions for the
/// layers that count failures by their cause. Clients never see it.
#[derive(Clone, Debug)]
pub struct Cause(pub Arc<anyhow::Error>);

//! The WebSub callback, `/websub/{source}` (see `websub`): the hub's
//! verification of intent (GET) and its content distribution (POST).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use tracing::{debug, warn};

use crate::app::App;
use crate::websub::{self, Rejection};

/// GET: echoes `hub.challenge` for a pending subscription of this source
/// and topic in that mode; 404 otherwise.
pub(super) async fn verify(
    State(app): State<Arc<App>>,
    Path(source): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    match websub::verify(&app.store, &source, &params, Utc::now()) {
        Some(challenge) => {
            // Its renewal time is new: the task's wait is recomputed.
            app.websub_wake.notify_one();
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                challenge,
            )
                .into_response()
        }
        None => {
            debug!(source, mode = ?params.get("hub.mode"), "websub: verification refused");
            super::not_found()
        }
    }
}

/// POST: a push. Refused: over the rate (429), over `max_body_bytes`
/// (413), for a source with no subscription taking pushes (404), unsigned
/// or with a signature that does not match (403). Taken (202): an empty
/// body asks for a fetch of the source, another is ingested as the
/// source's document; both after the answer.
pub(super) async fn push(
    State(app): State<Arc<App>>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let now = Utc::now();
    let config = app.config();
    if config.source(&source).is_none_or(|s| !s.websub) {
        return super::not_found();
    }
    if !app.websub_limiter.allow(&source, now) {
        warn!(source, "websub: pushes over the rate refused");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "60")],
            "too many pushes\n",
        )
            .into_response();
    }
    let limit = usize::try_from(config.defaults.max_body_bytes).unwrap_or(usize::MAX);
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        warn!(source, limit, "websub: push over max_body_bytes refused");
        return (StatusCode::PAYLOAD_TOO_LARGE, "body too large\n").into_response();
    };
    let signature = headers.get("x-hub-signature").and_then(|v| v.to_str().ok());
    match websub::authenticate(&app.store, &source, signature, &bytes, now) {
        Ok(()) => {}
        Err(Rejection::Unknown) => {
            warn!(source, "websub: push for no subscription refused");
            return super::not_found();
        }
        Err(rejection) => {
            warn!(source, ?rejection, "websub: push refused");
            return (StatusCode::FORBIDDEN, "signature missing or wrong\n").into_response();
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    tokio::spawn(async move {
        if bytes.is_empty() {
            app.refresh_source(&source, true).await;
        } else {
            app.ingest_push(&source, &bytes, content_type.as_deref())
                .await;
        }
    });
    (StatusCode::ACCEPTED, "accepted\n").into_response()
}

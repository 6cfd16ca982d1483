//! The HTTP connection layer under the routes of [`crate::serve`]: accepts
//! connections with a cap on how many are open, and limits what one client
//! can make the daemon hold: time to send its headers (slowloris), header
//! size, and time per request. On shutdown it stops accepting and lets
//! in-flight requests finish.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tracing::debug;

/// What one client may cost. The defaults suit a feed server on the open
/// internet.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections open at once; more wait in the kernel's backlog. Default 1024.
    pub max_connections: usize,
    /// Time a client has to send its request headers. Default 10 s.
    pub header_read_timeout: Duration,
    /// Largest request head (request line and headers) in bytes; larger
    /// ones get 431. Default 16 KiB (hyper's floor is 8 KiB).
    pub max_header_bytes: usize,
    /// Time one request may take before it is answered 503. Default 30 s.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `router` on `listener` until `shutdown`, then waits for open
/// connections to finish their current request.
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let slots = std::sync::Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connections = TaskTracker::new();
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors and the like: back off briefly
                    // rather than spin.
                    debug!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let limits = limits.clone();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let _permit = permit;
            serve_connection(stream, router, &limits, shutdown).await;
            debug!(%peer, "connection closed");
        });
    }
    connections.close();
    connections.wait().await;
    Ok(())
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    limits: &Limits,
    shutdown: CancellationToken,
) {
    let request_timeout = limits.request_timeout;
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let router = router.clone();
        async move {
            let request = request.map(Body::new);
            let response =
                match tokio::time::timeout(request_timeout, router.oneshot(request)).await {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_) => timeout_response(),
                };
            Ok::<_, Infallible>(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(err) = result {
                debug!(%err, "connection ended with an error");
            }
        }
        _ = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

fn timeout_response() -> Response<Body> {
    let mut response = Response::new(Body::from("request timed out\n"));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
}

//! Shared test fixtures: a scriptable mock feed host and a daemon running
//! on 127.0.0.1 port 0 over a temporary folder.
#![allow(dead_code)]

pub mod exact;
pub mod skip;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use syndic::app::App;
use syndic::config::Config;
use syndic::daemon;
use syndic::store::Store;

/// One scripted response of the mock host.
#[derive(Clone)]
pub struct Scripted {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub etag: Option<String>,
}

impl Scripted {
    pub fn feed(content_type: &'static str, body: &str, etag: &str) -> Scripted {
        Scripted {
            status: 200,
            content_type,
            body: body.to_string(),
            etag: Some(etag.to_string()),
        }
    }
}

/// A feed host on 127.0.0.1 that serves scripted responses per path,
/// answers `If-None-Match` with 304, and records every request.
#[derive(Clone, Default)]
pub struct MockHost {
    routes: Arc<Mutex<HashMap<String, Scripted>>>,
    pub requests: Arc<Mutex<Vec<(String, HeaderMap)>>>,
    pub addr: Option<SocketAddr>,
}

impl MockHost {
    pub async fn start() -> MockHost {
        let mut host = MockHost::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        host.addr = Some(listener.local_addr().unwrap());
        let app = Router::new()
            .route("/{path}", get(serve_scripted))
            .with_state(host.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        host
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr.unwrap())
    }

    pub fn set(&self, path: &str, response: Scripted) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_string(), response);
    }

    pub fn hits(&self, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .count()
    }
}

async fn serve_scripted(
    State(host): State<MockHost>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    host.requests
        .lock()
        .unwrap()
        .push((path.clone(), headers.clone()));
    let Some(s) = host.routes.lock().unwrap().get(&path).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if s.status == 200 && s.etag.is_some() && inm == s.etag.as_deref() {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, s.etag.clone().unwrap())],
        )
            .into_response();
    }
    let mut response = (
        StatusCode::from_u16(s.status).unwrap(),
        [(header::CONTENT_TYPE, s.content_type)],
        s.body,
    )
        .into_response();
    if let Some(etag) = s.etag {
        response
            .headers_mut()
            .insert(header::ETAG, etag.parse().unwrap());
    }
    response
}

/// `i` minutes after `year-month-day` `hour`:00 UTC: item `i` of a fixture
/// feed (a real date with its real weekday, in the past however many items).
fn fixture_day(
    year: i32,
    month: u32,
    day: u32,
    i: usize,
    hour: u32,
) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(year, month, day, hour, 0, 0)
        .unwrap()
        + chrono::Duration::minutes(i as i64)
}

/// An RSS 2.0 document of `(guid, title)` items, item `i` dated 1 March 2026
/// 10:00 UTC plus `i` minutes.
pub fn rss_feed(items: &[(&str, &str)]) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Mock RSS</title><link>http://mock.example/</link><description>d</description>"#,
    );
    for (i, (guid, title)) in items.iter().enumerate() {
        xml.push_str(&format!(
            "<item><guid>{guid}</guid><title>{title}</title><link>http://mock.example/{guid}</link>\
             <description>Body of {title}</description><pubDate>{}</pubDate></item>",
            fixture_day(2026, 3, 1, i, 10).to_rfc2822()
        ));
    }
    xml.push_str("</channel></rss>");
    xml
}

/// An Atom document of `(id, title)` entries, entry `i` updated 10 February
/// 2026 08:00 UTC plus `i` minutes.
pub fn atom_feed(entries: &[(&str, &str)]) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Mock Atom</title><id>urn:mock:atom</id><updated>2026-03-05T00:00:00Z</updated><link href="http://atom.example/"/>"#,
    );
    for (i, (id, title)) in entries.iter().enumerate() {
        xml.push_str(&format!(
            "<entry><id>{id}</id><title>{title}</title><link href=\"http://atom.example/{i}\"/>\
             <updated>{}</updated><content type=\"html\">&lt;p&gt;{title} text&lt;/p&gt;</content>\
             <author><name>Writer</name></author></entry>",
            fixture_day(2026, 2, 10, i, 8).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    xml.push_str("</feed>");
    xml
}

/// A folder with a config and an articles folder, and the daemon on it.
pub struct TestDaemon {
    pub dir: PathBuf,
    pub app: Arc<App>,
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Writes `feeds.toml` in `dir` with the given sources and one `all` feed.
pub fn write_config(dir: &Path, sources: &str) -> PathBuf {
    let config = format!(
        r#"[daemon]
listen = "127.0.0.1:0"
store = "store"
public_url = "http://feeds.test"
contact = "mailto:test@example.org"

[defaults]
refresh = "1h"
min_interval = "1m"
timeout = "5s"

{sources}

[[feed]]
name = "all"
title = "All"
description = "Everything"
include = ["*"]
limit = 100
"#
    );
    let path = dir.join("feeds.toml");
    std::fs::write(&path, config).unwrap();
    path
}

impl TestDaemon {
    /// Starts the real daemon on 127.0.0.1:0 over the config in `dir`.
    pub async fn start(dir: &Path) -> TestDaemon {
        let config = Config::load(&dir.join("feeds.toml")).unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(&config.daemon.store).unwrap();
        let app = App::new(config, store).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(daemon::run(app.clone(), listener, shutdown.clone()));
        let d = TestDaemon {
            dir: dir.to_path_buf(),
            app,
            addr,
            shutdown,
            handle,
        };
        d.wait_first_refreshes().await;
        d
    }

    /// Waits until the scheduler's first refresh of every source is done.
    async fn wait_first_refreshes(&self) {
        let config = self.app.config();
        // Polled every 50 ms for up to 30 s: hostile hosts in debug builds
        // on a loaded machine can take over 10 s.
        for _ in 0..600 {
            let done = config.sources.iter().all(|s| {
                self.app
                    .store
                    .poll_state(&s.id)
                    .unwrap()
                    .is_some_and(|p| p.last_attempt.is_some())
            });
            if done && self.app.refreshes_running() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let waiting: Vec<&str> = config
            .sources
            .iter()
            .filter(|s| {
                self.app
                    .store
                    .poll_state(&s.id)
                    .ok()
                    .flatten()
                    .is_none_or(|p| p.last_attempt.is_none())
            })
            .map(|s| s.id.as_str())
            .collect();
        panic!(
            "first refreshes did not finish in 30 s: {} running, not yet tried: {waiting:?}",
            self.app.refreshes_running()
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Refreshes a source now, retrying while a scheduled one is running.
    pub async fn refresh(&self, id: &str) -> syndic::refresh::Outcome {
        for _ in 0..100 {
            if let Some(outcome) = self.app.refresh_source(id, true).await {
                return outcome;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("source {id} stayed busy");
    }

    /// A URL on the admin listener (`[daemon] admin_listen`).
    pub fn admin_url(&self, path: &str) -> String {
        let admin = self.app.admin_addr().expect("the admin listener is on");
        format!("http://{admin}{path}")
    }

    /// GET on the admin listener: the operator's pages.
    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.admin_url(path))
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.url(path))
            .send()
            .await
            .unwrap()
    }

    pub async fn json(&self, path: &str) -> serde_json::Value {
        let body = self.get(path).await.bytes().await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.handle.await.unwrap().unwrap();
    }
}

/// The `syndic` binary run in `dir` with `args`, none of the environment
/// settings of the shell that runs the tests inherited.
pub fn syndic(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_syndic"))
        .current_dir(dir)
        .args(args)
        .env_remove("SYNDIC_CONFIG")
        .env_remove("SYNDIC_STORE")
        .env_remove("STATE_DIRECTORY")
        .output()
        .unwrap()
}

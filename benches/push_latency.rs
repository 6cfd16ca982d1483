//! Real time end to end (issue 20): how long from a WebSub push reaching
//! syndic to (1) a new ETag on the feed that includes the source, (2) the
//! WebSub ping to the feed's hub and (3) the webhook POST, each measured
//! from the moment the push was sent, over 100 pushes; p50 and p99.
//!
//! One process: a mock publisher, hub and webhook receiver (axum on
//! 127.0.0.1) and the real daemon (`daemon::run`, release build). The
//! daemon subscribes to the hub its source's feed names; the bench verifies
//! the subscription as the hub, then pushes a signed document with one new
//! item, polling the feed's ETag every 2 ms, and waits 1.0 to 1.4 s before
//! the next push. Pushes closer than a second would measure the one-second
//! date rule instead: a change in the same second as one a client has seen
//! is held to the next second (`publish::hold_until`), so that two versions
//! never share a `Last-Modified`.
//!
//! Run: `cargo bench --bench push_latency`. Target: each under 1 s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::{get, post};
use hmac::{KeyInit, Mac};
use tokio_util::sync::CancellationToken;

const PUSHES: usize = 100;

#[derive(Default)]
struct Seen {
    /// The hub's subscription requests (forms).
    subscriptions: Vec<HashMap<String, String>>,
    /// When each publish ping and webhook POST arrived.
    pings: Vec<Instant>,
    hooks: Vec<Instant>,
}

type Shared = Arc<Mutex<Seen>>;

fn feed(base: &str, items: usize) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>\
         <title>News</title><link>{base}/</link><description>d</description>\
         <atom:link rel=\"hub\" href=\"{base}/hub\"/><atom:link rel=\"self\" href=\"{base}/feed.xml\"/>"
    );
    for i in (0..items).rev() {
        out.push_str(&format!(
            "<item><guid>story-{i}</guid><title>Story {i} of the harbour</title>\
             <link>{base}/story/{i}</link><pubDate>{}</pubDate>\
             <description>What happened at the harbour, part {i}.</description></item>",
            (chrono::Utc::now() - chrono::Duration::hours(1000 - i as i64)).to_rfc2822()
        ));
    }
    out.push_str("</channel></rss>");
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let seen: Shared = Arc::default();
    let mock = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", mock.local_addr().unwrap());
    let first = feed(&base, 1);
    let app = Router::new()
        .route("/feed.xml", get(move || async move { first }))
        .route(
            "/hub",
            post(|State(seen): State<Shared>, body: Bytes| async move {
                let form: HashMap<String, String> =
                    url::form_urlencoded::parse(&body).into_owned().collect();
                let mut seen = seen.lock().unwrap();
                match form.get("hub.mode").map(String::as_str) {
                    Some("publish") => seen.pings.push(Instant::now()),
                    _ => seen.subscriptions.push(form),
                }
                axum::http::StatusCode::ACCEPTED
            }),
        )
        .route(
            "/hook",
            post(|State(seen): State<Shared>| async move {
                seen.lock().unwrap().hooks.push(Instant::now());
                axum::http::StatusCode::NO_CONTENT
            }),
        )
        .with_state(seen.clone());
    tokio::spawn(async move { axum::serve(mock, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let daemon = format!("http://{}", listener.local_addr().unwrap());
    std::fs::write(
        dir.path().join("feeds.toml"),
        format!(
            "[daemon]\nlisten = \"{}\"\nadmin_listen = \"127.0.0.1:0\"\nstore = \"store\"\npublic_url = \"{daemon}\"\n\
             [defaults]\nrefresh = \"1h\"\n\
             [[source]]\nid = \"news\"\nurl = \"{base}/feed.xml\"\n\
             [[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\nlimit = 200\n\
             hub = \"{base}/hub\"\nwebhook = \"{base}/hook\"\nwebhook_secret = \"bench\"\n",
            listener.local_addr().unwrap()
        ),
    )
    .unwrap();
    let config = syndic::config::Config::load(&dir.path().join("feeds.toml")).unwrap();
    let store = syndic::store::Store::open(&config.daemon.store).unwrap();
    let app = syndic::app::App::new(config, store).unwrap();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(syndic::daemon::run(app.clone(), listener, shutdown.clone()));
    let client = reqwest::Client::new();

    // The subscription, verified as the hub.
    let request = loop {
        if let Some(r) = seen.lock().unwrap().subscriptions.first().cloned() {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let verified = client
        .get(format!("{daemon}/websub/news"))
        .query(&[
            ("hub.mode", "subscribe"),
            ("hub.topic", request["hub.topic"].as_str()),
            ("hub.challenge", "c"),
            ("hub.lease_seconds", "86400"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
    let secret = request["hub.secret"].clone();
    // The first publication's ping and webhook are not measured.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let etag = |client: reqwest::Client| {
        let url = format!("{daemon}/feeds/all.json");
        async move {
            client
                .head(url)
                .send()
                .await
                .unwrap()
                .headers()
                .get("etag")
                .map(|v| v.to_str().unwrap().to_string())
        }
    };
    let (mut to_etag, mut to_ping, mut to_hook) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..PUSHES {
        let body = feed(&base, i + 2);
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        let before = etag(client.clone()).await;
        let (pings, hooks) = {
            let seen = seen.lock().unwrap();
            (seen.pings.len(), seen.hooks.len())
        };
        let start = Instant::now();
        let status = client
            .post(format!("{daemon}/websub/news"))
            .header("content-type", "application/rss+xml")
            .header("x-hub-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 202);
        loop {
            if etag(client.clone()).await != before {
                to_etag.push(start.elapsed().as_secs_f64() * 1e3);
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "no new ETag");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        loop {
            let arrived = {
                let seen = seen.lock().unwrap();
                seen.pings
                    .get(pings)
                    .copied()
                    .zip(seen.hooks.get(hooks).copied())
            };
            if let Some((ping, hook)) = arrived {
                to_ping.push((ping - start).as_secs_f64() * 1e3);
                to_hook.push((hook - start).as_secs_f64() * 1e3);
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no ping or webhook"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(1000 + (i as u64 * 37) % 400)).await;
    }
    shutdown.cancel();
    let _ = running.await;
    println!("{PUSHES} pushes, each measured from the push request:");
    for (name, mut times) in [
        ("push -> new ETag on /feeds/all.json", to_etag),
        ("push -> WebSub ping at our hub", to_ping),
        ("push -> webhook POST", to_hook),
    ] {
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{name}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times.last().unwrap()
        );
    }
}

//! WebSub subscriber end to end: a mock publisher whose feeds name a mock
//! hub, both on 127.0.0.1, and the real daemon, whose `public_url` is its
//! own address. The test plays the hub's part in the verification of
//! intent and the content distribution.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{ConfigFile, Feed, Item, MockHost, Reply, TestDaemon};
use hmac::{KeyInit, Mac};
use syndic::model::PollReason;

/// The publisher's feed `path` naming `hub` and itself, with these titles.
fn feed(publisher: &MockHost, hub: &str, path: &str, titles: &[&str]) -> String {
    Feed::rss("News", &publisher.url("/"))
        .xmlns("xmlns:atom=\"http://www.w3.org/2005/Atom\"")
        .channel(&format!(
            "<atom:link rel=\"hub\" href=\"{hub}\"/><atom:link rel=\"self\" href=\"{}\"/>",
            publisher.url(path)
        ))
        .items(titles.iter().enumerate().map(|(i, t)| {
            Item::new(&format!("{path}-{t}"), t)
                .link(&publisher.url(&format!("{path}/{i}-{}", t.replace(' ', "-"))))
                .date(common::fixture_day(2026, 11, 1, i, 9))
        }))
        .render()
}

struct World {
    publisher: MockHost,
    hub: MockHost,
    dir: tempfile::TempDir,
    daemon: TestDaemon,
    client: reqwest::Client,
}

/// The config of a world: sources `news` and `other` on the publisher.
fn write_config(dir: &std::path::Path, port: u16, publisher: &MockHost, sources: &[&str]) {
    let mut text = String::new();
    for id in sources {
        text.push_str(&format!(
            "[[source]]\nid = \"{id}\"\nurl = \"{}\"\n\n",
            publisher.url(&format!("/{id}.xml"))
        ));
    }
    ConfigFile::bare()
        .daemon(&format!(
            "listen = \"127.0.0.1:{port}\"\nadmin_listen = \"127.0.0.1:0\"\nstore = \"store\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
             contact = \"mailto:test@example.org\""
        ))
        .defaults("refresh = \"1h\"\nmin_interval = \"1m\"\ntimeout = \"5s\"\nmax_body_bytes = \"64KiB\"")
        .sources(&text)
        .all_feed("[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n")
        .write(dir);
}

impl World {
    async fn start() -> World {
        let publisher = MockHost::start().await;
        let hub = MockHost::start().await;
        hub.set("/hub", Reply::status(202));
        let hub_url = hub.url("/hub");
        for id in ["news", "other"] {
            publisher.set(
                &format!("/{id}.xml"),
                Reply::feed(
                    "application/rss+xml",
                    feed(&publisher, &hub_url, &format!("/{id}.xml"), &["First"]),
                    "\"v1\"",
                ),
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let listener = common::daemon::listener("127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        write_config(dir.path(), port, &publisher, &["news", "other"]);
        let daemon = TestDaemon::spawn_on(dir.path(), listener);
        daemon.wait_first_refreshes().await;
        World {
            publisher,
            hub,
            dir,
            daemon,
            client: reqwest::Client::new(),
        }
    }

    /// The form of each request the hub got, in order.
    fn hub_requests(&self) -> Vec<HashMap<String, String>> {
        self.hub
            .seen()
            .into_iter()
            .filter(|s| s.path == "/hub")
            .map(|s| url::form_urlencoded::parse(&s.body).into_owned().collect())
            .collect()
    }

    async fn wait_hub_requests(&self, n: usize) -> Vec<HashMap<String, String>> {
        for _ in 0..400 {
            if self.hub_requests().len() >= n {
                return self.hub_requests();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the hub got {:?}, not {n} requests", self.hub_requests());
    }

    /// The hub's subscription request for `source`.
    async fn request_of(&self, source: &str, mode: &str) -> HashMap<String, String> {
        for _ in 0..400 {
            let found = self.hub_requests().into_iter().rev().find(|r| {
                r["hub.callback"].ends_with(&format!("/websub/{source}")) && r["hub.mode"] == mode
            });
            if let Some(found) = found {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no {mode} request for {source}: {:?}", self.hub_requests());
    }

    /// The hub's verification GET; its status and body.
    async fn verify(&self, source: &str, params: &[(&str, &str)]) -> (u16, String) {
        let response = self
            .client
            .get(self.daemon.url(&format!("/websub/{source}")))
            .query(params)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Verifies `source`'s pending subscription as the hub would, with
    /// `lease` seconds; its secret.
    async fn verify_subscription(&self, source: &str, lease: &str) -> String {
        let request = self.request_of(source, "subscribe").await;
        let (status, body) = self
            .verify(
                source,
                &[
                    ("hub.mode", "subscribe"),
                    ("hub.topic", &request["hub.topic"]),
                    ("hub.challenge", "c-123"),
                    ("hub.lease_seconds", lease),
                ],
            )
            .await;
        assert_eq!((status, body.as_str()), (200, "c-123"));
        request["hub.secret"].clone()
    }

    /// A push of `body` to `source`'s callback with this signature header.
    async fn push(&self, source: &str, body: &str, signature: Option<String>) -> u16 {
        let mut request = self
            .client
            .post(self.daemon.url(&format!("/websub/{source}")))
            .header("content-type", "application/rss+xml")
            .body(body.to_string());
        if let Some(signature) = signature {
            request = request.header("x-hub-signature", signature);
        }
        request.send().await.unwrap().status().as_u16()
    }

    fn titles(&self, source: &str) -> Vec<String> {
        let mut titles: Vec<String> = self
            .daemon
            .app
            .store
            .source_items(source)
            .unwrap()
            .into_iter()
            .filter_map(|i| i.entry.title)
            .collect();
        titles.sort();
        titles
    }

    async fn wait_titles(&self, source: &str, want: &[&str]) {
        for _ in 0..400 {
            if self.titles(source) == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{source} holds {:?}, not {want:?}", self.titles(source));
    }

    fn websub_status(&self, source: &str) -> Option<String> {
        let config = self.daemon.app.config();
        syndic::admin::source_rows(&config, &self.daemon.app.store)
            .unwrap()
            .into_iter()
            .find(|r| r.id == source)
            .and_then(|r| r.websub)
    }
}

fn sign256(secret: &str, body: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn sign1(secret: &str, body: &str) -> String {
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_source_is_subscribed_verified_and_fed_by_signed_pushes() {
    let w = World::start().await;
    let port = w.daemon.addr.port();
    let request = w.request_of("news", "subscribe").await;
    assert_eq!(
        request["hub.callback"],
        format!("http://127.0.0.1:{port}/websub/news")
    );
    assert_eq!(request["hub.topic"], w.publisher.url("/news.xml"));
    assert_eq!(request["hub.lease_seconds"], "864000");
    let secret = request["hub.secret"].clone();
    assert_eq!(secret.len(), 64);
    assert!(w.websub_status("news").unwrap().starts_with("pending at "));

    // Only a pending subscription, of that topic and mode, is echoed.
    let topic = request["hub.topic"].clone();
    for (source, mode, topic) in [
        ("news", "subscribe", "http://elsewhere.test/feed.xml"),
        ("news", "unsubscribe", topic.as_str()),
        ("nobody", "subscribe", topic.as_str()),
    ] {
        let (status, _) = w
            .verify(
                source,
                &[
                    ("hub.mode", mode),
                    ("hub.topic", topic),
                    ("hub.challenge", "x"),
                ],
            )
            .await;
        assert_eq!(status, 404, "{source} {mode} {topic}");
    }
    assert_eq!(w.verify_subscription("news", "600").await, secret);
    assert!(w.websub_status("news").unwrap().starts_with("active at "));
    let index = w.daemon.admin_get("/").await.text().await.unwrap();
    assert!(index.contains("WebSub active at "), "{index}");
    // Verified: no longer pending.
    let (status, _) = w
        .verify(
            "news",
            &[
                ("hub.mode", "subscribe"),
                ("hub.topic", &topic),
                ("hub.challenge", "x"),
            ],
        )
        .await;
    assert_eq!(status, 404);

    // A signed fat ping is ingested like a poll, without a fetch.
    let fetched = w.publisher.hits("/news.xml");
    let pushed = feed(
        &w.publisher,
        &w.hub.url("/hub"),
        "/news.xml",
        &["Pushed", "First"],
    );
    assert_eq!(
        w.push("news", &pushed, Some(sign256(&secret, &pushed)))
            .await,
        202
    );
    w.wait_titles("news", &["First", "Pushed"]).await;
    let mut served = String::new();
    for _ in 0..200 {
        served = w.daemon.get("/feeds/all.json").await.text().await.unwrap();
        if served.contains("Pushed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(served.contains("Pushed"), "{served}");
    // sha1 signatures are taken too.
    let pushed = feed(
        &w.publisher,
        &w.hub.url("/hub"),
        "/news.xml",
        &["Again", "Pushed", "First"],
    );
    assert_eq!(
        w.push("news", &pushed, Some(sign1(&secret, &pushed))).await,
        202
    );
    w.wait_titles("news", &["Again", "First", "Pushed"]).await;
    assert_eq!(w.publisher.hits("/news.xml"), fetched);

    // Refused, and nothing stored: a wrong signature, none, a body over
    // max_body_bytes, a source with no subscription taking pushes, and a
    // push signed for one source sent to another.
    let bad = feed(&w.publisher, &w.hub.url("/hub"), "/news.xml", &["Forged"]);
    assert_eq!(
        w.push("news", &bad, Some(sign256("not the secret", &bad)))
            .await,
        403
    );
    assert_eq!(w.push("news", &bad, Some("sha256=zz".into())).await, 403);
    assert_eq!(w.push("news", &bad, None).await, 403);
    let big = format!("{bad}{}", " ".repeat(70 * 1024));
    assert_eq!(
        w.push("news", &big, Some(sign256(&secret, &big))).await,
        413
    );
    assert_eq!(
        w.push("nobody", &bad, Some(sign256(&secret, &bad))).await,
        404
    );
    w.verify_subscription("other", "600").await;
    let for_other = feed(&w.publisher, &w.hub.url("/hub"), "/other.xml", &["Forged"]);
    assert_eq!(
        w.push("other", &for_other, Some(sign256(&secret, &for_other)))
            .await,
        403
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.titles("news"), ["Again", "First", "Pushed"]);
    assert_eq!(w.titles("other"), ["First"]);

    // A thin ping (no body) fetches the source once; a pushed source is
    // then polled at the slow end.
    assert_eq!(w.push("news", "", Some(sign256(&secret, ""))).await, 202);
    assert!(
        w.publisher
            .wait_hits("/news.xml", fetched + 1, Duration::from_secs(10))
            .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.publisher.hits("/news.xml"), fetched + 1);
    let state = w.daemon.app.store.poll_state("news").unwrap().unwrap();
    assert_eq!(state.next_poll_reason, PollReason::Pushed);
    w.daemon.stop().await;
}

#[tokio::test]
async fn a_short_lease_is_renewed_and_a_removed_source_unsubscribed() {
    let w = World::start().await;
    let secret = w.verify_subscription("news", "3").await;
    let requests = w.hub_requests().len();
    // Renewed when a third of the lease is left (after about 2 s), with
    // the same secret.
    let renewals = w.wait_hub_requests(requests + 1).await;
    let renewal = renewals.last().unwrap();
    assert_eq!(renewal["hub.mode"], "subscribe");
    assert!(
        renewal["hub.callback"].ends_with("/websub/news"),
        "{renewal:?}"
    );
    assert_eq!(renewal["hub.secret"], secret);
    // While the renewal is pending, pushes under the running lease are
    // still taken.
    let pushed = feed(
        &w.publisher,
        &w.hub.url("/hub"),
        "/news.xml",
        &["During renewal", "First"],
    );
    assert_eq!(
        w.push("news", &pushed, Some(sign256(&secret, &pushed)))
            .await,
        202
    );
    w.verify_subscription("news", "600").await;

    // The source leaves the config: unsubscribed, and the hub's
    // verification of that is echoed once.
    write_config(w.dir.path(), w.daemon.addr.port(), &w.publisher, &["other"]);
    syndic::daemon::reload(&w.daemon.app).await.unwrap();
    let request = w.request_of("news", "unsubscribe").await;
    assert_eq!(request["hub.topic"], w.publisher.url("/news.xml"));
    let params = [
        ("hub.mode", "unsubscribe"),
        ("hub.topic", request["hub.topic"].as_str()),
        ("hub.challenge", "bye"),
    ];
    assert_eq!(w.verify("news", &params).await, (200, "bye".to_string()));
    assert_eq!(w.verify("news", &params).await.0, 404);
    assert!(w.daemon.app.store.subscriptions("news").unwrap().is_empty());
    w.daemon.stop().await;
}

#[tokio::test]
async fn a_public_hub_is_not_asked_to_call_a_loopback_public_url() {
    let publisher = MockHost::start().await;
    publisher.set(
        "/news.xml",
        Reply::feed(
            "application/rss+xml",
            feed(
                &publisher,
                "https://hub.example.com/",
                "/news.xml",
                &["First"],
            ),
            "\"v1\"",
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let listener = common::daemon::listener("127.0.0.1:0");
    let port = listener.local_addr().unwrap().port();
    write_config(dir.path(), port, &publisher, &["news"]);
    let daemon = TestDaemon::spawn_on(dir.path(), listener);
    daemon.wait_first_refreshes().await;
    let mut status = None;
    for _ in 0..200 {
        let config = daemon.app.config();
        status = syndic::admin::source_rows(&config, &daemon.app.store)
            .unwrap()
            .remove(0)
            .websub;
        if status.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let status = status.expect("a WebSub status");
    assert!(
        status.starts_with("failed at https://hub.example.com/: public_url (http://127.0.0.1:"),
        "{status}"
    );
    assert!(status.contains("is not reachable from the hub"), "{status}");
    daemon.stop().await;
}

#[tokio::test]
async fn a_moved_source_changes_its_subscription_and_an_opted_out_one_has_none() {
    let w = World::start().await;
    w.verify_subscription("news", "600").await;
    w.verify_subscription("other", "600").await;
    // `news` moves to another URL whose feed names another topic; `other`
    // opts out.
    let hub_url = w.hub.url("/hub");
    w.publisher.set(
        "/moved.xml",
        Reply::feed(
            "application/rss+xml",
            feed(&w.publisher, &hub_url, "/moved.xml", &["First"]),
            "\"m1\"",
        ),
    );
    let text = std::fs::read_to_string(w.dir.path().join("feeds.toml"))
        .unwrap()
        .replace("/news.xml", "/moved.xml")
        .replace(
            &format!("url = \"{}\"\n", w.publisher.url("/other.xml")),
            &format!(
                "url = \"{}\"\nwebsub = false\n",
                w.publisher.url("/other.xml")
            ),
        );
    assert!(
        text.contains("websub = false") && text.contains("/moved.xml"),
        "{text}"
    );
    std::fs::write(w.dir.path().join("feeds.toml"), text).unwrap();
    syndic::daemon::reload(&w.daemon.app).await.unwrap();
    let leaving = w.request_of("other", "unsubscribe").await;
    assert_eq!(leaving["hub.topic"], w.publisher.url("/other.xml"));
    // The moved source: the old topic unsubscribed, the new one subscribed.
    let mut new = None;
    for _ in 0..400 {
        new = w.hub_requests().into_iter().find(|r| {
            r["hub.mode"] == "subscribe" && r["hub.topic"] == w.publisher.url("/moved.xml")
        });
        if new.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let new = new.expect("a subscription to the moved topic");
    assert!(new["hub.callback"].ends_with("/websub/news"));
    let old = w.request_of("news", "unsubscribe").await;
    assert_eq!(old["hub.topic"], w.publisher.url("/news.xml"));
    w.daemon.stop().await;
}

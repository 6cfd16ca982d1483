//! Private sources (issue 19): headers from the environment, basic auth
//! from a file and a User-Agent of their own, sent only to the source's
//! origin, never shared with a source polling the same URL without them,
//! and never shown: the real daemon under a pretend systemd, its log,
//! pages, metrics and CLI output searched for the secrets.

mod common;

use common::{Daemon, MockHost, Reply, rss_feed, syndic_text};

const TOKEN: &str = "tok-5ecret-4f2a";
const PASSWORD: &str = "pw-hunter2-9c1e";

#[test]
fn credentials_reach_the_host_alone_and_no_output_shows_them() {
    let host = MockHost::start_blocking();
    let other = MockHost::start_blocking();
    // The feed answers only a request with every credential.
    let feed = rss_feed(&[("g1", "Private one")]);
    host.set_with("feed.xml", move |seen| {
        let basic = format!(
            "Basic {}",
            base64_encode(format!("me:{PASSWORD}").as_bytes())
        );
        if seen.get("x-api-key") == Some(TOKEN)
            && seen.get("authorization") == Some(basic.as_str())
            && seen.get("user-agent") == Some("news-reader/2.0")
        {
            Reply::feed("application/rss+xml", feed.clone(), "\"v1\"")
        } else {
            Reply::status(401)
        }
    });
    // A redirect to another origin: the credentials stay behind.
    host.set("moved.xml", Reply::redirect(302, &other.url("feed.xml")));
    other.set(
        "feed.xml",
        Reply::feed(
            "application/rss+xml",
            rss_feed(&[("m1", "Moved one")]),
            "\"m\"",
        ),
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("news.pass"), format!("{PASSWORD}\n")).unwrap();
    let private = "headers = { \"X-Api-Key\" = \"${NEWS_KEY}\" }\n\
                   basic_auth = { user = \"me\", password_file = \"news.pass\" }\n\
                   user_agent = \"news-reader/2.0\"\n";
    std::fs::write(
        dir.path().join("feeds.toml"),
        format!(
            "[daemon]\nlisten = \"127.0.0.1:0\"\nstore = \"store\"\n\n\
             [[source]]\nid = \"private\"\nurl = \"{feed}\"\n{private}\n\
             [[source]]\nid = \"public\"\nurl = \"{feed}\"\n\n\
             [[source]]\nid = \"moved\"\nurl = \"{moved}\"\n{private}\n\
             [[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n",
            feed = host.url("feed.xml"),
            moved = host.url("moved.xml"),
        ),
    )
    .unwrap();

    let daemon = Daemon::start(dir.path(), &[("NEWS_KEY", TOKEN)]);
    let all = daemon.get_until("/feeds/all.rss", "Moved one");
    assert!(all.contains("Private one"), "{all}");

    // The private source's request had its credentials; the public one,
    // same URL, had none and was refused: no request was shared.
    let to_feed: Vec<_> = host
        .seen()
        .into_iter()
        .filter(|s| s.path == "/feed.xml")
        .collect();
    assert!(to_feed.iter().any(|s| s.get("x-api-key") == Some(TOKEN)));
    assert!(
        to_feed
            .iter()
            .any(|s| s.get("x-api-key").is_none() && s.get("authorization").is_none()),
        "the public source asked on its own"
    );
    let (_, sources) = syndic_text(dir.path(), &["sources"]);
    assert!(sources.contains("401"), "{sources}");
    // The other origin saw none of them.
    for seen in other.seen() {
        assert_eq!(seen.get("x-api-key"), None);
        assert_eq!(seen.get("authorization"), None);
        assert_ne!(seen.get("user-agent"), Some("news-reader/2.0"));
    }

    // `serve`, `check` and `fetch` need the variable; the commands that
    // read the store run without the daemon's environment.
    let (ok, refused) = syndic_text(dir.path(), &["check"]);
    assert!(
        !ok && refused.contains("the environment variable `NEWS_KEY` is not set"),
        "{refused}"
    );

    // No secret in anything syndic shows.
    let (_, index) = daemon.get("/");
    let (_, admin_index) = daemon.admin_get("/");
    let (_, metrics) = daemon.admin_get("/metrics");
    let (_, json) = syndic_text(dir.path(), &["sources", "--json"]);
    let (_, opml) = syndic_text(dir.path(), &["export-opml", "--include-secrets"]);
    let check = common::syndic_command(dir.path())
        .env("NEWS_KEY", TOKEN)
        .arg("check")
        .output()
        .unwrap();
    assert!(check.status.success());
    let check = String::from_utf8_lossy(&check.stdout).to_string();
    let (status, log, _) = daemon.stop();
    assert!(status.success());
    for (what, text) in [
        ("index", &index),
        ("operator's index", &admin_index),
        ("metrics", &metrics),
        ("sources", &sources),
        ("sources --json", &json),
        ("export-opml", &opml),
        ("check", &check),
        ("log", &log),
    ] {
        assert!(
            !text.contains(TOKEN) && !text.contains(PASSWORD),
            "a secret in the {what}: {text}"
        );
    }
}

/// The daemon's environment is read at start: a reload whose config needs
/// a variable the daemon was not given is rejected, the running config
/// keeps serving, and the message names the variable and its place.
#[test]
fn a_reload_that_needs_an_unset_variable_is_rejected_with_its_place() {
    let host = MockHost::start_blocking();
    host.set(
        "feed.xml",
        Reply::feed(
            "application/rss+xml",
            rss_feed(&[("g1", "Kept one")]),
            "\"v1\"",
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let write = |headers: &str| {
        std::fs::write(
            dir.path().join("feeds.toml"),
            format!(
                "[daemon]\nlisten = \"127.0.0.1:0\"\nstore = \"store\"\n\n\
                 [[source]]\nid = \"news\"\nurl = \"{}\"\n{headers}\n\
                 [[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n",
                host.url("feed.xml")
            ),
        )
        .unwrap();
    };
    write("");
    let mut daemon = Daemon::start(dir.path(), &[]);
    daemon.get_until("/feeds/all.rss", "Kept one");
    write("headers = { \"X-Api-Key\" = \"${SYNDIC_TEST_NEVER_SET}\" }\n");
    daemon.signal("HUP");
    let log = daemon.log_until(|log| log.contains("reload rejected"));
    assert!(
        log.contains("feeds.toml:8:")
            && log.contains("the environment variable `SYNDIC_TEST_NEVER_SET` is not set"),
        "{log}"
    );
    daemon.wait_for("READY=1");
    let (status, feed) = daemon.get("/feeds/all.rss");
    assert_eq!(status, 200);
    assert!(feed.contains("Kept one"), "{feed}");
    let (status, _, _) = daemon.stop();
    assert!(status.success());
}

/// RFC 4648 base64, for the expected `Authorization` header.
fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

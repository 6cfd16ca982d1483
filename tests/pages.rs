//! Pages for people and an article's media, end to end on the real daemon:
//! each feed's HTML page, autodiscovery links on every page, browsers sent
//! the page at a feed's address, files beside an article served under its
//! page with Range support, and the `enclosure` front matter key in every
//! format.

mod common;

use std::path::Path;

use reqwest::StatusCode;

use common::{TestDaemon, write_config};

const ARTICLES: &str = "[[source]]\nid = \"local\"\npath = \"articles\"\nrefresh = \"1h\"\n";

/// What Chromium sends when a person opens a URL.
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    common::write_file(&dir.join("articles"), rel, bytes);
}

/// 10,000 bytes that say where they are: byte `i` is `i % 251`.
fn audio_bytes() -> Vec<u8> {
    (0..10_000u32).map(|i| (i % 251) as u8).collect()
}

/// An article with an image, a link to a file beside it, a missing image,
/// an enclosure beside it; another with an enclosure at a URL.
fn media_folder(dir: &Path) {
    write(
        dir,
        "posts/episode.md",
        b"+++\ntitle = \"Episode one\"\ndate = 2026-03-10T00:00:00Z\nenclosure = \"media/ep 1.mp3\"\n+++\n\
          Listen. ![cover](img/cover.png) and [the notes](notes.pdf) and ![gone](img/missing.png).\n",
    );
    write(dir, "posts/img/cover.png", b"\x89PNG\r\n\x1a\nnot really");
    write(dir, "posts/notes.pdf", b"%PDF-1.4 notes");
    write(dir, "posts/media/ep 1.mp3", &audio_bytes());
    write(dir, "posts/secret.txt.bak", b"never served");
    write(
        dir,
        "remote.md",
        b"+++\ntitle = \"Remote media\"\ndate = 2026-03-09T00:00:00Z\nenclosure = \"https://cdn.example.org/a/show.ogg\"\n+++\nA show.\n",
    );
}

async fn text(response: reqwest::Response) -> String {
    response.text().await.unwrap()
}

async fn get_with(d: &TestDaemon, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    // A client that neither asks for nor undoes a content coding by itself.
    let client = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap();
    let mut request = client.get(d.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_feed_has_a_page_and_every_page_names_the_feeds() {
    let dir = tempfile::tempdir().unwrap();
    media_folder(dir.path());
    write_config(dir.path(), ARTICLES);
    let d = TestDaemon::start(dir.path()).await;

    // The feed's page: its title, description, each format's address to
    // copy, the items with their dates and text, autodiscovery links.
    let r = d.get("/feeds/all.html").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let page = text(r).await;
    for want in [
        "<title>All</title>",
        "<h1>All</h1>",
        "<p>Everything</p>",
        "value=\"http://feeds.test/feeds/all.rss\"",
        "value=\"http://feeds.test/feeds/all.atom\"",
        "value=\"http://feeds.test/feeds/all.json\"",
        "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"All (RSS)\" href=\"http://feeds.test/feeds/all.rss\">",
        "<link rel=\"alternate\" type=\"application/atom+xml\"",
        "<link rel=\"alternate\" type=\"application/feed+json\"",
        ">Episode one</a></h2>",
        "<time datetime=\"2026-03-10T00:00:00+00:00\">10 March 2026, 00:00 UTC</time>",
        "<p>Listen. and the notes and .</p>",
        "href=\"http://feeds.test/articles/posts-episode\"",
    ] {
        assert!(page.contains(want), "{want} not in {page}");
    }
    assert!(
        page.find("Episode one") < page.find("Remote media"),
        "newest first"
    );
    // Stored bytes with validators, like the feeds.
    let again = get_with(&d, "/feeds/all.html", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let gz = get_with(&d, "/feeds/all.html", &[("accept-encoding", "gzip")]).await;
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(
        d.get("/feeds/nothing.html").await.status(),
        StatusCode::NOT_FOUND
    );

    // The index and an article page carry the same autodiscovery links.
    let index = text(d.get("/").await).await;
    assert!(index.contains("<link rel=\"alternate\" type=\"application/rss+xml\" title=\"All (RSS)\" href=\"http://feeds.test/feeds/all.rss\">"), "{index}");
    assert!(index.contains("href=\"/feeds/all.html\""), "{index}");
    assert!(index.contains("copy one of its addresses"), "{index}");
    let article = text(d.get("/articles/posts-episode").await).await;
    assert!(article.contains("<link rel=\"alternate\" type=\"application/atom+xml\" title=\"All (Atom)\" href=\"http://feeds.test/feeds/all.atom\">"), "{article}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_at_a_feed_address_gets_the_page_and_readers_get_the_feed() {
    let dir = tempfile::tempdir().unwrap();
    media_folder(dir.path());
    write_config(dir.path(), ARTICLES);
    let d = TestDaemon::start(dir.path()).await;
    let page = get_with(&d, "/feeds/all.rss", &[("accept", BROWSER_ACCEPT)]).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers()["vary"], "Accept-Encoding, Accept");
    let page_tag = page.headers()["etag"].to_str().unwrap().to_string();
    assert!(text(page).await.contains("<h1>All</h1>"));
    for accept in [
        None,
        Some("*/*"),
        Some("application/rss+xml, application/atom+xml, text/html;q=0.5"),
        Some(
            "application/atom+xml,application/rdf+xml,application/rss+xml,application/x-netcdf,application/xml;q=0.9,text/xml;q=0.2,*/*;q=0.1",
        ),
    ] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
        let feed = get_with(&d, "/feeds/all.rss", &headers).await;
        assert_eq!(
            feed.headers()["content-type"],
            "application/rss+xml; charset=utf-8",
            "{accept:?}"
        );
        assert_eq!(feed.headers()["vary"], "Accept-Encoding, Accept");
        assert_ne!(feed.headers()["etag"].to_str().unwrap(), page_tag);
        assert!(text(feed).await.contains("<rss"));
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_beside_an_article_are_served_under_its_page_with_ranges() {
    let dir = tempfile::tempdir().unwrap();
    media_folder(dir.path());
    // A symlink out of the folder, referred to like an image.
    #[cfg(unix)]
    {
        std::fs::write(dir.path().join("outside.png"), b"outside").unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("outside.png"),
            dir.path().join("articles/posts/img/out.png"),
        )
        .unwrap();
        write(
            dir.path(),
            "posts/leak.md",
            b"+++\ntitle = \"Leak\"\n+++\n![x](img/out.png) [up](../remote.md)\n",
        );
    }
    write_config(dir.path(), ARTICLES);
    let d = TestDaemon::start(dir.path()).await;

    let image = d.get("/articles/posts-episode/img/cover.png").await;
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert!(
        image.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    let last_modified = image.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        image.bytes().await.unwrap().as_ref(),
        b"\x89PNG\r\n\x1a\nnot really"
    );
    let again = get_with(
        &d,
        "/articles/posts-episode/img/cover.png",
        &[("if-modified-since", &last_modified)],
    )
    .await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let pdf = d.get("/articles/posts-episode/notes.pdf").await;
    assert_eq!(pdf.headers()["content-type"], "application/pdf");

    // Range, as podcast apps ask: 206 with the bytes, 416 past the end.
    let audio = audio_bytes();
    let whole = d.get("/articles/posts-episode/media/ep%201.mp3").await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.headers()["content-type"], "audio/mpeg");
    assert_eq!(whole.bytes().await.unwrap().as_ref(), &audio[..]);
    let part = get_with(
        &d,
        "/articles/posts-episode/media/ep%201.mp3",
        &[("range", "bytes=1000-1999")],
    )
    .await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], "bytes 1000-1999/10000");
    assert_eq!(part.bytes().await.unwrap().as_ref(), &audio[1000..2000]);
    let tail = get_with(
        &d,
        "/articles/posts-episode/media/ep%201.mp3",
        &[("range", "bytes=-10")],
    )
    .await;
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &audio[9990..]);
    let past = get_with(
        &d,
        "/articles/posts-episode/media/ep%201.mp3",
        &[("range", "bytes=20000-")],
    )
    .await;
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    // Only what the article refers to, inside the folder.
    for path in [
        "/articles/posts-episode/secret.txt.bak",
        "/articles/posts-episode/img/missing.png",
        "/articles/posts-episode/../remote.md",
        "/articles/posts-episode/%2e%2e/remote.md",
        "/articles/remote/img/cover.png",
        "/articles/leak/img/out.png",
        "/articles/nothing/img/cover.png",
    ] {
        assert_eq!(d.get(path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }

    // The feeds carry absolute URLs under the page; the missing image is a
    // warning naming the file.
    let rss = text(d.get("/feeds/all.rss").await).await;
    assert!(
        rss.contains("src=\"http://feeds.test/articles/posts-episode/img/cover.png\""),
        "{rss}"
    );
    assert!(
        rss.contains("href=\"http://feeds.test/articles/posts-episode/notes.pdf\""),
        "{rss}"
    );
    let state = d.app.store.poll_state("local").unwrap().unwrap();
    assert!(
        state
            .parse_warnings
            .iter()
            .any(|w| w
                == "posts/episode.md: image `img/missing.png` is not a file beside the article"),
        "{:?}",
        state.parse_warnings
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enclosure_key_becomes_an_enclosure_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    media_folder(dir.path());
    write(
        dir.path(),
        "bad.md",
        b"+++\ntitle = \"Bad\"\ndate = 2026-03-01T00:00:00Z\nenclosure = \"nowhere.mp3\"\n+++\nText.\n",
    );
    write_config(dir.path(), ARTICLES);
    let d = TestDaemon::start(dir.path()).await;
    let local = "http://feeds.test/articles/posts-episode/media/ep%201.mp3";

    let rss = text(d.get("/feeds/all.rss").await).await;
    assert!(
        rss.contains(&format!(
            "<enclosure url=\"{local}\" length=\"10000\" type=\"audio/mpeg\"/>"
        )),
        "{rss}"
    );
    assert!(
        rss.contains("<enclosure url=\"https://cdn.example.org/a/show.ogg\" length=\"0\" type=\"audio/ogg\"/>"),
        "{rss}"
    );
    let atom = text(d.get("/feeds/all.atom").await).await;
    assert!(
        atom.contains(&format!(
            "<link href=\"{local}\" rel=\"enclosure\" type=\"audio/mpeg\" length=\"10000\"/>"
        )),
        "{atom}"
    );
    let json = d.json("/feeds/all.json").await;
    let items = json["items"].as_array().unwrap();
    let episode = items.iter().find(|i| i["title"] == "Episode one").unwrap();
    assert_eq!(episode["attachments"][0]["url"], local);
    assert_eq!(episode["attachments"][0]["mime_type"], "audio/mpeg");
    assert_eq!(episode["attachments"][0]["size_in_bytes"], 10000);
    // The enclosure that names nothing is left out, with a warning.
    let bad = items.iter().find(|i| i["title"] == "Bad").unwrap();
    assert!(bad.get("attachments").is_none(), "{bad}");
    let state = d.app.store.poll_state("local").unwrap().unwrap();
    assert!(
        state
            .parse_warnings
            .iter()
            .any(|w| w.starts_with("bad.md: enclosure `nowhere.mp3` is neither")),
        "{:?}",
        state.parse_warnings
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_podcast_feed_has_the_itunes_tags_and_only_episodes() {
    let dir = tempfile::tempdir().unwrap();
    media_folder(dir.path());
    write(
        dir.path(),
        "note.md",
        b"+++\ntitle = \"A note\"\n+++\nNo audio.\n",
    );
    let show = "[[feed]]\nname = \"show\"\ntitle = \"The show\"\ninclude = [\"local\"]\npodcast = true\n\
                image = \"https://example.org/cover.png\"\nlanguage = \"en\"\n\
                category = \"Society & Culture/Documentary\"\nexplicit = true\nowner_email = \"me@example.org\"\n";
    write_config(dir.path(), &format!("{ARTICLES}\n{show}"));
    let d = TestDaemon::start(dir.path()).await;
    let rss = text(d.get("/feeds/show.rss").await).await;
    let doc = roxmltree::Document::parse(&rss).unwrap();
    let itunes = "http://www.itunes.com/dtds/podcast-1.0.dtd";
    let channel = doc
        .descendants()
        .find(|n| n.has_tag_name("channel"))
        .unwrap();
    let child = |name: &str| {
        channel
            .children()
            .find(|n| n.has_tag_name((itunes, name)))
            .unwrap_or_else(|| panic!("no itunes:{name} in {rss}"))
    };
    assert_eq!(
        child("image").attribute("href"),
        Some("https://example.org/cover.png")
    );
    assert_eq!(child("explicit").text(), Some("true"));
    assert_eq!(child("author").text(), Some("The show"));
    let category = child("category");
    assert_eq!(category.attribute("text"), Some("Society & Culture"));
    let sub = category.children().find(|n| n.is_element()).unwrap();
    assert_eq!(sub.attribute("text"), Some("Documentary"));
    let owner = child("owner");
    let email = owner
        .children()
        .find(|n| n.has_tag_name((itunes, "email")))
        .unwrap();
    assert_eq!(email.text(), Some("me@example.org"));
    let language = channel
        .children()
        .find(|n| n.has_tag_name("language"))
        .unwrap();
    assert_eq!(language.text(), Some("en"));
    // Only the items with an enclosure: the two episodes, not the note.
    let titles: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("item"))
        .map(|i| {
            i.children()
                .find(|n| n.has_tag_name("title"))
                .unwrap()
                .text()
                .unwrap()
        })
        .collect();
    assert_eq!(titles, vec!["Episode one", "Remote media"]);
    // The all-items feed of the same folder is no podcast.
    let all = text(d.get("/feeds/all.rss").await).await;
    assert!(!all.contains("itunes"), "{all}");
    assert!(all.contains("A note"));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_lists_the_newest_published_items_once_each() {
    // Twelve articles in two feeds (every item is in both): the index lists
    // the ten newest, newest first, each once, with a feed it is in.
    let dir = tempfile::tempdir().unwrap();
    for day in 1..=12 {
        write(
            dir.path(),
            &format!("post-{day}.md"),
            format!(
                "+++\ntitle = \"Post {day}\"\ndate = 2026-03-{day:02}T08:00:00Z\n+++\nDay {day}.\n"
            )
            .as_bytes(),
        );
    }
    let notes = "[[feed]]\nname = \"notes\"\ntitle = \"Notes\"\ninclude = [\"local\"]\n";
    write_config(dir.path(), &format!("{ARTICLES}\n{notes}"));
    let d = TestDaemon::start(dir.path()).await;
    let index = text(d.get("/").await).await;
    let recent = index
        .split_once("<h2>Recent items</h2>")
        .unwrap_or_else(|| panic!("no recent items: {index}"))
        .1;
    let at = |day: u32| recent.find(&format!(">Post {day}</a>"));
    for day in 3..=12 {
        assert!(at(day).is_some(), "Post {day} missing: {recent}");
        assert_eq!(
            recent.matches(&format!(">Post {day}</a>")).count(),
            1,
            "Post {day} listed twice: {recent}"
        );
    }
    for day in 3..12 {
        assert!(at(day + 1) < at(day), "not newest first: {recent}");
    }
    assert_eq!(at(2), None, "more than ten: {recent}");
    assert_eq!(at(1), None, "more than ten: {recent}");
    assert!(recent.contains("<time datetime=\"2026-03-12T08:00:00+00:00\">12 March 2026</time>"));
    assert!(
        recent.contains("/feeds/all.html\">All</a>")
            || recent.contains("/feeds/notes.html\">Notes</a>")
    );
    d.stop().await;
}

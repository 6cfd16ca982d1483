//! Agreement with gofeed's and feed-rs's expected results (their sidecar
//! JSON files) on feed title, item count, and per item: title, link, id and
//! dates. A value the other parser does not give (absent, empty, a relative
//! link, an id feed-rs generated) is not compared.

use chrono::{DateTime, Utc};
use serde_json::Value;
use syndic::ingest::parse::ParsedFeed;
use url::Url;

use crate::expect::html_text;

/// One comparison: `None` when our parse failed.
pub struct Check {
    pub what: String,
    pub pass: bool,
}

fn s(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn text_eq(ours: Option<&String>, exp: &str) -> bool {
    let Some(ours) = ours else {
        return false;
    };
    let norm = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    norm(ours) == norm(exp) || norm(ours) == html_text(exp)
}

fn url_eq(ours: Option<&String>, exp: &str) -> Option<bool> {
    let exp = Url::parse(exp).ok()?; // relative upstream links: not compared
    Some(
        ours.and_then(|o| Url::parse(o).ok())
            .is_some_and(|o| o == exp),
    )
}

fn date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_rfc2822(text))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn generated_id(id: &str) -> bool {
    let hex = id.chars().filter(|c| *c != '-').collect::<String>();
    (hex.len() == 32) && hex.chars().all(|c| c.is_ascii_hexdigit())
}

fn alternate_link(links: Option<&Value>) -> Option<String> {
    let links = links?.as_array()?;
    links
        .iter()
        .find(|l| matches!(s(l.get("rel")).as_deref(), None | Some("alternate")))
        .and_then(|l| s(l.get("href")))
}

fn push(out: &mut Vec<Check>, what: &str, pass: Option<bool>) {
    if let Some(pass) = pass {
        out.push(Check {
            what: what.to_string(),
            pass,
        });
    }
}

/// Compares our parse with gofeed's expected JSON (parser, translator or
/// JSON Feed shapes).
pub fn gofeed(ours: Option<&ParsedFeed>, exp: &Value) -> Vec<Check> {
    let mut out = Vec::new();
    let title = s(exp.get("title"));
    let link = s(exp.get("link"))
        .or_else(|| s(exp.get("home_page_url")))
        .or_else(|| alternate_link(exp.get("links")));
    let items = exp
        .get("items")
        .or_else(|| exp.get("entries"))
        .and_then(Value::as_array);
    let Some(feed) = ours else {
        // Every expectation counts as failed.
        let n =
            title.is_some() as usize + link.is_some() as usize + items.map_or(0, |i| 1 + i.len());
        for _ in 0..n.max(1) {
            push(&mut out, "parse", Some(false));
        }
        return out;
    };
    if let Some(t) = &title {
        push(
            &mut out,
            "feed title",
            Some(text_eq(feed.title.as_ref(), t)),
        );
    }
    if let Some(l) = &link {
        push(
            &mut out,
            "feed link",
            url_eq(feed.home_page_url.as_ref(), l),
        );
    }
    let Some(items) = items else {
        return out;
    };
    push(
        &mut out,
        "item count",
        Some(items.len() == feed.entries.len()),
    );
    for (i, item) in items.iter().enumerate() {
        let ours = feed.entries.get(i);
        if let Some(t) = s(item.get("title")) {
            push(
                &mut out,
                "item title",
                Some(text_eq(ours.and_then(|e| e.title.as_ref()), &t)),
            );
        }
        let link = s(item.get("link"))
            .or_else(|| s(item.get("url")))
            .or_else(|| alternate_link(item.get("links")));
        if let Some(l) = link {
            push(
                &mut out,
                "item link",
                url_eq(ours.and_then(|e| e.link.as_ref()), &l),
            );
        }
        let id = s(item.get("id"))
            .or_else(|| s(item.get("guid")))
            .or_else(|| item.get("guid").and_then(|g| s(g.get("value"))));
        if let Some(id) = id {
            let got = ours.and_then(|e| e.upstream_id.as_ref());
            push(
                &mut out,
                "item id",
                Some(got.is_some_and(|g| g.trim() == id)),
            );
        }
        let published = s(item.get("publishedParsed"))
            .or_else(|| s(item.get("published")))
            .or_else(|| s(item.get("pubDate")))
            .or_else(|| s(item.get("date_published")));
        if let Some(d) = published.as_deref().and_then(date) {
            let got = ours.and_then(|e| e.published.or(e.updated));
            push(&mut out, "item date", Some(got == Some(d)));
        }
        let updated = s(item.get("updatedParsed"))
            .or_else(|| s(item.get("updated")))
            .or_else(|| s(item.get("date_modified")));
        if let Some(d) = updated.as_deref().and_then(date) {
            let got = ours.and_then(|e| e.updated.or(e.published));
            push(&mut out, "item date", Some(got == Some(d)));
        }
    }
    out
}

/// Compares our parse with feed-rs's expected model (`X.serde.json`).
pub fn feed_rs(ours: Option<&ParsedFeed>, exp: &Value) -> Vec<Check> {
    let mut out = Vec::new();
    let title = exp.get("title").and_then(|t| s(t.get("content")));
    let items = exp.get("entries").and_then(Value::as_array);
    let Some(feed) = ours else {
        let n = title.is_some() as usize + items.map_or(0, |i| 1 + i.len());
        for _ in 0..n.max(1) {
            push(&mut out, "parse", Some(false));
        }
        return out;
    };
    if let Some(t) = &title {
        push(
            &mut out,
            "feed title",
            Some(text_eq(feed.title.as_ref(), t)),
        );
    }
    let Some(items) = items else {
        return out;
    };
    push(
        &mut out,
        "item count",
        Some(items.len() == feed.entries.len()),
    );
    for (i, item) in items.iter().enumerate() {
        let ours = feed.entries.get(i);
        if let Some(t) = item.get("title").and_then(|t| s(t.get("content"))) {
            push(
                &mut out,
                "item title",
                Some(text_eq(ours.and_then(|e| e.title.as_ref()), &t)),
            );
        }
        if let Some(l) = alternate_link(item.get("links")) {
            push(
                &mut out,
                "item link",
                url_eq(ours.and_then(|e| e.link.as_ref()), &l),
            );
        }
        if let Some(id) = s(item.get("id")).filter(|id| !generated_id(id)) {
            let got = ours.and_then(|e| e.upstream_id.as_ref());
            push(
                &mut out,
                "item id",
                Some(got.is_some_and(|g| g.trim() == id)),
            );
        }
        if let Some(d) = s(item.get("published")).as_deref().and_then(date) {
            let got = ours.and_then(|e| e.published);
            push(&mut out, "item date", Some(got == Some(d)));
        }
        if let Some(d) = s(item.get("updated")).as_deref().and_then(date) {
            // feed-rs fills `updated` from `published` when an item has
            // only one date; our model leaves it empty.
            let got = ours.and_then(|e| e.updated.or(e.published));
            push(&mut out, "item date", Some(got == Some(d)));
        }
    }
    out
}

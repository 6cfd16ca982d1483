//! Dedup quality: precision and recall of the real dedup (reconcile and
//! store) over fixtures built at run time from the shared feed corpus.
//!
//! `SYNDIC_CORPUS=/path/to/corpus cargo bench --bench dedup_quality`
//!
//! - **Feeds**: every corpus file that parses as a feed with at least
//!   [`MIN_ITEMS`] titled items, one per publisher (home page host, else
//!   title).
//! - **Different publishers**: each feed a source of its own; every merge is
//!   false.
//! - **Split feed**: each feed split into two sources (even and odd items);
//!   every merge is false.
//! - **Recall**: every feed stored, then copies of up to [`PER_BAND`] posts
//!   per length band (short < 100 words, medium < 500, long) republished in
//!   nine ways, each way a source of its own; a copy is found when it is
//!   merged into its original.
//!
//! Prints Markdown tables (see BENCHMARKS.md). Nothing from the corpus is
//! stored anywhere but a temporary directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use syndic::config::Config;
use syndic::ingest::fetch::Fetcher;
use syndic::ingest::parse::{self, ParseOptions};
use syndic::model::{Entry, ItemKey, PollState};
use syndic::refresh::Refresher;
use syndic::store::Store;

/// Fewest titled items a corpus feed needs to be used.
pub const MIN_ITEMS: usize = 3;
/// Posts per length band republished.
pub const PER_BAND: usize = 10;

/// One feed of the corpus.
pub struct Feed {
    pub name: String,
    pub home: Option<String>,
    pub entries: Vec<Entry>,
}

/// The feeds of the corpus at `root`, one per publisher, in path order.
pub fn corpus_feeds(root: &Path) -> Vec<Feed> {
    let mut files = Vec::new();
    collect(root, &mut files);
    files.sort();
    let mut seen: std::collections::HashSet<String> = Default::default();
    let mut out = Vec::new();
    for path in files {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if bytes.len() > 1 << 20 {
            continue;
        }
        let base = "http://corpus.example/feed.xml";
        let Ok(parsed) = parse::parse_feed(
            &bytes,
            &ParseOptions {
                content_type: None,
                base_url: Some(base),
            },
        ) else {
            continue;
        };
        let entries: Vec<Entry> = parsed
            .entries
            .into_iter()
            .filter(|e| e.title.as_deref().is_some_and(|t| !t.trim().is_empty()))
            .collect();
        if entries.len() < MIN_ITEMS {
            continue;
        }
        let publisher = parsed
            .home_page_url
            .as_deref()
            .and_then(|h| url::Url::parse(h).ok())
            .and_then(|u| u.host_str().map(str::to_string))
            .filter(|h| h != "corpus.example")
            .or(parsed.title.clone())
            .unwrap_or_default()
            .to_lowercase();
        if publisher.is_empty() || !seen.insert(publisher) {
            continue;
        }
        out.push(Feed {
            name: path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string(),
            home: parsed.home_page_url,
            entries,
        });
    }
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "xml" | "rss" | "atom" | "rdf" | "json"))
            && !path.to_string_lossy().ends_with(".serde.json")
        {
            out.push(path);
        }
    }
}

/// A store and a config with the given sources, in a temporary directory.
pub struct Bed {
    _dir: tempfile::TempDir,
    pub config: Config,
    pub store: Store,
    fetcher: Fetcher,
}

impl Bed {
    pub fn new(sources: &[String]) -> Bed {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from(
            "[daemon]\nstore = \"store\"\npublic_url = \"http://feeds.test\"\n\n[defaults]\n\n",
        );
        for id in sources {
            text.push_str(&format!(
                "[[source]]\nid = \"{id}\"\nurl = \"http://{id}.sources.test/feed.xml\"\n\n"
            ));
        }
        text.push_str("[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n");
        std::fs::write(dir.path().join("feeds.toml"), text).unwrap();
        let config = Config::load(&dir.path().join("feeds.toml")).unwrap();
        let store = Store::open(&config.daemon.store).unwrap();
        let fetcher = Fetcher::new(&syndic::daemon::fetch_settings(&config)).unwrap();
        Bed {
            _dir: dir,
            config,
            store,
            fetcher,
        }
    }

    /// Ingests one document of `source`.
    pub fn ingest(&self, source: &str, entries: Vec<Entry>, home: Option<&str>) {
        let refresher = Refresher {
            store: &self.store,
            fetcher: &self.fetcher,
            public_base: "http://feeds.test",
        };
        let config = self.config.source(source).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let urls = home.map(str::to_string).into_iter().collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(refresher.ingest_document(
            config,
            entries,
            urls,
            PollState::default(),
            now,
        ));
    }

    /// How many items of `source` are duplicates of another item: (false
    /// merges, merges of an identical text the publisher posted twice).
    /// Listed on stderr with `SYNDIC_QUALITY_VERBOSE` set.
    pub fn merged(&self, source: &str) -> (usize, usize) {
        let verbose = std::env::var_os("SYNDIC_QUALITY_VERBOSE").is_some();
        let (mut n, mut same) = (0, 0);
        for item in self.store.source_items(source).unwrap() {
            let Some(primary) = item.duplicate_of else {
                continue;
            };
            let Some(p) = self.store.item(&primary).unwrap() else {
                continue;
            };
            let words = |e: &Entry| syndic::dedup::near::story_words(text_of(e));
            if words(&item.entry) == words(&p.entry) && !words(&p.entry).is_empty() {
                same += 1;
            } else {
                n += 1;
            }
            if verbose {
                let rule = p
                    .merged
                    .iter()
                    .find(|m| m.key == item.key)
                    .map(|m| m.rule.to_string())
                    .unwrap_or_default();
                eprintln!(
                    "merged {source} {:?} <{:?}> into {} {:?} <{:?}>: {rule}",
                    item.entry.title, item.entry.link, p.source, p.entry.title, p.entry.link
                );
            }
        }
        (n, same)
    }
}

/// Plain text of an HTML fragment (tags out, common entities decoded).
fn plain(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
        if word.ends_with(['.', '!', '?']) {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

fn text_of(e: &Entry) -> &str {
    e.content_html
        .as_deref()
        .or(e.summary_html.as_deref())
        .unwrap_or("")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The ways a post is republished.
pub const VARIANTS: &[&str] = &[
    "same address (scheme, www., utm_*)",
    "other domain",
    "title suffix",
    "HTML rebuilt",
    "wrapper + \"appeared first on\"",
    "first two sentences",
    "one sentence replaced",
    "every other sentence touched",
    "boilerplate block",
];

const NEWSLETTER: &str = "<p><strong>Newsletter</strong></p><p>Get the best of Mirror News delivered \
    to your inbox every morning. Our editors pick the stories you need to know about, from politics \
    and business to science, culture and sport, with analysis you will not find anywhere else. \
    Sign up for our free newsletter today and join more than fifty thousand readers who start \
    their day with us. You can unsubscribe at any time with one click.</p>";

/// The copy of `orig` (number `n`) republished the `variant`-th way.
pub fn variant(orig: &Entry, n: usize, variant: usize) -> Entry {
    let title = orig.title.clone().unwrap_or_default();
    let html = text_of(orig).to_string();
    let sents = sentences(&plain(&html));
    let paragraphs = |s: &[String]| -> String {
        s.chunks(2)
            .map(|c| format!("<p>{}</p>", escape(&c.join(" "))))
            .collect()
    };
    let other = format!("https://mirror.example/{n}");
    let mut e = Entry {
        upstream_id: Some(format!("mirror-{variant}-{n}")),
        title: Some(title.clone()),
        link: Some(other.clone()),
        published: orig.published,
        content_html: Some(html.clone()),
        ..Entry::default()
    };
    match variant {
        0 => {
            let link = orig.link.clone().unwrap_or_default();
            let moved = match url::Url::parse(&link) {
                Ok(mut u) => {
                    let scheme = if u.scheme() == "https" {
                        "http"
                    } else {
                        "https"
                    };
                    let _ = u.set_scheme(scheme);
                    if let Some(host) = u.host_str().map(str::to_string) {
                        let host = match host.strip_prefix("www.") {
                            Some(h) => h.to_string(),
                            None => format!("www.{host}"),
                        };
                        let _ = u.set_host(Some(&host));
                    }
                    u.query_pairs_mut()
                        .append_pair("utm_source", "feed")
                        .append_pair("utm_medium", "rss");
                    u.to_string()
                }
                Err(_) => link,
            };
            e.link = Some(moved);
        }
        1 => {}
        2 => {
            let suffix = if n.is_multiple_of(2) {
                " - Example News"
            } else {
                " | Site"
            };
            e.title = Some(format!("{title}{suffix}"));
        }
        3 => e.content_html = Some(format!("<div class=\"body\">{}</div>", paragraphs(&sents))),
        4 => {
            e.content_html = Some(format!(
                "<div class=\"entry-content\">{html}</div><p>The post <a href=\"{other}\">{}</a> \
                 appeared first on <a href=\"https://mirror.example/\">Mirror News</a>.</p>",
                escape(&title)
            ))
        }
        5 => e.content_html = Some(paragraphs(&sents[..sents.len().min(2)])),
        6 => {
            let mut s = sents.clone();
            let i = s.len() / 2;
            if let Some(slot) = s.get_mut(i) {
                *slot = "Officials said a fuller account would be published by the committee \
                         later this year."
                    .into();
            }
            e.content_html = Some(paragraphs(&s));
        }
        7 => {
            let s: Vec<String> = sents
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    if i % 2 == 1 {
                        let mut words: Vec<&str> = s.split(' ').collect();
                        let at = words.len().min(2);
                        words.insert(at, "reportedly");
                        words.join(" ")
                    } else {
                        s.clone()
                    }
                })
                .collect();
            e.content_html = Some(paragraphs(&s));
        }
        _ => {
            e.content_html = Some(format!(
                "{html}<ul class=\"share\"><li><a href=\"#\">Share on Facebook</a></li>\
                 <li><a href=\"#\">Twitter</a></li><li><a href=\"#\">Email</a></li></ul>{NEWSLETTER}\
                 <p>&copy; 2026 Mirror News. All rights reserved.</p>"
            ))
        }
    }
    e
}

/// Length band of a text: short (< 100 words), medium (< 500), long.
pub fn band(words: usize) -> usize {
    match words {
        0..100 => 0,
        100..500 => 1,
        _ => 2,
    }
}

pub const BANDS: &[&str] = &["short", "medium", "long"];

/// What one run measured.
#[derive(Debug, Default)]
pub struct Report {
    pub feeds: usize,
    pub items: usize,
    pub publisher_merges: usize,
    pub split_items: usize,
    pub split_merges: usize,
    /// Merges of an identical text posted twice (not counted as false).
    pub identical_reposts: usize,
    /// [variant][band] = (found, copies)
    pub recall: Vec<[(usize, usize); 3]>,
    /// Copies merged into another item than their original.
    pub wrong_merges: usize,
    pub posts_per_band: [usize; 3],
}

impl Report {
    pub fn found(&self, variants: &[usize], bands: &[usize]) -> (usize, usize) {
        let mut out = (0, 0);
        for v in variants {
            for b in bands {
                if let Some(r) = self.recall.get(*v).and_then(|r| r.get(*b)) {
                    out.0 += r.0;
                    out.1 += r.1;
                }
            }
        }
        out
    }
}

/// Runs the three sets over the corpus at `root`.
pub fn evaluate(root: &Path) -> Report {
    let feeds = corpus_feeds(root);
    let mut report = Report {
        feeds: feeds.len(),
        items: feeds.iter().map(|f| f.entries.len()).sum(),
        recall: vec![[(0, 0); 3]; VARIANTS.len()],
        ..Report::default()
    };
    // Different publishers.
    let ids: Vec<String> = (0..feeds.len()).map(|i| format!("p{i}")).collect();
    let bed = Bed::new(&ids);
    for (id, feed) in ids.iter().zip(&feeds) {
        bed.ingest(id, feed.entries.clone(), feed.home.as_deref());
    }
    for id in &ids {
        let (wrong, same) = bed.merged(id);
        report.publisher_merges += wrong;
        report.identical_reposts += same;
    }
    drop(bed);

    // Split feeds.
    let ids: Vec<String> = (0..feeds.len())
        .flat_map(|i| [format!("s{i}a"), format!("s{i}b")])
        .collect();
    let bed = Bed::new(&ids);
    for (i, feed) in feeds.iter().enumerate() {
        let (even, odd): (Vec<_>, Vec<_>) = feed
            .entries
            .iter()
            .cloned()
            .enumerate()
            .partition(|(n, _)| n.is_multiple_of(2));
        bed.ingest(
            &format!("s{i}a"),
            even.into_iter().map(|(_, e)| e).collect(),
            feed.home.as_deref(),
        );
        bed.ingest(
            &format!("s{i}b"),
            odd.into_iter().map(|(_, e)| e).collect(),
            feed.home.as_deref(),
        );
        report.split_items += feed.entries.len();
    }
    for id in &ids {
        let (wrong, same) = bed.merged(id);
        report.split_merges += wrong;
        report.identical_reposts += same;
    }
    drop(bed);

    // Recall: the posts to copy, evenly spread over the feeds per band.
    let mut by_band: [Vec<(usize, usize)>; 3] = Default::default();
    for (f, feed) in feeds.iter().enumerate() {
        for (i, e) in feed.entries.iter().enumerate() {
            let words = plain(text_of(e))
                .split(' ')
                .filter(|w| !w.is_empty())
                .count();
            if words >= 5 {
                by_band[band(words)].push((f, i));
            }
        }
    }
    let mut posts: Vec<(usize, usize, usize)> = Vec::new();
    for (b, list) in by_band.iter().enumerate() {
        let take = list.len().min(PER_BAND);
        for k in 0..take {
            let (f, i) = list[k * list.len() / take];
            posts.push((f, i, b));
        }
        report.posts_per_band[b] = take;
    }
    let mut ids: Vec<String> = (0..feeds.len()).map(|i| format!("o{i}")).collect();
    ids.extend((0..VARIANTS.len()).map(|v| format!("v{v}")));
    let bed = Bed::new(&ids);
    for (i, feed) in feeds.iter().enumerate() {
        bed.ingest(&format!("o{i}"), feed.entries.clone(), feed.home.as_deref());
    }
    // The stored item of each original post.
    let mut original: HashMap<(usize, usize), ItemKey> = HashMap::new();
    for &(f, i, _) in &posts {
        let want = &feeds[f].entries[i];
        if let Some(item) = bed
            .store
            .source_items(&format!("o{f}"))
            .unwrap()
            .into_iter()
            .find(|item| item.entry == *want)
        {
            original.insert((f, i), item.duplicate_of.unwrap_or(item.key));
        }
    }
    for v in 0..VARIANTS.len() {
        let source = format!("v{v}");
        let copies: Vec<Entry> = posts
            .iter()
            .enumerate()
            .map(|(n, &(f, i, _))| variant(&feeds[f].entries[i], n, v))
            .collect();
        for (n, copy) in copies.into_iter().enumerate() {
            let link = copy.link.clone();
            bed.ingest(&source, vec![copy], None);
            let (f, i, b) = posts[n];
            let item = bed
                .store
                .source_items(&source)
                .unwrap()
                .into_iter()
                .find(|item| item.entry.link == link);
            let cell = &mut report.recall[v][b];
            cell.1 += 1;
            match (item.and_then(|i| i.duplicate_of), original.get(&(f, i))) {
                (Some(got), Some(want)) if got == *want => cell.0 += 1,
                (Some(_), _) => report.wrong_merges += 1,
                (None, _) => {}
            }
        }
    }
    report
}

/// The report as Markdown.
pub fn markdown(r: &Report) -> String {
    let pct = |(a, b): (usize, usize)| {
        if b == 0 {
            "-".to_string()
        } else {
            format!("{:.0}% ({a}/{b})", 100.0 * a as f64 / b as f64)
        }
    };
    let mut out = format!(
        "corpus: {} feeds of different publishers, {} items; posts copied per band: \
         short {}, medium {}, long {}\n\n\
         | set | items | merges (all false) |\n|---|---:|---:|\n\
         | different publishers | {} | {} |\n| split feeds (two sources each) | {} | {} |\n\
         | copies merged into another item than their original | {} | {} |\n\n\
         Not counted as false: {} merges of an identical text posted twice by its publisher.\n\n",
        r.feeds,
        r.items,
        r.posts_per_band[0],
        r.posts_per_band[1],
        r.posts_per_band[2],
        r.items,
        r.publisher_merges,
        r.split_items,
        r.split_merges,
        r.recall.iter().flatten().map(|c| c.1).sum::<usize>(),
        r.wrong_merges,
        r.identical_reposts,
    );
    out.push_str("| variant | short | medium | long | all |\n|---|---:|---:|---:|---:|\n");
    for (v, name) in VARIANTS.iter().enumerate() {
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} |\n",
            pct(r.found(&[v], &[0])),
            pct(r.found(&[v], &[1])),
            pct(r.found(&[v], &[2])),
            pct(r.found(&[v], &[0, 1, 2])),
        ));
    }
    let all: Vec<usize> = (0..VARIANTS.len()).collect();
    out.push_str(&format!(
        "| **all variants** | {} | {} | {} | {} |\n",
        pct(r.found(&all, &[0])),
        pct(r.found(&all, &[1])),
        pct(r.found(&all, &[2])),
        pct(r.found(&all, &[0, 1, 2])),
    ));
    out
}

#[allow(dead_code)]
fn main() {
    let Some(root) = std::env::var_os("SYNDIC_CORPUS") else {
        eprintln!("dedup_quality: set SYNDIC_CORPUS to the shared corpus directory");
        return;
    };
    let report = evaluate(Path::new(&root));
    println!("{}", markdown(&report));
}

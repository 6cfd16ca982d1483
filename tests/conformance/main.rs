//! The conformance harness (issue 4): runs the parser over the whole corpus
//! in `$SYNDIC_CORPUS` (skipped when unset) and measures it against the
//! expectations other parsers ship with their test files.
//!
//! * every file parses without panic or hang (a per-file time bound);
//! * feedparser's `Expect:` lines, translated clause by clause onto our
//!   model ([`expect`], [`view`]); clauses about fields we do not have are
//!   "not applicable";
//! * gofeed's and feed-rs's expected JSON sidecars ([`sidecar`]);
//! * the table goes to `CONFORMANCE.md` (between markers) and the test
//!   fails when a rate drops below its floor in `tests/conformance/floors.tsv`.

mod ebcdic;
mod expect;
mod sidecar;
#[path = "../common/skip.rs"]
mod skip;
mod view;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use expect::Outcome;
use syndic::ingest::parse::{ParseOptions, ParsedFeed, is_bozo_warning, parse_feed};

/// A parse taking longer than this is a hang (debug build; the slowest
/// corpus file takes well under a second).
const HANG_BOUND: Duration = Duration::from_secs(30);

/// Files in the corpus that are not data.
fn is_data(rel: &str) -> bool {
    !matches!(rel, "MANIFEST.tsv" | "README.md" | ".gitattributes")
        && !rel.ends_with("MESSAGE_CLASSES.tsv")
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The test comment of a feedparser file: (Expect line, headers, SkipUnless).
struct FeedparserCase {
    expect: String,
    headers: Vec<(String, String)>,
}

fn feedparser_case(bytes: &[u8]) -> Option<FeedparserCase> {
    let text = if bytes.starts_with(&[0x4C, 0x6F, 0xA7, 0x94]) {
        bytes.iter().map(|b| ebcdic::CP037[*b as usize]).collect()
    } else if bytes.windows(2).take(4).any(|w| w.contains(&0)) {
        // UTF-16/32 files: keep the ASCII bytes only.
        bytes
            .iter()
            .filter(|b| **b != 0)
            .map(|b| *b as char)
            .collect()
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    };
    let start = text.find("Expect:")?;
    let rest = &text[start + "Expect:".len()..];
    // XML comments and the JSON file's `"__TEST__"` string both end in `-->`.
    let end = rest.find("-->").unwrap_or(rest.len());
    let expect = rest[..end].trim();
    let expect = if text.contains("\"__TEST__\"") {
        expect.trim_end_matches(['"', ',']).trim_end()
    } else {
        expect
    }
    .to_string();
    let headers = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Header:"))
        .filter_map(|h| {
            let (k, v) = h.split_once(':')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect();
    Some(FeedparserCase { expect, headers })
}

/// One corpus file and how to parse it.
struct Job {
    rel: String,
    path: PathBuf,
    content_type: Option<String>,
    base_url: Option<String>,
    case: Option<FeedparserCase>,
}

fn job(root: &Path, path: &Path) -> Option<Job> {
    let rel = path
        .strip_prefix(root)
        .ok()?
        .to_string_lossy()
        .replace('\\', "/");
    if !is_data(&rel) {
        return None;
    }
    let mut job = Job {
        rel: rel.clone(),
        path: path.to_path_buf(),
        content_type: None,
        base_url: None,
        case: None,
    };
    if rel.starts_with("feedparser") {
        let bytes = std::fs::read(path).ok()?;
        job.case = feedparser_case(&bytes);
        let in_source = rel.split_once('/').map_or("", |(_, r)| r);
        if in_source.contains("http") {
            // feedparser's harness serves these over HTTP with their headers.
            let url = format!("http://127.0.0.1:8097/{in_source}");
            let headers = job
                .case
                .as_ref()
                .map(|c| c.headers.as_slice())
                .unwrap_or(&[]);
            let header = |name: &str| {
                headers
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            job.content_type = Some(header("content-type").unwrap_or_else(|| "text/xml".into()));
            job.base_url = Some(
                header("content-location")
                    .and_then(|loc| url::Url::parse(&url).ok()?.join(&loc).ok())
                    .map(|u| u.to_string())
                    .unwrap_or(url),
            );
        }
    }
    Some(job)
}

/// Assertion counts of one folder.
#[derive(Default, Clone, Copy)]
struct Tally {
    files: usize,
    applicable: usize,
    passed: usize,
    not_applicable: usize,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.files += other.files;
        self.applicable += other.applicable;
        self.passed += other.passed;
        self.not_applicable += other.not_applicable;
    }
    /// Passed over applicable, in percent; none when nothing applied, so
    /// that a folder without a single clause meets no floor.
    fn rate(&self) -> Option<f64> {
        (self.applicable > 0).then(|| self.passed as f64 * 100.0 / self.applicable as f64)
    }
}

fn folder(rel: &str) -> String {
    let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
    dir.split('/').take(4).collect::<Vec<_>>().join("/")
}

/// Whether a parse counts as feedparser's `bozo` (see [`is_bozo_warning`]).
fn bozo(feed: &ParsedFeed) -> bool {
    feed.warnings.iter().any(is_bozo_warning)
}

type Parsed = Result<ParsedFeed, String>;

/// Compares one parse with one sidecar file's expectations.
type Compare = fn(Option<&ParsedFeed>, &serde_json::Value) -> Vec<sidecar::Check>;

/// Parses every job on a thread of its own. Returns the results in job
/// order and the files the parser panicked on or hung on (a hang ends the
/// run: the files after it count as not parsed).
fn parse_all(jobs: &[Job]) -> (Vec<Parsed>, Vec<String>) {
    let (tx, rx) = mpsc::channel();
    let work: Vec<(PathBuf, Option<String>, Option<String>)> = jobs
        .iter()
        .map(|j| (j.path.clone(), j.content_type.clone(), j.base_url.clone()))
        .collect();
    std::thread::spawn(move || {
        for (path, ct, base) in work {
            let bytes = std::fs::read(&path).unwrap_or_default();
            let opts = ParseOptions {
                content_type: ct.as_deref(),
                base_url: base.as_deref(),
            };
            let result = catch_unwind(AssertUnwindSafe(|| parse_feed(&bytes, &opts)));
            let sent = match result {
                Ok(Ok(feed)) => tx.send(Ok(Ok(feed))),
                Ok(Err(e)) => tx.send(Ok(Err(e.to_string()))),
                Err(_) => tx.send(Err(())),
            };
            if sent.is_err() {
                return;
            }
        }
    });
    let mut out = Vec::with_capacity(jobs.len());
    let mut broke = Vec::new();
    let mut hung = false;
    for job in jobs {
        if hung {
            out.push(Err("not parsed: the parser hung on an earlier file".into()));
            broke.push(format!("not reached after the hang: {}", job.rel));
            continue;
        }
        match rx.recv_timeout(HANG_BOUND) {
            Ok(Ok(parsed)) => out.push(parsed),
            Ok(Err(())) => {
                out.push(Err("the parser panicked".into()));
                broke.push(format!("parser panicked on {}", job.rel));
            }
            Err(_) => {
                out.push(Err("the parser hung".into()));
                broke.push(format!("parser hung (> {HANG_BOUND:?}) on {}", job.rel));
                hung = true;
            }
        }
    }
    (out, broke)
}

fn read_floors(path: &Path) -> BTreeMap<String, f64> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read floors {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.split_once('\t')?;
            Some((k.trim().to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

fn table(rows: &BTreeMap<String, Tally>) -> String {
    let mut out = String::from(
        "| folder | files | applicable assertions | passed | % | not applicable |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for (name, t) in rows {
        out.push_str(&format!(
            "| `{name}` | {} | {} | {} | {} | {} |\n",
            t.files,
            t.applicable,
            t.passed,
            t.rate()
                .map_or("n/a".to_string(), |rate| format!("{rate:.1}")),
            t.not_applicable
        ));
    }
    out
}

fn write_report(manifest: &Path, generated: &str) {
    let path = manifest.join("CONFORMANCE.md");
    let begin = "<!-- conformance:begin (written by `cargo test --test conformance`) -->";
    let end = "<!-- conformance:end -->";
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let new = match (old.find(begin), old.find(end)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{begin}\n{generated}{}", &old[..b], &old[e..])
        }
        _ => format!("# Conformance\n\n{begin}\n{generated}{end}\n"),
    };
    if new != old
        && let Err(e) = std::fs::write(&path, new)
    {
        eprintln!("could not update {}: {e}", path.display());
    }
}

#[test]
fn shared_conformance() {
    let Some(root) = std::env::var_os("SYNDIC_CORPUS") else {
        skip::skip("shared_conformance", "SYNDIC_CORPUS is not set");
        return;
    };
    let root = PathBuf::from(root);
    let started = Instant::now();
    let jobs: Vec<Job> = walk(&root).iter().filter_map(|p| job(&root, p)).collect();
    assert!(
        jobs.len() > 5000,
        "corpus at {} looks incomplete: {} files",
        root.display(),
        jobs.len()
    );
    let (parsed, broke) = parse_all(&jobs);
    // Not written to CONFORMANCE.md, which must not change from run to run.
    eprintln!("parsed the corpus in {:?}", started.elapsed());
    let by_rel: BTreeMap<&str, &Parsed> = jobs
        .iter()
        .map(|j| j.rel.as_str())
        .zip(parsed.iter())
        .collect();
    let verbose = std::env::var_os("SYNDIC_CONFORMANCE_VERBOSE").is_some();

    // feedparser Expect lines.
    let mut fp: BTreeMap<String, Tally> = BTreeMap::new();
    let mut wellformed = (0usize, 0usize);
    for (job, result) in jobs.iter().zip(&parsed) {
        let Some(case) = &job.case else { continue };
        let is_wellformed = job.rel.contains("/tests/wellformed/");
        if is_wellformed {
            wellformed.0 += 1;
            wellformed.1 += result.is_ok() as usize;
        }
        let Some(mut clauses) = expect::clauses(&case.expect) else {
            let t = fp.entry(folder(&job.rel)).or_default();
            t.files += 1;
            t.not_applicable += 1;
            continue;
        };
        if is_wellformed && !clauses.iter().any(|c| c.is_bozo()) {
            // feedparser's harness requires `not bozo` for every wellformed file.
            clauses.extend(expect::clauses("not bozo").unwrap_or_default());
        }
        let env = match result {
            Ok(feed) => view::env(feed, bozo(feed)),
            Err(_) => view::env_failed(),
        };
        let t = fp.entry(folder(&job.rel)).or_default();
        t.files += 1;
        for clause in &clauses {
            match clause.eval(&env) {
                Outcome::Pass => {
                    t.applicable += 1;
                    t.passed += 1;
                }
                Outcome::Fail => {
                    t.applicable += 1;
                    if verbose {
                        let detail = match result {
                            Ok(f) => format!("warnings {:?}", f.warnings),
                            Err(e) => format!("error {e}"),
                        };
                        eprintln!("FAIL {} :: {:?} :: {}", job.rel, case.expect, detail);
                    }
                }
                Outcome::NotApplicable => t.not_applicable += 1,
            }
        }
    }

    // gofeed and feed-rs sidecars.
    let mut sidecars: BTreeMap<String, Tally> = BTreeMap::new();
    for job in &jobs {
        let (input, compare): (String, Compare) =
            if job.rel.starts_with("gofeed/") && job.rel.ends_with("_expected.json") {
                (job.rel.replace("_expected.json", ".json"), sidecar::gofeed)
            } else if job.rel.starts_with("gofeed/") && job.rel.ends_with(".json") {
                (job.rel.replace(".json", ".xml"), sidecar::gofeed)
            } else if job.rel.starts_with("feed-rs/") && job.rel.ends_with(".serde.json") {
                let stem = job.rel.trim_end_matches(".serde.json");
                let input = [".xml", ".json"]
                    .iter()
                    .map(|ext| format!("{stem}{ext}"))
                    .find(|p| by_rel.contains_key(p.as_str()));
                let Some(input) = input else { continue };
                (input, sidecar::feed_rs)
            } else {
                continue;
            };
        let Some(result) = by_rel.get(input.as_str()) else {
            continue;
        };
        let Ok(expected) = std::fs::read(&job.path)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                serde_json::from_slice::<serde_json::Value>(&b).map_err(|e| e.to_string())
            })
        else {
            continue;
        };
        let checks = compare(result.as_ref().ok(), &expected);
        let t = sidecars.entry(folder(&job.rel)).or_default();
        t.files += 1;
        for c in checks {
            t.applicable += 1;
            t.passed += c.pass as usize;
            if verbose && !c.pass {
                let detail = match result {
                    Ok(_) => String::new(),
                    Err(e) => format!("error {e}"),
                };
                eprintln!("FAIL {input} :: {} {detail}", c.what);
            }
        }
    }

    // Totals.
    let sum = |rows: &BTreeMap<String, Tally>, prefix: &str| {
        let mut t = Tally::default();
        for (k, v) in rows {
            if k.starts_with(prefix) {
                t.add(v);
            }
        }
        t
    };
    let mut totals: BTreeMap<String, Tally> = BTreeMap::new();
    totals.insert("feedparser assertions".into(), sum(&fp, "feedparser"));
    let mut enc = sum(&fp, "feedparser/tests/encoding");
    enc.add(&sum(&fp, "feedparser-6.0.11-sdist/tests/encoding"));
    totals.insert("feedparser encoding assertions".into(), enc);
    totals.insert("gofeed agreement".into(), sum(&sidecars, "gofeed"));
    totals.insert("feed-rs agreement".into(), sum(&sidecars, "feed-rs"));
    let mut both = sum(&sidecars, "gofeed");
    both.add(&sum(&sidecars, "feed-rs"));
    totals.insert("gofeed + feed-rs agreement".into(), both);
    totals.insert(
        "feedparser wellformed files parsed".into(),
        Tally {
            files: wellformed.0,
            applicable: wellformed.0,
            passed: wellformed.1,
            not_applicable: 0,
        },
    );
    let ok_files = parsed.iter().filter(|p| p.is_ok()).count();
    totals.insert(
        "all corpus files parsed without panic or hang".into(),
        Tally {
            files: jobs.len(),
            applicable: jobs.len(),
            passed: jobs.len() - broke.len(),
            not_applicable: 0,
        },
    );
    assert!(
        broke.is_empty(),
        "{} corpus files broke the parser:\n{}",
        broke.len(),
        broke.join("\n")
    );

    let generated = format!(
        "Measured on {} corpus files ({} parsed as a feed; the rest are \
         not feeds, e.g. OPML, KML, expected-JSON sidecars, or broken beyond \
         recovery).\n\n\
         ### Targets\n\n{}\n### feedparser `Expect:` assertions by folder\n\n{}\n\
         ### gofeed and feed-rs expectations by folder\n\n{}",
        jobs.len(),
        ok_files,
        table(&totals),
        table(&fp),
        table(&sidecars),
    );
    eprintln!(
        "conformance (full tables in CONFORMANCE.md):\n{}",
        table(&totals)
    );
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    write_report(manifest, &generated);

    let floors = read_floors(&manifest.join("tests/conformance/floors.tsv"));
    let mut below = Vec::new();
    for (name, floor) in &floors {
        let Some(t) = totals.get(name) else {
            below.push(format!("floor `{name}` names no measured total"));
            continue;
        };
        match t.rate() {
            None => below.push(format!("{name}: no applicable assertion, floor {floor}%")),
            Some(rate) if rate + 1e-9 < *floor => {
                below.push(format!("{name}: {rate:.2}% < floor {floor}%"))
            }
            Some(_) => {}
        }
    }
    assert!(
        below.is_empty(),
        "conformance below its floors:\n{}",
        below.join("\n")
    );
}

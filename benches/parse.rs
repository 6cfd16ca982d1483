//! Parse throughput over the feed corpus (`SYNDIC_CORPUS`): syndic's parser
//! (charset decoding, repair, feed-rs through the adapter, normalization
//! and ammonia) against what it is built on, on the same bytes in the same
//! run: feed-rs alone, feed-rs followed by ammonia's default cleaner on each
//! entry's content and summary (about the same work without decoding,
//! repair and normalization), and `rss` then `atom_syndication` (the output
//! crates). Reports MB/s, items/s, files accepted, and the ratio to
//! feed-rs. Run: `SYNDIC_CORPUS=../shared/corpus cargo bench --bench parse`.
//! The floor (issue 18): syndic at 50 MB/s or more on the large feeds.
//!
//! syndic is timed twice: `parse_feed` (every summary and content
//! sanitized: a document's first read) and `parse_feed_unfinished` with
//! each entry's digest (what a refresh of a document it has read before
//! pays: the entries it already has are not sanitized; see
//! `src/refresh/unfinished.rs`). A new entry of a known document costs its
//! share of the first row.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use syndic::ingest::parse::{ParseOptions, parse_feed, parse_feed_unfinished};

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
            } else if !path.ends_with("MANIFEST.tsv") && !path.ends_with("README.md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// (files accepted, items) of one pass.
type Pass = (usize, usize);

fn syndic(bodies: &[Vec<u8>]) -> Pass {
    let mut ok = (0, 0);
    for b in bodies {
        if let Ok(feed) = parse_feed(b, &ParseOptions::default()) {
            ok.0 += 1;
            ok.1 += feed.entries.len();
        }
    }
    ok
}

/// syndic's parse as a refresh of a known document makes it: nothing
/// sanitized, each entry's digest taken.
fn syndic_unfinished(bodies: &[Vec<u8>]) -> Pass {
    let mut ok = (0, 0);
    for b in bodies {
        if let Ok(feed) = parse_feed_unfinished(b, &ParseOptions::default()) {
            ok.0 += 1;
            ok.1 += feed.entries.len();
            for e in &feed.entries {
                std::hint::black_box(e.digest(&[]));
            }
        }
    }
    ok
}

/// feed-rs on the raw bytes. It panics on some corpus files (quick-xml's
/// `set_encoding` on EBCDIC/UTF-16 input); a panic counts as a rejection.
fn feed_rs(bodies: &[Vec<u8>]) -> Pass {
    let mut ok = (0, 0);
    for b in bodies {
        let parsed = catch_unwind(AssertUnwindSafe(|| feed_rs::parser::parse(b.as_slice())));
        if let Ok(Ok(feed)) = parsed {
            ok.0 += 1;
            ok.1 += feed.entries.len();
        }
    }
    ok
}

/// feed-rs, then ammonia's default sanitizer on each entry's content and
/// summary: the same work as syndic's parser, which sanitizes at parse time.
fn feed_rs_sanitized(bodies: &[Vec<u8>]) -> Pass {
    let mut ok = (0, 0);
    for b in bodies {
        let parsed = catch_unwind(AssertUnwindSafe(|| feed_rs::parser::parse(b.as_slice())));
        if let Ok(Ok(feed)) = parsed {
            ok.0 += 1;
            ok.1 += feed.entries.len();
            for e in &feed.entries {
                if let Some(c) = e.content.as_ref().and_then(|c| c.body.as_deref()) {
                    std::hint::black_box(ammonia::clean(c));
                }
                if let Some(s) = &e.summary {
                    std::hint::black_box(ammonia::clean(&s.content));
                }
            }
        }
    }
    ok
}

/// Files on which a reader panics.
fn panics(bodies: &[Vec<u8>]) -> (usize, usize) {
    let mut counts = (0, 0);
    for b in bodies {
        if catch_unwind(AssertUnwindSafe(|| feed_rs::parser::parse(b.as_slice()))).is_err() {
            counts.0 += 1;
        }
        if catch_unwind(AssertUnwindSafe(|| parse_feed(b, &ParseOptions::default()))).is_err() {
            counts.1 += 1;
        }
    }
    counts
}

fn rss_then_atom(bodies: &[Vec<u8>]) -> Pass {
    let mut ok = (0, 0);
    for b in bodies {
        let rss = catch_unwind(AssertUnwindSafe(|| rss::Channel::read_from(b.as_slice())));
        if let Ok(Ok(channel)) = rss {
            ok.0 += 1;
            ok.1 += channel.items().len();
            continue;
        }
        let atom = catch_unwind(AssertUnwindSafe(|| {
            atom_syndication::Feed::read_from(b.as_slice())
        }));
        if let Ok(Ok(feed)) = atom {
            ok.0 += 1;
            ok.1 += feed.entries().len();
        }
    }
    ok
}

/// Best of `rounds` timings.
fn time(rounds: usize, f: impl Fn() -> Pass) -> (Duration, Pass) {
    let mut best = Duration::MAX;
    let mut pass = (0, 0);
    for _ in 0..rounds {
        let t = Instant::now();
        pass = std::hint::black_box(f());
        best = best.min(t.elapsed());
    }
    (best, pass)
}

fn report(name: &str, bodies: &[Vec<u8>], rounds: usize) {
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    let mb = bytes as f64 / 1e6;
    println!(
        "\n{name}: {} files, {:.2} MB (best of {rounds})",
        bodies.len(),
        mb
    );
    println!("| reader | files accepted | items | time | MB/s | items/s | time vs feed-rs |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let readers: [(&str, Reader); 5] = [
        ("syndic parse_feed (first read: all sanitized)", syndic),
        (
            "syndic parse_feed_unfinished + digests (known entries)",
            syndic_unfinished,
        ),
        ("feed-rs 3 (alone)", feed_rs),
        ("feed-rs 3 + ammonia on content/summary", feed_rs_sanitized),
        ("rss, then atom_syndication", rss_then_atom),
    ];
    rows(bodies, rounds, &readers, "feed-rs 3 (alone)");
    // The same, on the files feed-rs accepts only (syndic also reads the
    // others, which costs time feed-rs does not spend).
    let accepted: Vec<Vec<u8>> = bodies
        .iter()
        .filter(|b| feed_rs(std::slice::from_ref(b)).0 == 1)
        .cloned()
        .collect();
    if accepted.len() < bodies.len() {
        let readers: [(&str, Reader); 2] = [
            ("syndic parse_feed, files feed-rs accepts", syndic),
            ("feed-rs 3 (alone), files it accepts", feed_rs),
        ];
        rows(
            &accepted,
            rounds,
            &readers,
            "feed-rs 3 (alone), files it accepts",
        );
    }
}

type Reader = fn(&[Vec<u8>]) -> Pass;

/// Times each reader on `bodies` and prints its row, with its time as a
/// ratio to the `base` reader's row: timed in the same pass as the others,
/// so a warm-up paid by the first reader timed does not skew every ratio.
fn rows(bodies: &[Vec<u8>], rounds: usize, readers: &[(&str, Reader)], base: &str) {
    let mb = bodies.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    let timed: Vec<(&str, f64, Pass)> = readers
        .iter()
        .map(|(label, reader)| {
            let (t, pass) = time(rounds, || reader(bodies));
            (*label, t.as_secs_f64(), pass)
        })
        .collect();
    let base = timed
        .iter()
        .find(|(label, ..)| *label == base)
        .map_or(f64::NAN, |(_, s, _)| *s);
    for (label, s, (ok, items)) in timed {
        println!(
            "| {label} | {ok} | {items} | {:.1} ms | {:.1} | {:.0} | {:.2}x |",
            s * 1e3,
            mb / s,
            items as f64 / s,
            s / base
        );
    }
}

fn main() {
    let Some(root) = std::env::var_os("SYNDIC_CORPUS") else {
        eprintln!("set SYNDIC_CORPUS to the corpus directory (e.g. ../shared/corpus)");
        return;
    };
    let root = PathBuf::from(root);
    // Panics are counted, not printed.
    std::panic::set_hook(Box::new(|_| {}));
    let files = walk(&root);
    let bodies: Vec<Vec<u8>> = files.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    if let Some(only) = std::env::var_os("SYNDIC_BENCH_SYNDIC_ONLY") {
        // For profiling: only syndic's parser, many times, on the large
        // feeds (or on every file with `SYNDIC_BENCH_SYNDIC_ONLY=all`, on
        // feedparser's wellformed files with `=wellformed`).
        let all = only == "all";
        let wellformed = only == "wellformed";
        let picked: Vec<Vec<u8>> = if wellformed {
            files
                .iter()
                .filter(|p| {
                    p.strip_prefix(&root)
                        .is_ok_and(|r| r.starts_with("feedparser/tests/wellformed"))
                })
                .filter_map(|p| std::fs::read(p).ok())
                .collect()
        } else {
            bodies
                .into_iter()
                .filter(|b| all || b.len() >= 50_000)
                .collect()
        };
        for _ in 0..if all { 10 } else { 50 } {
            for b in &picked {
                std::hint::black_box(parse_feed(b, &ParseOptions::default()).ok());
            }
        }
        return;
    }
    report("whole corpus", &bodies, 10);
    let (feed_rs_panics, syndic_panics) = panics(&bodies);
    println!("\npanics: feed-rs {feed_rs_panics} files, syndic {syndic_panics} files");
    let wellformed: Vec<Vec<u8>> = files
        .iter()
        .filter(|p| {
            p.strip_prefix(&root)
                .is_ok_and(|r| r.starts_with("feedparser/tests/wellformed"))
        })
        .filter_map(|p| std::fs::read(p).ok())
        .collect();
    report("feedparser/tests/wellformed", &wellformed, 10);
    let large: Vec<Vec<u8>> = files
        .iter()
        .filter(|p| {
            let rel = p.strip_prefix(&root).unwrap_or(p).to_string_lossy();
            rel.starts_with("miniflux/") || rel.starts_with("feed-rs/")
        })
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|b| b.len() >= 50_000)
        .collect();
    report(
        "large real feeds (>= 50 kB, miniflux/ and feed-rs/)",
        &large,
        20,
    );
}

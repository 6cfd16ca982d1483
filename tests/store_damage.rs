//! A damaged store never makes syndic panic: the CLI (run as a subprocess)
//! exits 1 with one message naming the store, what was found, and the two
//! ways on (restore a backup with `syndic import`, or move the folder aside).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{ConfigFile, syndic_command};

const ARTICLES: usize = 400;

fn syndic(dir: &Path, store: &Path, args: &[&str]) -> Output {
    syndic_command(dir)
        .arg("--config")
        .arg(dir.join("feeds.toml"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env("RUST_LOG", "error")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

/// A store of one local source with `ARTICLES` articles, and its path.
fn healthy_store(dir: &Path) -> PathBuf {
    let articles = dir.join("articles");
    std::fs::create_dir_all(&articles).unwrap();
    for i in 0..ARTICLES {
        let words: String = (0..200)
            .map(|w| format!("word{} ", (i * 7 + w) % 997))
            .collect();
        std::fs::write(
            articles.join(format!("a{i}.md")),
            format!(
                "---\ntitle: Article {i}\ndate: 2026-01-{:02}T00:{:02}:00Z\n---\n{words}\n",
                i % 28 + 1,
                i % 60
            ),
        )
        .unwrap();
    }
    ConfigFile::bare()
        .daemon("store = \"store\"")
        .local("local", &articles.display().to_string())
        .all_feed("[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\nlimit = 1000\n")
        .write(dir);
    let store = dir.join("store");
    let out = syndic(dir, &store, &["fetch"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    store
}

fn copy_store(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Every file of a store folder with its bytes.
fn contents(store: &Path) -> Vec<(std::ffi::OsString, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(store)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.file_name(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

/// `syndic store-check` on `store`: changes no byte of it, never panics;
/// exits 0 saying so when it finds no damage, else 1 with the damage
/// message. True when it reported damage.
fn assert_store_check(dir: &Path, store: &Path, what: &str) -> bool {
    let before = contents(store);
    let out = syndic(dir, store, &["store-check"]);
    assert_eq!(
        before,
        contents(store),
        "{what}: store-check changed the store"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A Rust panic prints "thread '...' panicked at" and exits 101; the
    // damage message may quote sled's own panic text ("sled panicked: ...").
    assert!(!stderr.contains("panicked at"), "{what}: {stderr}");
    assert_ne!(out.status.code(), Some(101), "{what}: {stderr}");
    if out.status.success() {
        assert!(
            stdout.contains(&format!("{ARTICLES} items")) && stdout.contains("no damage found"),
            "{what}: {stdout}"
        );
        return false;
    }
    assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
    assert!(
        stderr.contains(&format!("the store at {} is damaged", store.display())),
        "{what}: {stderr}"
    );
    assert!(stderr.contains("move the folder aside"), "{what}: {stderr}");
    true
}

/// Opens the damaged copy with `render` and `sources`: each either exits 1
/// with the damage message, or (when sled found nothing wrong) succeeds
/// with every item still there. Never a panic.
fn assert_never_panics(dir: &Path, store: &Path, what: &str) -> bool {
    let mut reported = false;
    for args in [
        &["render", "all", "--format", "json"][..],
        &["sources", "--json"][..],
    ] {
        let out = syndic(dir, store, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked at"),
            "{what}: {args:?}: {stderr}"
        );
        assert_ne!(out.status.code(), Some(101), "{what}: {stderr}");
        if out.status.success() {
            let stdout = String::from_utf8_lossy(&out.stdout);
            if args[0] == "render" {
                let feed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                assert_eq!(
                    feed["items"].as_array().unwrap().len(),
                    ARTICLES,
                    "{what}: opened without a word but items are missing"
                );
            } else {
                assert!(
                    stdout.contains(&format!("\"items\": {ARTICLES}")),
                    "{what}: {stdout}"
                );
            }
            continue;
        }
        reported = true;
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("syndic:"))
            .collect();
        assert_eq!(lines.len(), 1, "{what}: one message: {stderr}");
        let line = lines[0];
        assert!(
            line.contains(&format!("the store at {} is damaged", store.display())),
            "{what}: {line}"
        );
        assert!(line.contains("import"), "{what}: {line}");
        assert!(line.contains("move the folder aside"), "{what}: {line}");
    }
    reported
}

#[test]
fn damaged_stores_are_reported_not_panicked_on() {
    let dir = tempfile::tempdir().unwrap();
    let healthy = healthy_store(dir.path());
    let db_len = std::fs::metadata(healthy.join("db")).unwrap().len();
    type Damage = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Damage, bool)> = vec![
        (
            "truncated to half",
            Box::new(move |db: &Path| {
                let f = std::fs::OpenOptions::new().write(true).open(db).unwrap();
                f.set_len(db_len / 2).unwrap();
            }),
            true,
        ),
        (
            "first 4 KiB zeroed",
            Box::new(|db: &Path| {
                let mut bytes = std::fs::read(db).unwrap();
                bytes[..4096].fill(0);
                std::fs::write(db, bytes).unwrap();
            }),
            // With a snapshot beside it sled may not need those bytes: then
            // every item must still be there.
            false,
        ),
        (
            "replaced by random bytes",
            Box::new(move |db: &Path| {
                let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
                let bytes: Vec<u8> = (0..db_len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect();
                std::fs::write(db, bytes).unwrap();
            }),
            true,
        ),
        (
            "random bytes in the middle",
            Box::new(move |db: &Path| {
                let mut bytes = std::fs::read(db).unwrap();
                let mid = bytes.len() / 2;
                for (i, b) in bytes[mid..mid + 8192].iter_mut().enumerate() {
                    *b = (i * 31 % 251) as u8;
                }
                std::fs::write(db, bytes).unwrap();
            }),
            false,
        ),
    ];
    for (what, damage, must_report) in cases {
        let copy = dir.path().join(what.replace(' ', "-"));
        copy_store(&healthy, &copy);
        damage(&copy.join("db"));
        let checked = assert_store_check(dir.path(), &copy, what);
        assert!(!must_report || checked, "{what}: store-check found nothing");
        let reported = assert_never_panics(dir.path(), &copy, what);
        assert!(!must_report || reported, "{what}: damage not reported");
    }
    // The healthy store still opens, and checks clean.
    assert!(!assert_store_check(dir.path(), &healthy, "healthy"));
    assert!(!assert_never_panics(dir.path(), &healthy, "healthy"));
}

/// Damage sled cannot see (an item row that does not decode, index rows
/// that name no item, an item missing from its index) is found by
/// store-check and listed, each by item key.
#[test]
fn store_check_lists_rows_that_do_not_decode_or_do_not_link() {
    let dir = tempfile::tempdir().unwrap();
    let store = healthy_store(dir.path());
    let (bad, unlinked) = {
        let db = sled::open(&store).unwrap();
        let items = db.open_tree("items").unwrap();
        let by_time = db.open_tree("by_time").unwrap();
        let mut keys = items.iter().keys().map(|k| k.unwrap().to_vec());
        let bad = keys.next().unwrap();
        let unlinked = keys.next().unwrap();
        items
            .insert(&bad, &b"{\"v\":3,\"not\":\"an item\"}"[..])
            .unwrap();
        // The time index row of `unlinked` goes, and a row naming an item
        // that does not exist comes.
        let row = by_time
            .iter()
            .keys()
            .map(|k| k.unwrap())
            .find(|k| k.ends_with(&unlinked))
            .unwrap();
        by_time.remove(row).unwrap();
        let mut ghost = vec![0x7f; 8];
        ghost.extend_from_slice(&[0xab; 16]);
        by_time.insert(ghost, &[]).unwrap();
        db.flush().unwrap();
        (hex::encode(bad), hex::encode(unlinked))
    };
    assert!(assert_store_check(dir.path(), &store, "edited rows"));
    let out = syndic(dir.path(), &store, &["store-check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 problems:"), "{stdout}");
    assert!(
        stdout.contains(&format!("item {bad} is unreadable")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("item {unlinked}: missing from the time index")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("time index: names the item {}", "ab".repeat(16))),
        "{stdout}"
    );
}

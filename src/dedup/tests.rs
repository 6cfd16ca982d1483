use super::*;
use chrono::TimeZone;

/// The store's role, in memory.
#[derive(Default)]
struct MapIndex {
    items: HashMap<ItemKey, StoredItem>,
    aliases: HashMap<String, ItemKey>,
    tombstones: HashMap<ItemKey, DateTime<Utc>>,
    sigs: Vec<(ItemKey, Signature)>,
    /// How many items were read.
    reads: usize,
}

impl Index for MapIndex {
    type Error = ();
    fn item(&mut self, key: &ItemKey) -> Result<Option<StoredItem>, ()> {
        self.reads += 1;
        Ok(self.items.get(key).cloned())
    }
    fn alias(&mut self, alias: &str) -> Result<Option<ItemKey>, ()> {
        Ok(self.aliases.get(alias).copied())
    }
    fn tombstone(&mut self, _: &str, key: &ItemKey) -> Result<Option<DateTime<Utc>>, ()> {
        Ok(self.tombstones.get(key).copied())
    }
    fn near_candidates(&mut self, sig: &Signature) -> Result<Vec<(ItemKey, Signature)>, ()> {
        let bands = sig.bands();
        let mut found: Vec<(usize, (ItemKey, Signature))> = self
            .sigs
            .iter()
            .map(|(k, s)| {
                let shared = s.bands().iter().zip(&bands).filter(|(a, b)| a == b).count();
                (shared, (*k, s.clone()))
            })
            .filter(|(shared, _)| *shared > 0)
            .collect();
        found.sort_by_key(|f| std::cmp::Reverse(f.0));
        found.truncate(near::MAX_CANDIDATES);
        Ok(found.into_iter().map(|(_, c)| c).collect())
    }
}

fn entry(id: Option<&str>, link: Option<&str>, title: &str) -> Entry {
    Entry {
        upstream_id: id.map(str::to_string),
        link: link.map(str::to_string),
        title: Some(title.to_string()),
        ..Entry::default()
    }
}

fn t(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, h, 0, 0).unwrap()
}

fn policy<'a>(source: &'a str, urls: &'a UrlOptions) -> Policy<'a> {
    Policy {
        source,
        feed_url: None,
        document_urls: Vec::new(),
        urls,
        fuzzy_identity: true,
        near_threshold_pct: Some(60),
        max_age: None,
    }
}

fn run_in(
    db: &mut MapIndex,
    source: &str,
    entries: Vec<Entry>,
    now: DateTime<Utc>,
) -> Vec<Decision> {
    let urls = UrlOptions::default();
    let plan = plan(&policy(source, &urls), entries, now, db).unwrap();
    apply(db, plan)
}

/// Writes a plan into the index, as the store does; its decisions.
fn apply(db: &mut MapIndex, plan: Plan) -> Vec<Decision> {
    for d in &plan.decisions {
        if let Decision::Insert(i) | Decision::Update { new: i, .. } = d {
            db.items.insert(i.key, i.clone());
        }
    }
    for (alias, key) in plan.aliases {
        db.aliases.insert(alias, key);
    }
    for (primary, record) in plan.merges {
        db.items.get_mut(&primary).unwrap().merged.push(record);
    }
    db.sigs.extend(plan.signatures);
    plan.decisions
}

fn run(db: &mut MapIndex, entries: Vec<Entry>, now: DateTime<Utc>) -> Vec<Decision> {
    run_in(db, "src", entries, now)
}

#[test]
fn identity_prefers_upstream_id_then_link_then_fingerprint() {
    assert_eq!(
        identity(&entry(Some("g1"), Some("http://a/x"), "T")),
        "id:g1"
    );
    assert_eq!(
        identity(&entry(None, Some("http://A/x#frag"), "T")),
        "link:a/x"
    );
    let fp = identity(&entry(None, None, "T"));
    assert!(fp.starts_with("fp:"));
    assert_ne!(fp, identity(&entry(None, None, "U")));
}

#[test]
fn same_entry_twice_is_unchanged_and_changed_entry_updates_in_place() {
    let mut db = MapIndex::default();
    let first = run(&mut db, vec![entry(Some("g"), None, "One")], t(1));
    let Decision::Insert(inserted) = &first[0] else {
        panic!("expected insert, got {first:?}")
    };
    assert_eq!(inserted.published, t(1));
    let again = run(&mut db, vec![entry(Some("g"), None, "One")], t(2));
    assert!(matches!(again[0], Decision::Unchanged(_)));
    let edited = run(&mut db, vec![entry(Some("g"), None, "One, edited")], t(3));
    let Decision::Update { old, new } = &edited[0] else {
        panic!("expected update, got {edited:?}")
    };
    assert_eq!(new.public_id, old.public_id);
    assert_eq!(new.published, t(1), "an undated item keeps its first date");
    assert_eq!(new.updated, t(3));
    assert_eq!(db.items.len(), 1);
}

/// The place an item had in the document it was first seen in is
/// stored with it and kept when the item moves down or changes later;
/// it is not part of the digest.
#[test]
fn first_seen_position_is_recorded_once() {
    let mut db = MapIndex::default();
    let d = run(
        &mut db,
        vec![
            entry(Some("a"), None, "A"),
            entry(Some("b"), None, "B"),
            entry(Some("c"), None, "C"),
        ],
        t(1),
    );
    let pos = |d: &Decision| match d {
        Decision::Insert(i) | Decision::Update { new: i, .. } => {
            (i.entry.title.clone(), i.first_seen_pos)
        }
        other => panic!("{other:?}"),
    };
    let got: Vec<_> = d.iter().map(pos).collect();
    assert_eq!(
        got,
        [
            (Some("A".into()), 0),
            (Some("B".into()), 1),
            (Some("C".into()), 2)
        ]
    );
    // A new item on top, and "c" edited: "c" keeps its first place.
    let d = run(
        &mut db,
        vec![
            entry(Some("new"), None, "New"),
            entry(Some("a"), None, "A"),
            entry(Some("b"), None, "B"),
            entry(Some("c"), None, "C, edited"),
        ],
        t(2),
    );
    let changed: Vec<_> = d
        .iter()
        .filter(|d| !matches!(d, Decision::Unchanged(_)))
        .map(pos)
        .collect();
    assert_eq!(
        changed,
        [(Some("New".into()), 0), (Some("C, edited".into()), 2)]
    );
}

#[test]
fn exact_copies_within_one_batch_are_dropped_and_other_items_kept_apart() {
    let mut db = MapIndex::default();
    let d = run(
        &mut db,
        vec![
            entry(Some("g"), None, "A"),
            entry(Some("g"), None, "A"),
            entry(Some("g"), None, "B"),
            entry(Some("h"), Some("http://x.org/1"), "C"),
            entry(Some("i"), Some("https://x.org/1/"), "C"),
        ],
        t(1),
    );
    // The copy of g/A goes; g/B shares the guid but not the content;
    // h and i have guids of their own (their shared link is no
    // identity, so no link alias joins them).
    assert_eq!(d.len(), 4, "{d:?}");
    assert!(d.iter().all(|d| matches!(d, Decision::Insert(_))), "{d:?}");
    assert_eq!(db.items.len(), 4);
    // The next refresh finds each again.
    let d = run(
        &mut db,
        vec![
            entry(Some("g"), None, "A"),
            entry(Some("g"), None, "B"),
            entry(Some("h"), Some("http://x.org/1"), "C"),
            entry(Some("i"), Some("https://x.org/1/"), "C"),
        ],
        t(2),
    );
    assert!(
        d.iter().all(|d| matches!(d, Decision::Unchanged(_))),
        "{d:?}"
    );
    assert_eq!(d.len(), 4);
}

#[test]
fn guid_drift_scheme_change_and_domain_move_update_the_first_item() {
    let mut db = MapIndex::default();
    run(
        &mut db,
        vec![entry(
            Some("g1"),
            Some("http://old.example/post/1"),
            "Big news",
        )],
        t(1),
    );
    let key = *db.items.keys().next().unwrap();
    for (i, (guid, link)) in [
        ("g2", "http://old.example/post/1?utm_source=rss"),
        ("g3", "https://old.example/post/1/"),
        ("https://new.example/?p=1", "https://new.example/post/1"),
    ]
    .into_iter()
    .enumerate()
    {
        let d = run(
            &mut db,
            vec![entry(Some(guid), Some(link), "Big  News")],
            t(2 + i as u32),
        );
        let Decision::Update { new, .. } = &d[0] else {
            panic!("{guid}: expected update, got {d:?}")
        };
        assert_eq!(new.key, key);
        assert_eq!(
            new.entry.link.as_deref(),
            Some(link),
            "the original link is kept"
        );
    }
    // The drifted guids are aliases now: each one finds the item again.
    let d = run(
        &mut db,
        vec![entry(Some("g2"), Some("http://elsewhere/x"), "Other")],
        t(9),
    );
    assert!(
        matches!(&d[0], Decision::Update { new, .. } if new.key == key),
        "{d:?}"
    );
    assert_eq!(db.items.len(), 1);
    // A new guid with the same link but another title is another item.
    let d = run(
        &mut db,
        vec![entry(
            Some("g9"),
            Some("https://new.example/post/1"),
            "Else",
        )],
        t(10),
    );
    assert!(matches!(d[0], Decision::Insert(_)), "{d:?}");
}

#[test]
fn tombstones_and_max_age_keep_items_out() {
    let mut db = MapIndex::default();
    let key = ItemKey::derive("src", "id:gone");
    db.tombstones.insert(key, t(5));
    let d = run(&mut db, vec![entry(Some("gone"), None, "Old")], t(4));
    assert_eq!(d, [Decision::Tombstoned(key)]);
    // An expired tombstone no longer holds it back.
    let d = run(&mut db, vec![entry(Some("gone"), None, "Old")], t(6));
    assert!(matches!(d[0], Decision::Insert(_)));

    let urls = UrlOptions::default();
    let mut p = policy("src", &urls);
    p.max_age = Some(chrono::Duration::hours(2));
    let mut old = entry(Some("ancient"), None, "Ancient");
    old.published = Some(t(1));
    let plan = plan(&p, vec![old], t(5), &mut db).unwrap();
    assert_eq!(plan.decisions, [Decision::TooOld]);
}

#[test]
fn same_canonical_link_in_another_source_merges() {
    let mut db = MapIndex::default();
    run_in(
        &mut db,
        "a",
        vec![entry(
            Some("a1"),
            Some("https://www.wire.example/story?utm_medium=x"),
            "Story",
        )],
        t(1),
    );
    let d = run_in(
        &mut db,
        "b",
        vec![entry(
            Some("b1"),
            Some("http://wire.example/story"),
            "Story!",
        )],
        t(2),
    );
    let Decision::Insert(dup) = &d[0] else {
        panic!("{d:?}")
    };
    let primary = ItemKey::derive("a", "id:a1");
    assert_eq!(dup.duplicate_of, Some(primary));
    let merged = &db.items[&primary].merged;
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].source, "b");
    assert!(
        matches!(&merged[0].rule, MergeRule::SameLink { canonical } if canonical == "wire.example/story")
    );
}

#[test]
fn a_link_two_items_of_one_source_share_merges_nothing_across_sources() {
    let mut db = MapIndex::default();
    run_in(
        &mut db,
        "a",
        vec![entry(
            Some("a1"),
            Some("https://x.example/live"),
            "Live, 9:00",
        )],
        t(1),
    );
    run_in(
        &mut db,
        "a",
        vec![entry(
            Some("a2"),
            Some("https://x.example/live"),
            "Live, 10:00",
        )],
        t(2),
    );
    assert_eq!(db.items.len(), 2);
    let d = run_in(
        &mut db,
        "b",
        vec![entry(Some("b1"), Some("https://x.example/live"), "Live")],
        t(3),
    );
    let Decision::Insert(b1) = &d[0] else {
        panic!("{d:?}")
    };
    assert_eq!(b1.duplicate_of, None, "the link identifies no item of a");
    // A link that identifies one item in each source merges them.
    run_in(
        &mut db,
        "a",
        vec![entry(Some("a3"), Some("https://x.example/one"), "One")],
        t(4),
    );
    let d = run_in(
        &mut db,
        "b",
        vec![entry(Some("b2"), Some("https://x.example/one"), "One")],
        t(5),
    );
    let Decision::Insert(b2) = &d[0] else {
        panic!("{d:?}")
    };
    assert_eq!(b2.duplicate_of, Some(ItemKey::derive("a", "id:a3")));
}

/// Regression: the most similar candidate belonged to the entry's own
/// source, and the merge with a less similar one from another source
/// above the threshold was missed.
#[test]
fn near_duplicate_merge_skips_candidates_of_the_same_source() {
    let words = |from: usize, to: usize| {
        (from..to)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let body = |e: Entry, text: String| Entry {
        content_html: Some(text),
        ..e
    };
    let urls = UrlOptions::default();
    let mut db = MapIndex::default();
    let mut step = |source: &str, threshold: u8, e: Entry| {
        let mut p = policy(source, &urls);
        p.near_threshold_pct = Some(threshold);
        let plan = plan(&p, vec![e], t(1), &mut db).unwrap();
        for d in &plan.decisions {
            if let Decision::Insert(i) = d {
                db.items.insert(i.key, i.clone());
            }
        }
        for (primary, record) in plan.merges {
            db.items.get_mut(&primary).unwrap().merged.push(record);
        }
        db.sigs.extend(plan.signatures);
        plan.decisions
    };
    step("b", 60, body(entry(Some("b1"), None, "S"), words(0, 100)));
    // A strict source: indexed, not merged (similar to b1, below 95%;
    // another title, so not a part of b1's story either).
    step("a", 95, body(entry(Some("a1"), None, "T"), words(0, 80)));
    let d = step("b", 60, body(entry(Some("b2"), None, "S"), words(0, 95)));
    let Decision::Insert(b2) = &d[0] else {
        panic!("{d:?}")
    };
    assert_eq!(b2.duplicate_of, Some(ItemKey::derive("a", "id:a1")));
}

#[test]
fn untitled_short_copy_in_another_source_merges_only_when_contained_whole() {
    let text = "Went to the concert last night with friends from school and the band \
                played every song from the old record, twice.";
    let untitled = |id: &str, text: &str| Entry {
        upstream_id: Some(id.to_string()),
        content_html: Some(text.to_string()),
        ..Entry::default()
    };
    let mut db = MapIndex::default();
    run_in(&mut db, "a", vec![untitled("a1", text)], t(1));
    // The same 22 words, padded with a share bar: the same post.
    let padded = format!("<p>{text}</p><p>Share on Facebook, Twitter</p>");
    let d = run_in(&mut db, "b", vec![untitled("b1", &padded)], t(2));
    let Decision::Insert(b1) = &d[0] else {
        panic!("{d:?}")
    };
    assert_eq!(b1.duplicate_of, Some(ItemKey::derive("a", "id:a1")));
    // One word changed: alike (over 60%), not contained whole.
    let other = text.replace("last night", "on Sunday");
    let d = run_in(&mut db, "c", vec![untitled("c1", &other)], t(3));
    let Decision::Insert(c1) = &d[0] else {
        panic!("{d:?}")
    };
    assert_eq!(c1.duplicate_of, None);
}

#[test]
fn huge_ids_and_titles_make_small_aliases() {
    let urls = UrlOptions::default();
    let big = "A".repeat(8 << 20);
    let e = entry(Some(&big), Some("https://x.example/a"), &big);
    let aliases = source_aliases(&e, &policy("src", &urls));
    assert_eq!(aliases.len(), 2);
    assert!(
        aliases.iter().all(|a| a.len() < 300),
        "{}",
        aliases[0].len()
    );
    let other = entry(Some(&format!("{big}B")), Some("https://x.example/a"), "t");
    assert_ne!(source_aliases(&other, &policy("src", &urls))[0], aliases[0]);
}

#[test]
fn expired_keeps_the_newest_and_the_young() {
    let k = |i: u8| ItemKey([i; 16]);
    let items = vec![(k(1), t(1)), (k(3), t(3)), (k(2), t(2)), (k(4), t(4))];
    let mut gone = expired(&items, Some(2), None, t(5));
    gone.sort();
    assert_eq!(gone, [k(1), k(2)]);
    assert_eq!(
        expired(&items, None, Some(chrono::Duration::minutes(150)), t(5)),
        [k(2), k(1)]
    );
    assert!(expired(&items, None, None, t(5)).is_empty());
}

#[test]
fn public_id_is_a_stable_uuid_urn() {
    let key = ItemKey::derive("src", "id:g");
    let id = mint_public_id(&key);
    assert_eq!(id, mint_public_id(&key));
    assert!(id.starts_with("urn:uuid:"));
    assert_eq!(id.len(), "urn:uuid:".len() + 36);
    assert_eq!(&id[23..24], "8", "version nibble: {id}");
    // The key's bytes are kept, but for the version (8) and the RFC 9562
    // variant (binary 10) bits.
    let counting = ItemKey(std::array::from_fn(|i| i as u8));
    assert_eq!(
        mint_public_id(&counting),
        "urn:uuid:00010203-0405-8607-8809-0a0b0c0d0e0f"
    );
    assert_eq!(
        mint_public_id(&ItemKey([0xff; 16])),
        "urn:uuid:ffffffff-ffff-8fff-bfff-ffffffffffff"
    );
    assert_eq!(
        mint_public_id(&ItemKey([0; 16])),
        "urn:uuid:00000000-0000-8000-8000-000000000000"
    );
}

#[test]
fn long_alias_parts_are_cut_on_a_character_boundary_and_hashed() {
    let short = "x".repeat(MAX_ALIAS_PART);
    assert_eq!(bounded(&short), short);
    // 199 ASCII bytes, then `é` across bytes 199 and 200, then more: the
    // cut at 200 would split it, so it falls back to 199.
    let long = format!("{}é{}", "a".repeat(199), "b".repeat(100));
    let cut = bounded(&long);
    let digest = hex::encode(&Sha256::digest(long.as_bytes())[..8]);
    assert_eq!(cut, format!("{}…#{digest}", "a".repeat(199)));
    // Two long parts that differ only past the cut stay apart.
    let other = format!("{}é{}", "a".repeat(199), "c".repeat(100));
    assert_ne!(bounded(&other), cut);
}

#[test]
fn a_teaser_in_another_source_joins_the_story_by_its_title() {
    let words = |from: usize, n: usize| {
        (from..from + n)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let story = |id: &str, title: &str, text: String| Entry {
        content_html: Some(format!("<p>{text}</p>")),
        ..entry(Some(id), None, title)
    };
    let duplicate_of = |d: &[Decision]| match &d[0] {
        Decision::Insert(i) => i.duplicate_of,
        other => panic!("{other:?}"),
    };
    let mut db = MapIndex::default();
    run_in(
        &mut db,
        "a",
        vec![story("a1", "Rust 2 released", words(0, 120))],
        t(1),
    );
    // A twenty-word teaser under the title with a publisher suffix: too
    // unlike the whole text for its signature, found by the title.
    let teaser = story("b1", "Rust 2 released - Example News", words(0, 20));
    let d = run_in(&mut db, "b", vec![teaser.clone()], t(2));
    assert_eq!(duplicate_of(&d), Some(ItemKey::derive("a", "id:a1")));
    // The same teaser in a's own source is another item of it.
    let own = story("a2", "Rust 2 released", words(0, 20));
    let d = run_in(&mut db, "a", vec![own], t(3));
    assert_eq!(duplicate_of(&d), None);
    // A one-word title names no story.
    run_in(
        &mut db,
        "c",
        vec![story("c1", "Update", words(500, 120))],
        t(4),
    );
    let d = run_in(
        &mut db,
        "d",
        vec![story("d1", "Update", words(500, 20))],
        t(5),
    );
    assert_eq!(duplicate_of(&d), None);
}

#[test]
fn a_guid_is_reused_only_when_both_link_and_title_change() {
    let urls = UrlOptions::default();
    let old = entry(Some("g"), Some("https://x.example/a"), "First post");
    let reused = entry(Some("g"), Some("https://x.example/b"), "Second post");
    assert!(reuses_guid(&old, &reused, &urls));
    // One of the two kept: the same post, changed.
    let retitled = entry(Some("g"), Some("https://x.example/a"), "First post, edited");
    assert!(!reuses_guid(&old, &retitled, &urls));
    let moved = entry(Some("g"), Some("https://x.example/c"), "First post");
    assert!(!reuses_guid(&old, &moved, &urls));
    // The same link once canonical (a tracking parameter) is the same link.
    let tracked = entry(
        Some("g"),
        Some("https://x.example/a?utm_source=rss"),
        "Other title",
    );
    assert!(!reuses_guid(&old, &tracked, &urls));
    // Without a link on the old entry (or an empty one) nothing says the
    // post changed.
    let linkless = entry(Some("g"), None, "First post");
    assert!(!reuses_guid(&linkless, &reused, &urls));
    let blank = entry(Some("g"), Some("  "), "First post");
    assert!(!reuses_guid(&blank, &reused, &urls));
}

#[test]
fn the_path_and_title_alias_needs_fuzzy_identity_and_a_title() {
    let urls = UrlOptions::default();
    let e = entry(None, Some("https://x.example/post?id=1"), "A Title");
    let fuzzy = source_aliases(&e, &policy("src", &urls));
    assert_eq!(
        fuzzy,
        ["src link x.example/post?id=1", "src pt /post?id=1 a title"]
    );
    // A local source (no fuzzy identity) gets no path-and-title alias.
    let exact = Policy {
        fuzzy_identity: false,
        ..policy("src", &urls)
    };
    assert_eq!(source_aliases(&e, &exact), ["src link x.example/post?id=1"]);
    // Nor does an untitled entry.
    let untitled = entry(None, Some("https://x.example/post?id=1"), "");
    assert_eq!(
        source_aliases(&untitled, &policy("src", &urls)),
        ["src link x.example/post?id=1"]
    );
}

/// A document planned a few entries at a time, each chunk written before
/// the next is planned, decides what one plan would: the identity warnings
/// come once, with the first chunk, and an entry matching an item an
/// earlier chunk matched is dropped.
#[test]
fn a_document_planned_in_chunks_decides_as_one_plan() {
    let urls = UrlOptions::default();
    let p = policy("src", &urls);
    let doc = || {
        vec![
            entry(Some("shared"), Some("https://x.example/a"), "A"),
            entry(Some("shared"), Some("https://x.example/b"), "B"),
            // Guid drift: the stored "old" by its path and title.
            entry(Some("new"), Some("https://x.example/p"), "Story"),
            // "old" itself, matched by the entry before: dropped.
            entry(Some("old"), Some("https://x.example/z"), "Other"),
            entry(Some("e"), None, "E"),
        ]
    };
    let stored = || {
        let mut db = MapIndex::default();
        run(
            &mut db,
            vec![entry(Some("old"), Some("https://x.example/p"), "Story")],
            t(1),
        );
        db
    };
    let mut whole_db = stored();
    let whole = plan(&p, doc(), t(2), &mut whole_db).unwrap();
    assert_eq!(whole.warnings.len(), 1, "{:?}", whole.warnings);
    let whole = apply(&mut whole_db, whole);

    let mut db = stored();
    let mut planner = Planner::new(&p, doc());
    assert_eq!(planner.remaining(), 5);
    let first = planner.next(2, t(2), &mut db).unwrap();
    assert_eq!(planner.remaining(), 3);
    assert_eq!(first.warnings.len(), 1, "{:?}", first.warnings);
    assert!(first.warnings[0].contains("share the guid"));
    let mut decisions = apply(&mut db, first);
    assert_eq!(decisions.len(), 2);
    let second = planner.next(2, t(2), &mut db).unwrap();
    assert_eq!(planner.remaining(), 1);
    assert!(second.warnings.is_empty());
    let old = ItemKey::derive("src", "id:old");
    let second = apply(&mut db, second);
    assert!(
        matches!(&second[..], [Decision::Update { new, .. }] if new.key == old),
        "{second:?}"
    );
    decisions.extend(second);
    let third = planner.next(2, t(2), &mut db).unwrap();
    assert_eq!(planner.remaining(), 0);
    decisions.extend(apply(&mut db, third));
    assert_eq!(planner.next(2, t(2), &mut db).unwrap(), Plan::default());
    assert_eq!(decisions, whole);
    assert_eq!(db.items.len(), 4);
}

/// An entry without a guid whose link gained a fragment (the page now
/// lists several entries) is the item stored under the page with the
/// same fragment, and only that one.
#[test]
fn a_link_that_gained_a_telling_fragment_finds_the_item_stored_without_it() {
    let mut db = MapIndex::default();
    let d = run(
        &mut db,
        vec![entry(None, Some("https://x.example/day#one"), "One")],
        t(1),
    );
    let Decision::Insert(one) = &d[0] else {
        panic!("{d:?}")
    };
    assert_eq!(one.key, ItemKey::derive("src", "link:x.example/day"));
    let d = run(
        &mut db,
        vec![
            entry(None, Some("https://x.example/day#one"), "One"),
            entry(None, Some("https://x.example/day#two"), "Two"),
        ],
        t(2),
    );
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(d[0], Decision::Unchanged(one.key));
    let Decision::Insert(two) = &d[1] else {
        panic!("{d:?}")
    };
    assert_eq!(two.key, ItemKey::derive("src", "link:x.example/day#two"));
    assert_eq!(db.items.len(), 2);
}

/// A tombstone lasts until its instant, not at it; `max_age` keeps an
/// entry dated exactly `now - max_age` and anything younger.
#[test]
fn tombstone_and_max_age_bounds_are_exact() {
    let mut db = MapIndex::default();
    let key = ItemKey::derive("src", "id:gone");
    db.tombstones.insert(key, t(5));
    let d = run(&mut db, vec![entry(Some("gone"), None, "Old")], t(5));
    assert!(matches!(d[0], Decision::Insert(_)), "{d:?}");

    let urls = UrlOptions::default();
    let mut p = policy("src", &urls);
    p.max_age = Some(chrono::Duration::hours(2));
    let dated = |id: &str, h: u32| Entry {
        published: Some(t(h)),
        ..entry(Some(id), None, id)
    };
    let plan = plan(
        &p,
        vec![dated("edge", 3), dated("young", 4), dated("old", 2)],
        t(5),
        &mut db,
    )
    .unwrap();
    assert!(matches!(plan.decisions[0], Decision::Insert(_)));
    assert!(matches!(plan.decisions[1], Decision::Insert(_)));
    assert_eq!(plan.decisions[2], Decision::TooOld);
    let k = |i: u8| ItemKey([i; 16]);
    let items = [(k(1), t(3)), (k(2), t(2))];
    let hours = |h| Some(chrono::Duration::hours(h));
    assert_eq!(expired(&items, None, hours(2), t(5)), [k(2)]);
}

/// A new item takes its dates from the entry (published, else updated,
/// else now; updated never before published), its aliases and the
/// source's feed address.
#[test]
fn a_new_item_keeps_its_dates_aliases_and_feed_address() {
    let urls = UrlOptions::default();
    let p = Policy {
        feed_url: Some("https://x.example/feed.xml"),
        ..policy("src", &urls)
    };
    let dated = |id: &str, published: Option<u32>, updated: Option<u32>| Entry {
        published: published.map(t),
        updated: updated.map(t),
        ..entry(Some(id), Some(&format!("https://x.example/{id}")), id)
    };
    let mut db = MapIndex::default();
    let plan = plan(
        &p,
        vec![
            dated("both", Some(1), Some(2)),
            dated("upd", None, Some(3)),
            dated("back", Some(4), Some(2)),
            dated("none", None, None),
        ],
        t(9),
        &mut db,
    )
    .unwrap();
    let items: Vec<&StoredItem> = plan
        .decisions
        .iter()
        .map(|d| match d {
            Decision::Insert(i) => i,
            other => panic!("{other:?}"),
        })
        .collect();
    let dates: Vec<_> = items.iter().map(|i| (i.published, i.updated)).collect();
    assert_eq!(
        dates,
        [(t(1), t(2)), (t(3), t(3)), (t(4), t(4)), (t(9), t(9))]
    );
    assert!(items.iter().all(|i| i.first_seen == t(9)));
    assert_eq!(
        items[0].feed_url.as_deref(),
        Some("https://x.example/feed.xml")
    );
    assert_eq!(
        items[0].aliases,
        ["src id both", "src pt /both both", "* link x.example/both"]
    );
    let mut planned = plan.aliases.clone();
    planned.sort();
    let mut listed: Vec<(String, ItemKey)> = items
        .iter()
        .flat_map(|i| i.aliases.iter().map(|a| (a.clone(), i.key)))
        .collect();
    listed.sort();
    assert_eq!(planned, listed);
}

/// A changed item's `updated` is the entry's own when it moved forward,
/// else the time of the change.
#[test]
fn an_update_takes_the_entry_date_only_when_it_moved_forward() {
    let mut db = MapIndex::default();
    let at = |title: &str, updated: u32| Entry {
        updated: Some(t(updated)),
        ..entry(Some("g"), None, title)
    };
    run(&mut db, vec![at("v1", 2)], t(2));
    let updated = |d: Vec<Decision>| match &d[0] {
        Decision::Update { new, .. } => new.updated,
        other => panic!("{other:?}"),
    };
    // Edited without touching its date: the change is dated now.
    assert_eq!(updated(run(&mut db, vec![at("v2", 2)], t(5))), t(5));
    // Its date moved forward: that date.
    assert_eq!(updated(run(&mut db, vec![at("v3", 6)], t(7))), t(6));
    // Its date went back: now, never before what was published.
    assert_eq!(updated(run(&mut db, vec![at("v4", 1)], t(8))), t(8));
}

/// An unchanged entry costs one lookup of its item (the default
/// `compare_digest` reads it once; the planner does not read it again).
#[test]
fn an_unchanged_entry_is_read_once() {
    let mut db = MapIndex::default();
    run(&mut db, vec![entry(Some("g"), None, "Same")], t(1));
    db.reads = 0;
    let d = run(&mut db, vec![entry(Some("g"), None, "Same")], t(2));
    assert!(matches!(d[..], [Decision::Unchanged(_)]));
    assert_eq!(db.reads, 1);
}

//! Matching a new entry across sources: the same canonical link, the same story
//! title with contained text, or a near-identical text (its candidates capped);
//! and the merge record the entry leaves on the item it joins.

use super::*;

/// Least share (percent) of the smaller text's shingles found in the larger
/// one for two items with the same story title to be one story (a summary,
/// a teaser, a cut or padded copy).
pub const CONTAINED_PCT: u8 = 60;

/// Fewest words of text (title aside) an item needs to be a near-duplicate
/// of one with another title.
pub const SHORT_TEXT_WORDS: usize = 30;

/// Most candidates of the LSH lookup re-checked exactly (their items read
/// and their shingle sets compared), best estimates first.
pub const EXACT_CHECKS: usize = 8;

/// How far under the threshold an estimate may be and still be re-checked
/// exactly (64 hashes are off by a few points).
pub(super) const ESTIMATE_MARGIN: u8 = 15;

/// The marker alias of a link that several items of `source` share: it
/// identifies none of them across sources.
pub(super) fn shared_link_alias(source: &str, key: &str) -> String {
    format!("{source} shared {}", bounded(key))
}

/// The cross-source alias of a story title.
pub(super) fn title_alias(title: &str) -> String {
    format!("* title {}", bounded(title))
}

/// The text of an entry that dedup compares: its content, else its summary.
pub(super) fn text_of(entry: &Entry) -> &str {
    entry
        .content_html
        .as_deref()
        .or(entry.summary_html.as_deref())
        .unwrap_or("")
}

/// Whether two entries tell the same story, exactly: the same story title
/// and one text mostly contained in the other, or texts (with titles)
/// similar above `threshold`. Returns the rule that holds.
pub(super) fn same_story(a: &Entry, b: &Entry, threshold: u8) -> Option<MergeRule> {
    let (ta, tb) = (
        a.title.as_deref().unwrap_or(""),
        b.title.as_deref().unwrap_or(""),
    );
    if near::same_story_title(ta, tb) {
        let contained = near::Shingles::of_text(text_of(a))
            .containment_pct(&near::Shingles::of_text(text_of(b)));
        if contained >= CONTAINED_PCT {
            return Some(MergeRule::Contained {
                containment_pct: contained,
                threshold_pct: CONTAINED_PCT,
            });
        }
    }
    let (sa, sb) = (
        near::Shingles::of(ta, text_of(a)),
        near::Shingles::of(tb, text_of(b)),
    );
    if sa.word_count() < near::MIN_WORDS || sb.word_count() < near::MIN_WORDS {
        return None;
    }
    // Short texts under other titles: the title is most of what tells
    // them apart (a feed of one-line notices differing in a word).
    let short = |t: &str, s: &near::Shingles| {
        s.word_count().saturating_sub(near::words(t).len()) < SHORT_TEXT_WORDS
    };
    if short(ta, &sa) || short(tb, &sb) {
        // Untitled short texts: the text is all there is, so one must be
        // contained whole in the other (a copy, cut or padded), not merely
        // alike (two notices differing in a word).
        if near::words(ta).is_empty() && near::words(tb).is_empty() {
            let contained = near::Shingles::of_text(text_of(a))
                .containment_pct(&near::Shingles::of_text(text_of(b)));
            return (contained == 100).then_some(MergeRule::Contained {
                containment_pct: contained,
                threshold_pct: 100,
            });
        }
        if !near::same_story_title(ta, tb) {
            return None;
        }
    }
    let similarity = sa.jaccard_pct(&sb);
    (similarity >= threshold).then_some(MergeRule::NearDuplicate {
        similarity_pct: similarity,
        threshold_pct: threshold,
    })
}

/// Whether two entries with the same link may be merged by it: the words
/// of one title are all in the other (or one has none), or their texts
/// tell the same story.
pub(super) fn link_agrees(a: &Entry, b: &Entry, threshold: u8) -> bool {
    let (ta, tb) = (
        a.title.as_deref().unwrap_or(""),
        b.title.as_deref().unwrap_or(""),
    );
    let (wa, wb) = (near::words(ta), near::words(tb));
    let (small, large) = if wa.len() <= wb.len() {
        (&wa, &wb)
    } else {
        (&wb, &wa)
    };
    small.iter().all(|w| large.contains(w)) || same_story(a, b, threshold).is_some()
}

/// Matches a new item against other sources, in order: the item holding
/// its link (when the link identifies one item in each source and the two
/// agree), else (near-duplicate matching on) the item holding its story
/// title when one text contains the other, else the most similar of at
/// most [`EXACT_CHECKS`] LSH candidates, re-checked exactly. Records the
/// merge, or indexes the item as a primary.
pub(super) fn cross_source<I: Index>(
    policy: &Policy,
    doc: &document::DocIdentity,
    mut item: StoredItem,
    now: DateTime<Utc>,
    index: &mut I,
    out: &mut Plan,
) -> Result<StoredItem, I::Error> {
    let threshold = policy
        .near_threshold_pct
        .unwrap_or(DEFAULT_LINK_AGREEMENT_PCT);
    let mut found: Option<(ItemKey, MergeRule)> = None;
    let link_key = doc.link_key.clone().filter(|_| doc.link_identifies);
    if let Some(key) = &link_key {
        let alias = link_alias(key);
        // The first stored item with a link holds its alias.
        let holder = match index.alias(&alias)? {
            Some(other) => index.item(&other)?,
            None => None,
        };
        match holder {
            // Another item of this source has the link: it identifies
            // neither across sources from now on.
            Some(holder) if holder.source == policy.source => {
                let marker = shared_link_alias(policy.source, key);
                out.aliases.push((marker.clone(), item.key));
                item.aliases.push(marker);
            }
            Some(holder) => {
                let shared = index
                    .alias(&shared_link_alias(&holder.source, key))?
                    .is_some()
                    || index
                        .alias(&shared_link_alias(policy.source, key))?
                        .is_some();
                if !shared
                    && link_agrees(&item.entry, &holder.entry, threshold)
                    && let Some(primary) = primary_of(index, holder.key, policy.source)?
                {
                    found = Some((
                        primary,
                        MergeRule::SameLink {
                            canonical: key.clone(),
                        },
                    ));
                }
            }
            None => {
                out.aliases.push((alias.clone(), item.key));
                item.aliases.push(alias);
            }
        }
    }
    let Some(threshold) = policy.near_threshold_pct else {
        return Ok(record(policy, item, found, None, now, out));
    };
    // The story title: a summary, teaser or cut copy of the item holding it.
    let titles = near::story_titles(item.entry.title.as_deref().unwrap_or(""));
    let titles: Vec<String> = titles
        .into_iter()
        .filter(|t| t.split(' ').count() >= MIN_TITLE_WORDS)
        .collect();
    for title in &titles {
        let alias = title_alias(title);
        match index.alias(&alias)? {
            Some(other) if found.is_none() => {
                if let Some(holder) = index.item(&other)?
                    && holder.source != policy.source
                    && let Some(rule) = same_story(&item.entry, &holder.entry, threshold)
                    && let Some(primary) = primary_of(index, holder.key, policy.source)?
                {
                    found = Some((primary, rule));
                }
            }
            Some(_) => {}
            None => {
                if !out.aliases.iter().any(|(a, _)| *a == alias) {
                    out.aliases.push((alias.clone(), item.key));
                    item.aliases.push(alias);
                }
            }
        }
    }
    let sig = signature(&item.entry);
    if found.is_none()
        && let Some(sig) = &sig
    {
        // The best estimates (near the threshold or above), re-checked
        // exactly; candidates of this source are other items.
        let mut best: Vec<(u8, ItemKey)> = index
            .near_candidates(sig)?
            .into_iter()
            .map(|(candidate, their)| (sig.similarity_pct(&their), candidate))
            .filter(|(similarity, _)| similarity.saturating_add(ESTIMATE_MARGIN) >= threshold)
            .collect();
        best.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        best.truncate(EXACT_CHECKS);
        let mut matches: Vec<(u8, ItemKey, MergeRule)> = Vec::new();
        for (_, candidate) in best {
            let Some(other) = index.item(&candidate)? else {
                continue;
            };
            if other.source == policy.source {
                continue;
            }
            if let Some(rule) = same_story(&item.entry, &other.entry, threshold) {
                let score = match &rule {
                    MergeRule::NearDuplicate { similarity_pct, .. } => *similarity_pct,
                    MergeRule::Contained {
                        containment_pct, ..
                    } => *containment_pct,
                    MergeRule::SameLink { .. } => 100,
                };
                matches.push((score, candidate, rule));
            }
        }
        matches.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        for (_, candidate, rule) in matches {
            if let Some(primary) = primary_of(index, candidate, policy.source)? {
                found = Some((primary, rule));
                break;
            }
        }
    }
    Ok(record(policy, item, found, sig, now, out))
}

/// Fewest words a story title needs to find items by title alone.
pub(super) const MIN_TITLE_WORDS: usize = 2;

/// The similarity two texts with one link need when the source has
/// near-duplicate matching off (their titles differ).
pub(super) const DEFAULT_LINK_AGREEMENT_PCT: u8 = 60;

/// Records `item` as a duplicate of what it was `found` to be, else
/// indexes its signature as a primary.
pub(super) fn record(
    policy: &Policy,
    mut item: StoredItem,
    found: Option<(ItemKey, MergeRule)>,
    sig: Option<Signature>,
    now: DateTime<Utc>,
    out: &mut Plan,
) -> StoredItem {
    match found {
        Some((primary, rule)) => {
            item.duplicate_of = Some(primary);
            out.merges.push((
                primary,
                MergeRecord {
                    key: item.key,
                    source: policy.source.to_string(),
                    link: item.entry.link.clone(),
                    feed_url: policy.feed_url.map(str::to_string),
                    rule,
                    at: now,
                },
            ));
        }
        None => {
            if let Some(sig) = sig {
                out.signatures.push((item.key, sig));
            }
        }
    }
    item
}

/// The stored primary of `key` (itself, or what it is a duplicate of),
/// when it exists and belongs to another source than `source`.
pub(super) fn primary_of<I: Index>(
    index: &mut I,
    key: ItemKey,
    source: &str,
) -> Result<Option<ItemKey>, I::Error> {
    let Some(item) = index.item(&key)? else {
        return Ok(None);
    };
    let primary = match item.duplicate_of {
        Some(p) => match index.item(&p)? {
            Some(p) => p,
            None => item,
        },
        None => item,
    };
    Ok((primary.source != source).then_some(primary.key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` distinct words from `from` on: `w7 w8 w9 ...`.
    fn words(from: usize, n: usize) -> String {
        (from..from + n)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn item(title: &str, text: &str) -> Entry {
        Entry {
            title: (!title.is_empty()).then(|| title.to_string()),
            content_html: Some(format!("<p>{text}</p>")),
            ..Entry::default()
        }
    }

    fn contained(pct: u8, threshold: u8) -> Option<MergeRule> {
        Some(MergeRule::Contained {
            containment_pct: pct,
            threshold_pct: threshold,
        })
    }

    #[test]
    fn a_teaser_under_the_same_title_is_the_same_story() {
        let full = item("Rust 2 released", &words(0, 80));
        let teaser = item("Rust 2 released - Example News", &words(0, 20));
        assert_eq!(
            same_story(&teaser, &full, 60),
            contained(100, CONTAINED_PCT)
        );
        let other = item("Rust 2 released", &words(500, 80));
        assert_eq!(same_story(&other, &full, 60), None);
        // A title of its own is no story title in common.
        assert_ne!(title_alias("Rust 2 released"), title_alias("Go 2 released"));
        assert_eq!(title_alias("Rust"), "* title Rust");
    }

    #[test]
    fn untitled_short_texts_need_twelve_words_and_one_contained_whole() {
        let long = item("", &words(0, 25));
        // Eleven words: too few to tell, even contained.
        let tiny = item("", &words(0, near::MIN_WORDS - 1));
        assert_eq!(same_story(&tiny, &long, 60), None);
        assert_eq!(same_story(&long, &tiny, 60), None);
        // Twelve: enough, and contained whole.
        let twelve = item("", &words(0, near::MIN_WORDS));
        assert_eq!(same_story(&twelve, &long, 60), contained(100, 100));
        assert_eq!(same_story(&long, &twelve, 60), contained(100, 100));
        // A word changed: not contained whole, so not one story.
        let changed = item("", &format!("{} changed", words(0, 14)));
        assert_eq!(same_story(&changed, &long, 60), None);
        // One titled, one not: the untitled rule does not apply.
        let titled = item("Notice", &words(0, 15));
        assert_eq!(same_story(&titled, &item("", &words(0, 15)), 60), None);
    }

    #[test]
    fn short_texts_under_other_titles_are_apart_and_thirty_words_are_not_short() {
        // 30 words of text under two titles: compared by similarity.
        let a = item("Alpha story", &words(0, SHORT_TEXT_WORDS));
        let b = item("Beta report", &words(0, SHORT_TEXT_WORDS));
        assert!(
            matches!(
                same_story(&a, &b, 60),
                Some(MergeRule::NearDuplicate { .. })
            ),
            "{:?}",
            same_story(&a, &b, 60)
        );
        // 29 words under either: the titles keep them apart.
        let short = item("Alpha story", &words(0, SHORT_TEXT_WORDS - 1));
        let longer = item("Beta report", &words(0, SHORT_TEXT_WORDS + 2));
        assert_eq!(same_story(&short, &longer, 60), None);
        assert_eq!(same_story(&longer, &short, 60), None);
    }

    #[test]
    fn short_texts_under_one_title_go_by_similarity() {
        // Half the words shared: contained under 60 %, similar above a
        // low threshold.
        let a = item("Notice", &words(0, 20));
        let b = item("Notice", &format!("{} {}", words(0, 10), words(300, 10)));
        let Some(MergeRule::NearDuplicate { similarity_pct, .. }) = same_story(&a, &b, 10) else {
            panic!("{:?}", same_story(&a, &b, 10));
        };
        assert!((10..CONTAINED_PCT).contains(&similarity_pct));
        assert_eq!(same_story(&a, &b, 90), None);
    }

    #[test]
    fn a_link_is_agreed_when_one_title_is_within_the_other_either_way() {
        let short = item("Rust 2", &words(0, 5));
        let long = item("Rust 2 is out today", &words(100, 5));
        assert!(link_agrees(&short, &long, 60));
        assert!(link_agrees(&long, &short, 60));
        let untitled = item("", &words(200, 5));
        assert!(link_agrees(&untitled, &long, 60), "no title: no conflict");
        let other = item("Apple pie", &words(300, 5));
        assert!(!link_agrees(&other, &long, 60));
        assert!(!link_agrees(&long, &other, 60));
    }
}

//! Identities within one document: what tells the entries of one refresh
//! apart before anything is looked up.
//!
//! - A **guid** (guid, atom:id, JSON id, a local article's path) is the
//!   identity of an entry when no other entry of the document has it. Entries
//!   sharing one guid are told apart by their link (when it differs among
//!   them), else by their content, else by their position among those with
//!   the same content; exact copies (same content digest) are one entry.
//! - A **link** is an identity only where it identifies one item: a
//!   fragment that tells entries of the document apart (`day.html#a1`,
//!   `day.html#a2`) is kept in it; a link that several entries share, or
//!   that is the document's own address or its home page, is none, and
//!   those entries fall to their content, then their position.
//!
//! Each entry that had to fall to a lower rung is reported in a warning.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::UrlOptions;
use super::url::canonical_url;
use crate::model::Entry;

/// Most warnings one document reports (the count says the rest).
const MAX_WARNINGS: usize = 5;

/// What the document says about one entry's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocIdentity {
    /// The identity the item key is derived from.
    pub identity: String,
    /// The guid identifies this entry alone: its same-source alias (old
    /// guids) may be written and looked up.
    pub guid_alone: bool,
    /// The link as compared (canonical, with its fragment where the
    /// fragment tells entries apart), when the entry has one.
    pub link_key: Option<String>,
    /// The link identifies this entry alone in the document and is not the
    /// document's own address: link aliases (same source and across
    /// sources) may be written and looked up.
    pub link_identifies: bool,
}

/// The identities of a document's entries, in order, and the warnings
/// about entries that had to be told apart by less than their guid or link.
pub fn identities(
    entries: &[Entry],
    urls: &UrlOptions,
    own_urls: &[&str],
) -> (Vec<DocIdentity>, Vec<String>) {
    let own: Vec<String> = own_urls
        .iter()
        .map(|u| u.trim())
        .filter(|u| !u.is_empty())
        .map(|u| canonical_url(u, urls))
        .collect();
    let links = link_keys(entries, urls);
    let digests: Vec<[u8; 16]> = entries.iter().map(Entry::content_digest).collect();
    let fps: Vec<String> = entries.iter().map(fingerprint).collect();
    // The first entry with each digest: later exact copies take its
    // identity (and are dropped as repeats).
    let mut first_of: HashMap<[u8; 16], usize> = HashMap::new();
    let originals: Vec<usize> = digests
        .iter()
        .enumerate()
        .map(|(i, d)| *first_of.entry(*d).or_insert(i))
        .collect();
    let distinct = |i: &usize| originals.get(*i) == Some(i);

    let mut link_count: HashMap<&str, usize> = HashMap::new();
    for (i, link) in links.iter().enumerate() {
        if let Some(link) = link
            && distinct(&i)
        {
            *link_count.entry(link.as_str()).or_default() += 1;
        }
    }
    let guids: Vec<Option<&str>> = entries
        .iter()
        .map(|e| {
            e.upstream_id
                .as_deref()
                .map(str::trim)
                .filter(|g| !g.is_empty())
        })
        .collect();
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, guid) in guids.iter().enumerate() {
        if let Some(guid) = guid
            && distinct(&i)
        {
            groups.entry(guid).or_default().push(i);
        }
    }
    // Entries without a guid whose link is no identity fall to content.
    let mut fallen: Vec<usize> = Vec::new();

    let mut warnings: Vec<String> = Vec::new();
    let mut warning_count = 0usize;
    let mut warn = |text: String| {
        warning_count += 1;
        if warnings.len() < MAX_WARNINGS {
            warnings.push(text);
        }
    };
    let mut out: Vec<Option<DocIdentity>> = vec![None; entries.len()];
    for (i, entry) in entries.iter().enumerate() {
        if !distinct(&i) {
            continue;
        }
        let link_key = links.get(i).cloned().flatten();
        let shared = link_key
            .as_deref()
            .is_some_and(|l| link_count.get(l).copied().unwrap_or(0) > 1);
        let is_own = link_key
            .as_deref()
            .is_some_and(|l| own.iter().any(|o| o == l));
        let link_identifies = link_key.is_some() && !shared && !is_own;
        let guid = guids.get(i).copied().flatten();
        let identity = match guid {
            Some(guid) => {
                let group = groups.get(guid).map(Vec::as_slice).unwrap_or_default();
                if group.len() <= 1 {
                    format!("id:{guid}")
                } else {
                    let (sub, by) = tell_apart(i, group, &links, &fps);
                    if group.first() == Some(&i) {
                        warn(format!(
                            "{} items share the guid {:?}: told apart by {by}",
                            group.len(),
                            short(guid)
                        ));
                    }
                    format!("id:{guid}\n{sub}")
                }
            }
            None => match (&link_key, link_identifies) {
                (Some(link), true) => format!("link:{link}"),
                _ => {
                    if let Some(link) = &link_key {
                        let why = if is_own {
                            "is the feed's own address"
                        } else {
                            "is shared by several items"
                        };
                        warn(format!(
                            "item {:?}: its link {} {why}: told apart by content",
                            short(entry.title.as_deref().unwrap_or("")),
                            short(link)
                        ));
                    }
                    fallen.push(i);
                    String::new()
                }
            },
        };
        let guid_alone = guid.is_some_and(|g| groups.get(g).is_none_or(|grp| grp.len() <= 1));
        if let Some(slot) = out.get_mut(i) {
            *slot = Some(DocIdentity {
                identity,
                guid_alone,
                link_key,
                link_identifies,
            });
        }
    }
    // Content, then position among entries with the same content.
    let mut seen_fp: HashMap<&str, usize> = HashMap::new();
    for i in fallen {
        let Some(fp) = fps.get(i) else { continue };
        let n = seen_fp.entry(fp.as_str()).or_default();
        *n += 1;
        if let Some(Some(id)) = out.get_mut(i) {
            id.identity = if *n == 1 {
                format!("fp:{fp}")
            } else {
                format!("fp:{fp}#{n}")
            };
        }
    }
    if warning_count > warnings.len() {
        warnings.push(format!(
            "{} more items told apart by less than their guid or link",
            warning_count - warnings.len()
        ));
    }
    let result = originals
        .iter()
        .enumerate()
        .map(|(i, original)| {
            out.get(*original)
                .cloned()
                .flatten()
                .or_else(|| out.get(i).cloned().flatten())
                .unwrap_or_else(|| DocIdentity {
                    identity: format!("fp:{}", fps.get(i).cloned().unwrap_or_default()),
                    guid_alone: false,
                    link_key: None,
                    link_identifies: false,
                })
        })
        .collect();
    (result, warnings)
}

/// The sub-identity of entry `i` within `group` (entries sharing one guid):
/// its link when no other member has it, else its content, else its
/// position among members with the same content. Also names the rung.
fn tell_apart(
    i: usize,
    group: &[usize],
    links: &[Option<String>],
    fps: &[String],
) -> (String, &'static str) {
    let link = links.get(i).cloned().flatten();
    if let Some(link) = &link
        && group
            .iter()
            .filter(|j| links.get(**j).and_then(Option::as_ref) == Some(link))
            .count()
            == 1
    {
        return (format!("link:{link}"), "link");
    }
    let fp = fps.get(i).cloned().unwrap_or_default();
    let same: Vec<usize> = group
        .iter()
        .copied()
        .filter(|j| fps.get(*j) == Some(&fp))
        .collect();
    if same.len() == 1 {
        return (format!("fp:{fp}"), "content");
    }
    let position = same.iter().position(|j| *j == i).unwrap_or(0) + 1;
    (format!("fp:{fp}#{position}"), "position")
}

/// The links of a document's entries as compared: canonical, with the
/// fragment kept where entries sharing the rest of the link have different
/// fragments (it tells them apart).
fn link_keys(entries: &[Entry], urls: &UrlOptions) -> Vec<Option<String>> {
    let parts: Vec<Option<(String, Option<String>)>> = entries
        .iter()
        .map(|e| {
            let link = e.link.as_deref().map(str::trim).filter(|l| !l.is_empty())?;
            Some((canonical_url(link, urls), fragment(link)))
        })
        .collect();
    let mut fragments: HashMap<&str, Vec<Option<&str>>> = HashMap::new();
    for (base, frag) in parts.iter().flatten() {
        let list = fragments.entry(base.as_str()).or_default();
        if !list.contains(&frag.as_deref()) {
            list.push(frag.as_deref());
        }
    }
    parts
        .iter()
        .map(|p| {
            let (base, frag) = p.as_ref()?;
            let telling = fragments.get(base.as_str()).is_some_and(|f| f.len() > 1);
            Some(match frag {
                Some(frag) if telling => format!("{base}#{frag}"),
                _ => base.clone(),
            })
        })
        .collect()
}

/// The fragment of a link, when it has a non-empty one.
fn fragment(link: &str) -> Option<String> {
    let (_, frag) = link.split_once('#')?;
    let frag = frag.trim();
    (!frag.is_empty()).then(|| frag.to_string())
}

/// A fingerprint of what the entry says: title, summary and content.
pub fn fingerprint(entry: &Entry) -> String {
    let mut hasher = Sha256::new();
    for part in [&entry.title, &entry.summary_html, &entry.content_html] {
        hasher.update(part.as_deref().unwrap_or("").as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize().get(..16).unwrap_or_default())
}

/// A name cut for a warning.
fn short(text: &str) -> String {
    let mut out: String = text.chars().take(80).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(guid: Option<&str>, link: Option<&str>, title: &str) -> Entry {
        Entry {
            upstream_id: guid.map(str::to_string),
            link: link.map(str::to_string),
            title: Some(title.to_string()),
            ..Entry::default()
        }
    }

    fn ids(entries: &[Entry], own: &[&str]) -> (Vec<String>, Vec<String>) {
        let (ids, warnings) = identities(entries, &UrlOptions::default(), own);
        (ids.into_iter().map(|i| i.identity).collect(), warnings)
    }

    #[test]
    fn fragments_that_tell_items_apart_are_kept() {
        let entries = [
            e(None, Some("http://scripting.com/2017/02/10.html#a1"), "One"),
            e(None, Some("http://scripting.com/2017/02/10.html#a2"), "Two"),
            e(
                None,
                Some("http://scripting.com/2017/02/11.html#a3"),
                "Three",
            ),
        ];
        let (ids, warnings) = ids(&entries, &[]);
        assert_eq!(
            ids,
            [
                "link:scripting.com/2017/02/10.html#a1",
                "link:scripting.com/2017/02/10.html#a2",
                "link:scripting.com/2017/02/11.html"
            ]
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn shared_and_own_links_are_no_identity() {
        let entries = [
            e(None, Some("https://rsr.example/news"), "One"),
            e(None, Some("https://rsr.example/news"), "Two"),
            e(None, Some("https://rsr.example/news"), "Two"),
            e(None, Some("https://x.example/feed.xml"), "Four"),
            e(None, Some("https://x.example/post"), "Five"),
        ];
        let (id, warnings) = identities(
            &[entries[0].clone(), entries[1].clone(), {
                let mut dup = entries[2].clone();
                dup.summary_html = Some("other".into());
                dup
            }],
            &UrlOptions::default(),
            &[],
        );
        assert!(id.iter().all(|i| i.identity.starts_with("fp:")), "{id:?}");
        assert!(id.iter().all(|i| !i.link_identifies));
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        let (ids, warnings) = ids(&entries, &["http://x.example/feed.xml"]);
        // Two and its exact copy are one entry; One, Two and Four fall to
        // content.
        assert_eq!(ids[1], ids[2]);
        assert!(ids[..4].iter().all(|i| i.starts_with("fp:")), "{ids:?}");
        assert_eq!(ids[4], "link:x.example/post");
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[2].contains("own address"), "{warnings:?}");
    }

    #[test]
    fn a_shared_guid_is_told_apart_by_link_then_content_then_position() {
        let mut same_a = e(Some("g"), Some("http://x/same"), "Same");
        same_a.categories = vec!["a".into()];
        let mut same_b = same_a.clone();
        same_b.categories = vec!["b".into()];
        let entries = [
            e(Some("g"), Some("http://x/1"), "One"),
            e(Some("g"), Some("http://x/2"), "Two"),
            e(Some("g"), Some("http://x/same"), "Three"),
            same_a,
            same_b,
            e(Some("h"), Some("http://x/1"), "Own guid"),
        ];
        let (ids, warnings) = ids(&entries, &[]);
        assert_eq!(ids[0], "id:g\nlink:x/1");
        assert_eq!(ids[1], "id:g\nlink:x/2");
        assert!(ids[2].starts_with("id:g\nfp:"), "{ids:?}");
        assert!(ids[3].ends_with("#1") && ids[4].ends_with("#2"), "{ids:?}");
        assert_eq!(ids[5], "id:h");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("5 items share the guid \"g\""));
    }

    #[test]
    fn items_without_guid_or_identifying_link_are_told_apart_by_content_then_position() {
        // One shared link, no guids: content decides, and two items with
        // the same content (differing in categories only) by position.
        let mut first = e(None, Some("http://x/news"), "Same");
        first.categories = vec!["a".into()];
        let mut second = first.clone();
        second.categories = vec!["b".into()];
        let other = e(None, Some("http://x/news"), "Other");
        let (ids, _) = ids(&[first, second, other], &[]);
        assert!(
            ids[0].starts_with("fp:") && !ids[0].contains('#'),
            "{ids:?}"
        );
        assert_eq!(ids[1], format!("{}#2", ids[0]));
        assert!(
            ids[2].starts_with("fp:") && !ids[2].contains('#'),
            "{ids:?}"
        );
        assert_ne!(ids[2], ids[0]);
    }

    #[test]
    fn names_in_warnings_are_cut_at_80_characters() {
        assert_eq!(short("guid-1"), "guid-1");
        let exactly = "é".repeat(80);
        assert_eq!(short(&exactly), exactly);
        let long = format!("{exactly}x");
        assert_eq!(short(&long), format!("{exactly}…"));
    }

    #[test]
    fn warnings_past_the_first_five_are_counted_in_one_line() {
        // Eight guids each shared by two different items: eight warnings,
        // five kept and the other three counted.
        let entries: Vec<Entry> = (0..8)
            .flat_map(|g| {
                let guid = format!("g{g}");
                [
                    e(Some(&guid), Some(&format!("http://x/{g}a")), "A"),
                    e(Some(&guid), Some(&format!("http://x/{g}b")), "B"),
                ]
            })
            .collect();
        let (ids, warnings) = ids(&entries, &[]);
        assert_eq!(ids[0], "id:g0\nlink:x/0a");
        assert_eq!(warnings.len(), MAX_WARNINGS + 1, "{warnings:?}");
        assert_eq!(
            warnings[MAX_WARNINGS],
            "3 more items told apart by less than their guid or link"
        );
    }

    #[test]
    fn exact_copies_are_one_entry_and_keep_a_lone_guid() {
        let a = e(Some("g"), Some("http://x/1"), "One");
        let (ids, warnings) = ids(&[a.clone(), a], &[]);
        assert_eq!(ids, ["id:g", "id:g"]);
        assert!(warnings.is_empty());
    }
}

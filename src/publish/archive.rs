//! RFC 5005 archives: a feed's items beyond its `limit` stay reachable
//! through archive documents at `/feeds/{name}/archive/{n}.{ext}`.
//!
//! Archive pages hold `limit` items each, by publication date, oldest
//! first: page 1 holds the oldest items. The order is the exact reverse of
//! the publishing order, so undated items (dated when first seen) keep
//! their source document's order: `published`, then the item's place in
//! the document it was first seen in, then public id, all stored, so the
//! pages are the same across restarts. New items usually go into the
//! newest page, but an item dated before others (a backdated post, a new
//! source's old items) moves later items up a page: a full page may still
//! change, and is cached for a day rather than for ever (its validators
//! make the check cheap). The subscription document links the newest
//! page as `prev-archive`; each page links the one before it, marks itself
//! `<fh:archive/>` and links the subscription document as `current`.
//! JSON Feed has no archive element: its `next_url` chains the same pages.
//!
//! Pages are rendered on request and cached with the current rendering.
//! Like the current document, a page is dated by its stamp in the store
//! (keyed by [`stamp_key`]): the time its bytes last changed, which is its
//! `Last-Modified`, `lastBuildDate` and Atom `updated`. An item moved in
//! by an older one changes the page and so its date, although the page's
//! items are no newer: a client polling with `If-Modified-Since` alone
//! never misses it.

use std::collections::HashSet;

use chrono::Utc;

use super::{FeedMeta, Page, RenderedFeed, pick, render_stamped, sort_for_publishing};
use crate::config::FeedConfig;
use crate::model::StoredItem;
use crate::store::{Store, StoreError};

/// Cache lifetime of a full archive page: one day (an item dated before
/// its items may still arrive).
pub const FULL_PAGE_MAX_AGE: u64 = 24 * 3600;

/// Every item of the feed (its sources, its keyword filters) in archive
/// order: oldest first.
pub fn archive_items(store: &Store, feed: &FeedConfig) -> Result<Vec<StoredItem>, StoreError> {
    let mut seen = HashSet::new();
    let mut items = Vec::new();
    for source in &feed.sources {
        if !seen.insert(source.as_str()) {
            continue;
        }
        items.extend(
            store
                .source_items(source)?
                .into_iter()
                .filter_map(|i| pick(feed, i)),
        );
    }
    sort_archive_order(&mut items);
    Ok(items)
}

/// The archive order: oldest published first, the reverse of
/// [`sort_for_publishing`] (undated items first seen together: the last in
/// their document first).
pub fn sort_archive_order(items: &mut [StoredItem]) {
    sort_for_publishing(items);
    items.reverse();
}

/// How many archive pages `total` items make with pages of `limit`; none
/// while everything fits in the subscription document.
pub fn page_count(total: usize, limit: usize) -> usize {
    if limit == 0 || total <= limit {
        0
    } else {
        total.div_ceil(limit)
    }
}

/// The feed's item count: the store's per-source counters without rules
/// (or a podcast's filter); with them, every item of its sources has to be
/// read.
fn item_total(store: &Store, feed: &FeedConfig) -> Result<usize, StoreError> {
    if feed.rules.is_empty() && feed.podcast.is_none() {
        let unique: HashSet<&str> = feed.sources.iter().map(String::as_str).collect();
        Ok(unique.iter().map(|s| store.source_item_count(s)).sum())
    } else {
        Ok(archive_items(store, feed)?.len())
    }
}

/// The newest archive page of a feed, if it has any.
pub fn newest_page(store: &Store, feed: &FeedConfig) -> Result<Option<usize>, StoreError> {
    let pages = page_count(item_total(store, feed)?, feed.limit);
    Ok((pages > 0).then_some(pages))
}

/// The items of archive page `index` (1-based) out of all the feed's items
/// in archive order; `None` when there is no such page.
pub fn page_items(all: &[StoredItem], limit: usize, index: usize) -> Option<Vec<StoredItem>> {
    let pages = page_count(all.len(), limit);
    if index == 0 || index > pages {
        return None;
    }
    let start = (index - 1) * limit;
    let end = (start + limit).min(all.len());
    let mut items = all.get(start..end)?.to_vec();
    sort_for_publishing(&mut items);
    Some(items)
}

/// The name of archive page `index`'s stamp: feed names have no `/`, so it
/// is no feed's.
pub fn stamp_key(feed: &str, index: usize) -> String {
    format!("{feed}/archive/{index}")
}

/// Renders archive page `index` of a feed, dated by its stamp; `None` when
/// there is no such page. May wait up to [`super::MAX_HOLD`] (see
/// `hold_until`): call it off the async threads.
pub fn render_page(
    store: &Store,
    feed: &FeedConfig,
    base: &str,
    index: usize,
) -> Result<Option<RenderedFeed>, StoreError> {
    if !feed.archive {
        return Ok(None);
    }
    let all = archive_items(store, feed)?;
    let Some(items) = page_items(&all, feed.limit, index) else {
        return Ok(None);
    };
    let meta = FeedMeta {
        page: Page::Archive { index },
        hubs: Vec::new(),
        ..FeedMeta::from_config(feed, base)
    };
    let key = stamp_key(&feed.name, index);
    Ok(Some(render_stamped(
        store,
        &key,
        meta,
        &items,
        Utc::now(),
        true,
    )))
}

/// Whether a rendered archive page is full (and so never changes).
pub fn is_full(page: &RenderedFeed, limit: usize) -> bool {
    page.rss.item_count >= limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_exist_only_beyond_the_limit() {
        assert_eq!(page_count(0, 10), 0);
        assert_eq!(page_count(10, 10), 0);
        assert_eq!(page_count(11, 10), 2);
        assert_eq!(page_count(20, 10), 2);
        assert_eq!(page_count(21, 10), 3);
    }

    #[test]
    fn full_pages_keep_their_items_when_new_items_arrive() {
        let mut items = super::super::tests::many_items(25);
        sort_archive_order(&mut items);
        let before = page_items(&items, 10, 1).unwrap();
        let mut more = super::super::tests::many_items(40);
        sort_archive_order(&mut more);
        assert_eq!(page_items(&more, 10, 1).unwrap(), before);
        assert_eq!(page_items(&items, 10, 3).unwrap().len(), 5);
        assert!(page_items(&items, 10, 4).is_none());
        assert!(page_items(&items, 10, 0).is_none());
    }
}

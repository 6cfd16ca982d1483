//! `syndic preview FEED`: the items a feed would publish next, as its rules
//! make them, and the items left out on the way (the newest items of its
//! sources that it looked at), each with the rule that did it. A stored
//! item that its source's rules (in the config previewed) drop is left out
//! too: loading that config takes it out of the store (see
//! `refresh::reshape`). It reads the store and renders nothing, so it runs
//! beside a daemon (through its admin socket) on a config that daemon has
//! not loaded.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;

use super::{Judged, judge, sort_for_publishing};
use crate::config::{Config, FeedConfig};
use crate::model::{ItemKey, StoredItem};
use crate::store::{Store, StoreError};

/// Most left-out items listed (the count says the rest).
const LEFT_OUT_LISTED: usize = 20;

/// A feed's next items and what its rules left out.
pub struct Preview {
    pub feed: String,
    pub limit: usize,
    /// The items, in publishing order, with the rules that rewrote each.
    pub items: Vec<(StoredItem, Vec<String>)>,
    /// Items left out while the feed's items were picked, newest first,
    /// with why.
    pub left_out: Vec<(StoredItem, String)>,
}

/// The items `feed` of `config` would publish now, from `store`.
pub fn preview(store: &Store, config: &Config, feed: &FeedConfig) -> Result<Preview, StoreError> {
    let sources: HashSet<&str> = feed.sources.iter().map(String::as_str).collect();
    let rewritten: RefCell<HashMap<ItemKey, Vec<String>>> = RefCell::default();
    let left_out: RefCell<Vec<(StoredItem, String)>> = RefCell::default();
    let source_drops = |item: &StoredItem| {
        let source = config.source(&item.source)?;
        let mut entry = item.entry.clone();
        match crate::rules::apply(&source.rules, &mut entry, &|html| html.to_string()) {
            crate::rules::Verdict::Dropped(at) => Some(format!(
                "dropped by source `{}`'s rule at {at} (leaves the store when this config is loaded)",
                source.id
            )),
            crate::rules::Verdict::Kept(_) => None,
        }
    };
    let judged = |item: StoredItem| match source_drops(&item) {
        Some(why) => Judged::LeftOut(item, why),
        None => judge(feed, item),
    };
    let mut items = store.newest_items_where(&sources, feed.limit, |item| match judged(item) {
        Judged::Published(item, by) => {
            rewritten.borrow_mut().insert(item.key, by);
            Some(item)
        }
        Judged::LeftOut(item, why) => {
            left_out.borrow_mut().push((item, why));
            None
        }
    })?;
    sort_for_publishing(&mut items);
    let mut rewritten = rewritten.into_inner();
    Ok(Preview {
        feed: feed.name.clone(),
        limit: feed.limit,
        items: items
            .into_iter()
            .map(|item| {
                let by = rewritten.remove(&item.key).unwrap_or_default();
                (item, by)
            })
            .collect(),
        left_out: left_out.into_inner(),
    })
}

/// For `syndic explain`: what each feed that includes the item's source
/// makes of it now, by its rules: one line per feed.
pub fn feed_verdicts(config: &Config, item: &StoredItem) -> String {
    let mut out = String::new();
    for feed in config
        .feeds
        .iter()
        .filter(|f| f.sources.contains(&item.source.to_string()))
    {
        let verdict = match judge(feed, item.clone()) {
            Judged::Published(_, by) if by.is_empty() => "published".to_string(),
            Judged::Published(_, by) => {
                format!("published, rewritten by the rule at {}", by.join(", "))
            }
            Judged::LeftOut(_, why) => format!("left out: {why}"),
        };
        out.push_str(&format!("feed `{}`: {verdict}\n", feed.name));
    }
    if out.is_empty() {
        out.push_str("no feed includes its source\n");
    }
    out
}

fn line(f: &mut fmt::Formatter<'_>, item: &StoredItem) -> fmt::Result {
    let title = item.entry.title.as_deref().unwrap_or("(untitled)");
    writeln!(
        f,
        "  {}  {title}",
        item.published.format("%Y-%m-%d %H:%M UTC")
    )?;
    writeln!(f, "      {}  from {}", item.public_id, item.source)
}

impl fmt::Display for Preview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "feed `{}`: {} item{} would be published (limit {}), newest first",
            self.feed,
            self.items.len(),
            if self.items.len() == 1 { "" } else { "s" },
            self.limit
        )?;
        for (item, by) in &self.items {
            line(f, item)?;
            for at in by {
                writeln!(f, "      rewritten by the rule at {at}")?;
            }
        }
        if self.left_out.is_empty() {
            return writeln!(f, "nothing left out by the feed's rules");
        }
        writeln!(
            f,
            "left out by the feed's rules, newest first ({} of the items looked at):",
            self.left_out.len()
        )?;
        for (item, why) in self.left_out.iter().take(LEFT_OUT_LISTED) {
            line(f, item)?;
            writeln!(f, "      {why}")?;
        }
        if self.left_out.len() > LEFT_OUT_LISTED {
            writeln!(
                f,
                "  ... and {} more",
                self.left_out.len() - LEFT_OUT_LISTED
            )?;
        }
        Ok(())
    }
}

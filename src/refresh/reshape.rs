//! A source whose rules a reload changed: its stored items are brought
//! under the new rules. Items the new rules drop leave the store now
//! (judged on the items as stored); and the source's validators and file
//! states are forgotten, so that its next refresh reads the whole document
//! or folder again and the new rules rewrite, from what the source sends,
//! every item it still lists (an item an old rule dropped comes back, one
//! an old rule rewrote is rewritten anew). Items the source no longer
//! lists keep their stored form: syndic keeps no copy as fetched.

use chrono::{DateTime, Utc};

use crate::config::SourceConfig;
use crate::rules::{self, Verdict};
use crate::store::{Batch, Store, StoreError};

/// Applies `source`'s (new) rules to its stored items and makes its next
/// refresh a full read, due at `now`; how many items left.
pub async fn reshape(
    store: &Store,
    source: &SourceConfig,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let _ingest = store.ingest_lock().await;
    let removals: Vec<_> = store
        .source_items(&source.id)?
        .into_iter()
        .filter(|item| {
            let mut entry = item.entry.clone();
            let verdict = rules::apply(&source.rules, &mut entry, &|html| html.to_string());
            matches!(verdict, Verdict::Dropped(_))
        })
        .collect();
    let left = removals.len();
    let mut poll = store.poll_state(&source.id)?.unwrap_or_default();
    poll.etag = None;
    poll.last_modified = None;
    poll.files.clear();
    poll.next_poll_at = Some(now);
    store
        .apply(&Batch {
            source: source.id.clone(),
            removals,
            poll: Some(poll),
            ..Batch::default()
        })
        .await?;
    Ok(left)
}

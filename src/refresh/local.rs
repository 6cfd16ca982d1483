//! The refresh of a local source: a scan of its articles folder that reads
//! only the files that changed, each article's entry (or why it is not
//! published now), its attachments and enclosure, and slugs unique across
//! the store.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};

use super::batch::{Closing, Tally};
use super::{CHUNK, Outcome, Refresher, next_scheduled};
use crate::config::SourceConfig;
use crate::dedup;
use crate::ingest::local::{self, ArticleFile};
use crate::ingest::parse;
use crate::model::{Entry, ItemKey, LocalFileState, PollState, StoredItem};
use crate::store::StoreError;

impl Refresher<'_> {
    pub(super) async fn refresh_local(
        &self,
        source: &SourceConfig,
        root: &std::path::Path,
        mut state: PollState,
        now: DateTime<Utc>,
    ) -> Outcome {
        state.last_attempt = Some(now);
        let (files, unreadable) = match local::scan_folder(root) {
            Ok(found) => found,
            Err(err) => {
                return self
                    .failed(source, state, format!("read folder: {err}"), now)
                    .await;
            }
        };
        // Everything worth telling the writer, per file: shown by
        // `syndic sources`, on `/` and in the log.
        let mut notes: Vec<String> = Vec::new();
        for (path, cause) in &unreadable {
            warn!(source = %source.id, %path, %cause, "article skipped");
            notes.push(format!("{path}: skipped: {cause}"));
        }
        // What the folder's items are, by path: their upstream ids and keys
        // only. An unchanged file is not read, and its stored item is
        // neither decoded nor passed through dedup again: a rescan reads
        // and writes what changed (plus one stat per file and one small
        // read per stored item).
        let stored = match self.store.source_upstream_ids(&source.id) {
            Ok(ids) => ids,
            Err(err) => return Outcome::Failed(err.to_string()),
        };
        let by_path: HashMap<&str, ItemKey> =
            stored.iter().map(|(p, k)| (p.as_str(), *k)).collect();
        let previous: HashMap<&str, &LocalFileState> =
            state.files.iter().map(|f| (f.path.as_str(), f)).collect();

        // Changed articles are read and written a chunk at a time: what a
        // first scan of a big folder holds is bounded by a chunk.
        let policy = super::batch::policy(source, Vec::new());
        let mut tally = Tally::default();
        let mut entries = Vec::new();
        let mut keep = HashSet::new();
        let mut file_states = Vec::new();
        let mut drafts = Vec::new();
        let mut rejected = Vec::new();
        let mut unchanged_files = 0;
        for file in &files {
            let unchanged = previous
                .get(file.rel_path.as_str())
                .is_some_and(|p| p.mtime_ns == file.mtime_ns && p.size == file.size);
            let mut record = LocalFileState {
                path: file.rel_path.clone(),
                mtime_ns: file.mtime_ns,
                size: file.size,
                notes: Vec::new(),
                expires: None,
                publish_at: None,
            };
            let expired = previous
                .get(file.rel_path.as_str())
                .and_then(|p| p.expires)
                .is_some_and(|at| at <= now);
            if unchanged && !expired && by_path.contains_key(file.rel_path.as_str()) {
                keep.insert(file.rel_path.clone());
                unchanged_files += 1;
                if let Some(p) = previous.get(file.rel_path.as_str()) {
                    record.notes.clone_from(&p.notes);
                    record.expires = p.expires;
                }
                notes.extend(record.notes.iter().cloned());
                file_states.push(record);
                continue;
            }
            match self.read_article(source, root, file, now) {
                Ok(read) => {
                    for note in &read.notes {
                        info!(source = %source.id, %note, "article");
                    }
                    notes.extend(read.notes.iter().cloned());
                    record.notes = read.notes;
                    record.expires = read.expires;
                    record.publish_at = read.publish_at;
                    // An article a source rule drops leaves the feeds, as
                    // a draft does.
                    match read
                        .entry
                        .and_then(|e| super::batch::shape_entry(source, e))
                    {
                        Some(entry) => {
                            keep.insert(file.rel_path.clone());
                            entries.push(entry);
                        }
                        None => drafts.push(file.rel_path.clone()),
                    }
                    file_states.push(record);
                    if entries.len() == CHUNK {
                        let chunk = std::mem::take(&mut entries);
                        let written = self
                            .write_articles(source, &policy, chunk, None, &mut tally, now)
                            .await;
                        if let Err(failed) = written {
                            return failed;
                        }
                    }
                }
                Err(cause) => {
                    // Keep what was stored; try the file again next time.
                    warn!(source = %source.id, path = %file.rel_path, %cause, "article not read");
                    if rejected.len() < MAX_REJECTED_LISTED {
                        rejected.push(cause.clone());
                    }
                    notes.push(cause);
                    keep.insert(file.rel_path.clone());
                }
            }
        }
        state.parse_warning_count = notes.len();
        notes.truncate(5);
        state.parse_warnings = notes;
        state.rejected_articles = rejected;
        // Files that are gone, and files that became drafts, leave the
        // feeds: only their items are read whole.
        let mut removals: Vec<StoredItem> = Vec::new();
        for (path, key) in &stored {
            if keep.contains(path) {
                continue;
            }
            match self.store.item(key) {
                Ok(Some(item)) => removals.push(item),
                Ok(None) => {}
                Err(err) => return Outcome::Failed(err.to_string()),
            }
        }
        drop(by_path);
        drop(stored);
        debug!(source = %source.id, files = files.len(), drafts = drafts.len(), "scanned");
        state.files = file_states;
        self.succeeded(source, &mut state, "local", now);
        let closing = Closing {
            poll: state,
            removals,
        };
        let written = self
            .write_articles(source, &policy, entries, Some(closing), &mut tally, now)
            .await;
        if let Err(failed) = written {
            return failed;
        }
        match tally.outcome(source) {
            Outcome::Refreshed {
                new,
                updated,
                removed,
                unchanged,
            } => Outcome::Refreshed {
                new,
                updated,
                removed,
                unchanged: unchanged + unchanged_files,
            },
            other => other,
        }
    }

    /// Writes a chunk of a folder's articles with their slugs in one store
    /// transaction; with `closing`, the scan's last (see
    /// [`Refresher::write_chunk`]). Each article is its own document: its
    /// path is its guid and its page its link, unique in the folder.
    async fn write_articles(
        &self,
        source: &SourceConfig,
        policy: &dedup::Policy<'_>,
        mut entries: Vec<Entry>,
        closing: Option<Closing>,
        tally: &mut Tally,
        now: DateTime<Utc>,
    ) -> Result<(), Outcome> {
        let slugs = self
            .assign_slugs(source, &mut entries)
            .map_err(|err| Outcome::Failed(err.to_string()))?;
        // Dedup reads and the write that follows happen under the store's
        // ingest lock: two sources refreshed at once must see each other's
        // items to merge them.
        let ingest = self.store.ingest_lock().await;
        let mut planner = dedup::Planner::new(policy, entries);
        let committed = self
            .write_chunk(source, &mut planner, slugs, closing, tally, now)
            .await
            .map_err(|stop| stop.outcome(source))?;
        drop(ingest);
        self.settle(source, committed)
            .await
            .map_err(|stop| stop.outcome(source))
    }

    /// Reads and parses one article file: its entry, `None` when it is
    /// not to be published now (a draft, scheduled later, expired), and
    /// what to tell the writer about it.
    fn read_article(
        &self,
        source: &SourceConfig,
        root: &std::path::Path,
        file: &ArticleFile,
        now: DateTime<Utc>,
    ) -> Result<ReadArticle, String> {
        let bytes = local::read_article_file(root, file, source.max_article_bytes)
            .map_err(|e| e.to_string())?;
        let article = local::parse_article(&file.rel_path, &bytes).map_err(|e| e.to_string())?;
        let mut notes = article.warnings;
        let path = &file.rel_path;
        let unpublished = if let Some(reason) = article.draft_reason.filter(|_| article.draft) {
            Some(reason)
        } else if let Some(at) = article.publish_at.filter(|at| *at > now) {
            Some(format!(
                "{path}: scheduled: published at {}",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ))
        } else {
            article.expires.filter(|at| *at <= now).map(|at| {
                format!(
                    "{path}: expired at {}: not published",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )
            })
        };
        if let Some(reason) = unpublished {
            notes.push(reason);
            // Not a draft: the source's timer publishes it at its time.
            let publish_at = article.publish_at.filter(|at| *at > now && !article.draft);
            return Ok(ReadArticle {
                entry: None,
                notes,
                expires: None,
                publish_at,
            });
        }
        let expires = article.expires;
        let mut entry = article.entry;
        let _ = source;
        let slug = entry.slug.clone().unwrap_or_else(|| "article".into());
        let page = format!("{}/articles/{}", self.public_base, slug);
        // Relative paths are read from the article's page as a folder:
        // `img/a.png` is `/articles/{slug}/img/a.png`, where the file
        // beside the article is served.
        let base = url::Url::parse(&format!("{page}/")).ok();
        for reference in &article.references {
            match local::find_attachment(root, &file.rel_path, &reference.url) {
                Some(found) if !entry.attachments.contains(&found.path) => {
                    entry.attachments.push(found.path);
                }
                Some(_) => {}
                None if reference.image => notes.push(format!(
                    "{path}: image `{}` is not a file beside the article",
                    reference.url
                )),
                None => {}
            }
        }
        if let Some(enclosure) = article.enclosure {
            match enclosure_of(root, &file.rel_path, &enclosure, base.as_ref()) {
                Some((found, path)) => {
                    if let Some(path) = path.filter(|p| !entry.attachments.contains(p)) {
                        entry.attachments.push(path);
                    }
                    entry.enclosures.push(found);
                }
                None => notes.push(format!(
                    "{path}: enclosure `{enclosure}` is neither an http(s) URL nor a file beside the article: left out"
                )),
            }
        }
        entry.content_html = entry
            .content_html
            .map(|h| parse::sanitize_html(&h, base.as_ref()));
        entry.summary_html = entry
            .summary_html
            .map(|h| parse::sanitize_html(&h, base.as_ref()));
        entry.link = Some(page);
        Ok(ReadArticle {
            entry: Some(entry),
            notes,
            expires,
            publish_at: None,
        })
    }

    /// Makes each article's slug unique across the store (where the
    /// chunks before this one wrote theirs) and this chunk: a slug another
    /// item owns gets the item key's first hex digits appended.
    fn assign_slugs(
        &self,
        source: &SourceConfig,
        entries: &mut [Entry],
    ) -> Result<Vec<(String, ItemKey)>, StoreError> {
        let mut taken: HashMap<String, ItemKey> = HashMap::new();
        let mut out = Vec::new();
        for entry in entries.iter_mut() {
            let key = ItemKey::derive(&source.id, &dedup::identity(entry));
            let Some(mut slug) = entry.slug.clone() else {
                continue;
            };
            let owner = match taken.get(&slug) {
                Some(k) => Some(*k),
                None => self.store.slug_owner(&slug)?,
            };
            if owner.is_some_and(|k| k != key) {
                let old_dir = format!("{}/articles/{slug}/", self.public_base);
                slug = format!("{slug}-{}", &key.to_hex()[..8]);
                let new_dir = format!("{}/articles/{slug}/", self.public_base);
                // Relative paths were resolved under the page's old name.
                for field in [&mut entry.content_html, &mut entry.summary_html] {
                    if let Some(html) = field.as_mut() {
                        *html = html.replace(&old_dir, &new_dir);
                    }
                }
                for enclosure in &mut entry.enclosures {
                    if let Some(rest) = enclosure.url.strip_prefix(&old_dir) {
                        enclosure.url = format!("{new_dir}{rest}");
                    }
                }
                entry.link = Some(format!("{}/articles/{}", self.public_base, slug));
                entry.slug = Some(slug.clone());
            }
            taken.insert(slug.clone(), key);
            out.push((slug, key));
        }
        Ok(out)
    }

    fn succeeded(
        &self,
        source: &SourceConfig,
        state: &mut PollState,
        status: &str,
        now: DateTime<Utc>,
    ) {
        state.last_status = Some(status.to_string());
        state.last_code = None;
        state.last_success = Some(now);
        state.consecutive_failures = 0;
        state.next_poll_at = Some(next_scheduled(source, now));
    }
}

/// An article's `enclosure`: an http(s) URL (type from its extension,
/// length unknown), or a file beside the article (served under its page;
/// type and length from the file), with the attachment path to list.
fn enclosure_of(
    root: &std::path::Path,
    article_rel: &str,
    written: &str,
    page_dir: Option<&url::Url>,
) -> Option<(crate::model::Enclosure, Option<String>)> {
    if let Ok(url) = url::Url::parse(written)
        && matches!(url.scheme(), "http" | "https")
    {
        let enclosure = crate::model::Enclosure {
            mime_type: local::media_type(url.path()),
            url: url.to_string(),
            length: 0,
        };
        return Some((enclosure, None));
    }
    let found = local::find_attachment(root, article_rel, written)?;
    let url = page_dir?.join(written).ok()?;
    let enclosure = crate::model::Enclosure {
        url: url.to_string(),
        mime_type: found.mime_type,
        length: found.size,
    };
    Some((enclosure, Some(found.path)))
}

/// One article file read by a local refresh.
struct ReadArticle {
    /// `None`: not published now (draft, scheduled, expired).
    entry: Option<Entry>,
    /// Warnings and why it is not published, naming the file.
    notes: Vec<String>,
    /// When a published article expires.
    expires: Option<DateTime<Utc>>,
    /// When an article scheduled for later is published.
    publish_at: Option<DateTime<Utc>>,
}

/// How many unreadable files of one scan a source's poll state lists.
const MAX_REJECTED_LISTED: usize = 20;

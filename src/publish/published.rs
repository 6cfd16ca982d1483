//! The rendered feeds kept for the server, and their precompressed variants.

use super::*;

/// The rendered feeds, shared between the refresh tasks that replace them
/// and the server that reads them.
///
/// Each rendering carries the store generation read before its items were
/// (see `Store::generation`): two renderings at once (the one at start or
/// reload, and one after a refresh) may finish in either order, and the one
/// that read the older store never replaces the newer one.
#[derive(Clone, Default)]
pub struct Published {
    feeds: Arc<RwLock<HashMap<String, Stamped>>>,
}

/// A published rendering and the store generation it was made from.
pub(super) type Stamped = (u64, Arc<RenderedFeed>);

impl Published {
    pub fn get(&self, name: &str) -> Option<Arc<RenderedFeed>> {
        self.feeds
            .read()
            .ok()?
            .get(name)
            .map(|(_, feed)| feed.clone())
    }

    /// Stores a new rendering made from the store at `generation`; returns
    /// true when its bytes differ from the one it replaces. A rendering of
    /// an older generation than the one published is dropped (false).
    pub fn put(&self, name: &str, feed: RenderedFeed, generation: u64) -> bool {
        let Ok(mut feeds) = self.feeds.write() else {
            return false;
        };
        if let Some((newest, _)) = feeds.get(name)
            && *newest > generation
        {
            return false;
        }
        let changed = feeds.get(name).is_none_or(|(_, old)| {
            Format::ALL
                .iter()
                .chain([&Format::Html])
                .any(|f| old.get(*f).etag != feed.get(*f).etag)
        });
        if changed {
            feeds.insert(name.to_string(), (generation, Arc::new(feed)));
        } else if let Some((read_at, old)) = feeds.get_mut(name) {
            *read_at = generation;
            if let Ok(mut pages) = old.archives.lock() {
                // The subscription document is the same, but an item that
                // now lives only in an archive page may have been edited.
                pages.clear();
            }
        }
        changed
    }

    /// Drops feeds that are no longer configured.
    pub fn retain(&self, names: &HashSet<&str>) {
        if let Ok(mut feeds) = self.feeds.write() {
            feeds.retain(|name, _| names.contains(name.as_str()));
        }
    }
}

/// gzip level of the precompressed variant (0-9).
pub(super) const GZIP_LEVEL: u32 = 9;
/// brotli quality of the precompressed variant (0-11).
pub(super) const BROTLI_QUALITY: u32 = 5;

pub(super) fn gzip(body: &[u8]) -> Vec<u8> {
    // GzEncoder writes mtime 0 and no file name, so the bytes are
    // deterministic. Writing to a Vec cannot fail.
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

pub(super) fn brotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, 22);
        let _ = writer.write_all(body);
    }
    out
}

//! Each source's newest `by_source` row, in memory, so that a feed's
//! newest items are read by opening a cursor only on the sources whose
//! newest rows can be among them, not on every source of the feed: at
//! 20,000 sources, opening all of them cost each render 20,000 seeks into
//! a tree larger than sled's cache (BENCHMARKS.md, Poller).
//!
//! A source's head is learned when a read opens its cursor, and kept
//! exact enough by the writes:
//! - **Never older than the source's newest row.** A read may then open a
//!   source a little early (harmless: its rows come out in order), never
//!   too late. A write lowers the head to every row it adds, before its
//!   commit (so a read during the commit opens the source) and after it.
//!   A removed row leaves the head where it was, newer than needed.
//! - **A read learns only from a source nobody wrote meanwhile.** Each
//!   source counts its writes; a read notes the count before it opens the
//!   cursor and keeps what it found only if the count is the same after,
//!   so a row committed during the read is never hidden by a head learned
//!   before it. (A read that finishes between a write's commit and its
//!   second lowering is fixed by that lowering.)

use std::collections::HashMap;
use std::sync::Mutex;

/// A `by_source` row without its source prefix: published (descending) and
/// item key, the order of [`super::keys::by_time`].
pub type Row = [u8; 24];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Head {
    /// Not learned yet: a read opens the source.
    #[default]
    Unknown,
    /// The source had no rows.
    Empty,
    /// No row of the source comes before this one.
    At(Row),
}

#[derive(Default)]
struct Source {
    writes: u64,
    head: Head,
}

/// What a read saw of one source before opening it.
#[derive(Clone, Copy, Debug)]
pub struct Seen {
    pub writes: u64,
    pub head: Head,
}

#[derive(Default)]
pub struct Heads {
    sources: Mutex<HashMap<String, Source>>,
}

impl Heads {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Source>> {
        self.sources.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Call with every row a write adds, before its commit and again after.
    pub fn lower<'a>(&self, rows: impl IntoIterator<Item = (&'a str, Row)>) {
        let mut sources = self.lock();
        for (source, row) in rows {
            let entry = match sources.get_mut(source) {
                Some(entry) => entry,
                None => sources.entry(source.to_owned()).or_default(),
            };
            entry.writes = entry.writes.wrapping_add(1);
            entry.head = match entry.head {
                Head::Unknown => Head::Unknown,
                Head::Empty => Head::At(row),
                Head::At(head) => Head::At(head.min(row)),
            };
        }
    }

    /// What is known of each of `sources`, before a read opens any.
    pub fn seen<'s>(&self, sources: impl IntoIterator<Item = &'s str>) -> Vec<(&'s str, Seen)> {
        let known = self.lock();
        sources
            .into_iter()
            .map(|source| {
                let seen = known.get(source).map_or(
                    Seen {
                        writes: 0,
                        head: Head::Unknown,
                    },
                    |s| Seen {
                        writes: s.writes,
                        head: s.head,
                    },
                );
                (source, seen)
            })
            .collect()
    }

    /// What a read found opening these sources: each source's first row
    /// ([`Head::Empty`] for none), kept unless the source was written after
    /// `seen`.
    pub fn learn<'s>(&self, found: impl IntoIterator<Item = (&'s str, Seen, Head)>) {
        let mut sources = self.lock();
        for (source, seen, head) in found {
            match sources.get_mut(source) {
                Some(entry) if entry.writes == seen.writes => entry.head = head,
                Some(_) => {}
                None if seen.writes == 0 => {
                    sources.insert(source.to_owned(), Source { writes: 0, head });
                }
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u8) -> Row {
        [n; 24]
    }

    #[test]
    fn writes_lower_known_heads_and_hide_reads_that_raced_them() {
        let heads = Heads::default();
        let before = heads.seen(["a", "b", "c"]);
        assert!(before.iter().all(|(_, s)| s.head == Head::Unknown));
        // A read opened a, b and c; b was written while it read.
        heads.lower([("b", row(1))]);
        heads.learn(
            before
                .iter()
                .zip([Head::At(row(5)), Head::At(row(9)), Head::Empty])
                .map(|((s, seen), head)| (*s, *seen, head)),
        );
        let now = heads.seen(["a", "b", "c"]);
        assert_eq!(now[0].1.head, Head::At(row(5)));
        // b's head seen before the write is not kept: it could hide row 1.
        assert_eq!(now[1].1.head, Head::Unknown);
        assert_eq!(now[2].1.head, Head::Empty);
        // Writes lower a head, never raise it; an empty source gets one.
        heads.lower([("a", row(7)), ("a", row(3)), ("c", row(8))]);
        let now = heads.seen(["a", "c"]);
        assert_eq!(now[0].1.head, Head::At(row(3)));
        assert_eq!(now[1].1.head, Head::At(row(8)));
        // A later read of a, with no write since, may raise it (a row was
        // removed).
        heads.learn([("a", now[0].1, Head::At(row(6)))]);
        assert_eq!(heads.seen(["a"])[0].1.head, Head::At(row(6)));
    }
}

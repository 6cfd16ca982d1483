//! The intermediate model: what the feed-rs adapter ([`super::feedrs`])
//! extracts from a document, before [`super::normalize`] turns it into a
//! [`super::ParsedFeed`].
//!
//! Values here are as the upstream wrote them: dates are the raw text, URLs
//! may still be relative, text keeps its markup and says what kind it is.
//! Nothing in this file depends on feed-rs.

use url::Url;

use super::FeedFormat;
use crate::model::FeedHints;

/// How a text field is meant to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextKind {
    /// Plain text: markup characters are literal.
    Plain,
    /// Escaped HTML.
    Html,
    /// Inline XHTML, serialized.
    Xhtml,
    /// RSS-style text that is usually plain but sometimes carries HTML
    /// (tags or entities); decided by looking at it.
    MaybeHtml,
}

/// A text field and its kind.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RawText {
    pub kind: TextKind,
    pub value: String,
}

impl RawText {
    pub(crate) fn new(kind: TextKind, value: impl Into<String>) -> RawText {
        RawText {
            kind,
            value: value.into(),
        }
    }
}

/// A link of an entry or feed. `rel` is `alternate` for plain RSS links.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RawLink {
    pub href: String,
    pub rel: String,
    pub media_type: Option<String>,
}

/// A person as written upstream.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct RawPerson {
    pub name: Option<String>,
    pub email: Option<String>,
}

/// An attached file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RawEnclosure {
    pub url: String,
    pub mime_type: Option<String>,
    pub length: Option<u64>,
}

/// One item as a reader saw it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct RawEntry {
    /// guid / atom:id / JSON id exactly as written; `None` when absent.
    pub id: Option<String>,
    /// True when the id may double as the item's link (an RSS guid is a
    /// permalink unless it says otherwise).
    pub id_may_be_link: bool,
    pub title: Option<RawText>,
    pub links: Vec<RawLink>,
    /// Raw date text.
    pub published: Option<String>,
    pub updated: Option<String>,
    pub authors: Vec<RawPerson>,
    pub summary: Option<RawText>,
    pub content: Option<RawText>,
    pub categories: Vec<String>,
    pub enclosures: Vec<RawEnclosure>,
    /// The base in effect (explicit `xml:base`) for the summary and content.
    pub summary_base: Option<Url>,
    pub content_base: Option<Url>,
}

/// A whole feed as a reader saw it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RawFeed {
    pub format: FeedFormat,
    pub title: Option<RawText>,
    pub home_page_url: Option<String>,
    pub feed_url: Option<String>,
    /// `link rel="hub"`: WebSub hubs, as written.
    pub hubs: Vec<String>,
    pub description: Option<RawText>,
    pub language: Option<String>,
    pub icon: Option<String>,
    pub authors: Vec<RawPerson>,
    pub ttl_minutes: Option<u32>,
    /// The polling hints feed-rs does not read (see [`super::hints`]);
    /// `ttl_secs` is left to normalization, from `ttl_minutes`.
    pub hints: FeedHints,
    pub entries: Vec<RawEntry>,
    /// Recoveries the reader made.
    pub warnings: Vec<String>,
}

/// A feed-level link as the adapter sees it.
#[derive(Clone, Copy)]
pub(crate) struct FeedLink<'l> {
    pub rel: Option<&'l str>,
    pub media_type: Option<&'l str>,
    pub href: &'l str,
    /// False for a link feed-rs gave a `target`: never the home page.
    pub may_be_home: bool,
}

impl RawFeed {
    /// Sets the home page and self link from the feed's links, as feed-rs's
    /// model is read: the first alternate link (no `rel` counts) of an HTML
    /// type or none, else the first alternate one; the first `self` link.
    pub(crate) fn set_feed_links<'l>(&mut self, links: impl Iterator<Item = FeedLink<'l>> + Clone) {
        let alternate = |l: &FeedLink| {
            l.may_be_home && l.rel.is_none_or(|r| r.eq_ignore_ascii_case("alternate"))
        };
        self.home_page_url = links
            .clone()
            .filter(alternate)
            .find(|l| l.media_type.is_none_or(|t| t.contains("html")))
            .or_else(|| links.clone().find(alternate))
            .map(|l| l.href.to_string());
        self.feed_url = links
            .clone()
            .filter(|l| l.rel == Some("self"))
            .map(|l| l.href.to_string())
            .next();
        self.hubs = links
            .filter(|l| l.rel.is_some_and(|r| r.eq_ignore_ascii_case("hub")))
            .map(|l| l.href.to_string())
            .collect();
    }

    pub(crate) fn new(format: FeedFormat) -> RawFeed {
        RawFeed {
            format,
            title: None,
            home_page_url: None,
            feed_url: None,
            hubs: Vec::new(),
            description: None,
            language: None,
            icon: None,
            authors: Vec::new(),
            ttl_minutes: None,
            hints: FeedHints::default(),
            entries: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

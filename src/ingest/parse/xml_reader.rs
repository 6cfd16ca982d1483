//! The one-pass reader: quick-xml events straight into the reader-neutral
//! [`RawFeed`], so that the common documents skip the repair pass, the
//! feed-rs adapter's text edits and feed-rs itself. The only file that
//! knows quick-xml. It reads RSS 0.9x/2.0 (`<rss>`, with or without
//! `<channel>`), RSS 0.90/1.0 (`<rdf:RDF>`) and Atom 0.3/1.0 (`<feed>`),
//! with `xml:base`, XHTML text constructs, Media RSS contents, the
//! adapter's Dublin Core / iTunes renames in channels and items, its
//! `<body>` and `<fullitem>` item bodies, its channel wrapper for `<rss>`
//! without one, and its dropping of Atom text constructs with `src` or a
//! type it does not read.
//!
//! It is a *proven fast path with fallback*, like [`super::fast_html`]: it
//! returns `None` (declines) whenever the document holds anything it does
//! not read exactly as the full path (repair, then [`super::feedrs`]) does,
//! and the full path runs instead. It declines on:
//!
//! * anything [`super::recover`] would repair or warn about, but for HTML
//!   named entities in text (decoded and warned about as it does): XML
//!   errors, text before the root, bare `&`, other entities (also HTML
//!   ones in attributes), character references it rewrites or drops,
//!   characters XML forbids, a `<` inside a tag, misplaced declarations,
//!   a DOCTYPE, unclosed elements, element names outside ASCII;
//! * other roots (a lone Atom `<entry>`, CDF, prefixed `<rss>`/`<feed>`, ...);
//! * what the adapter's passes would change and it does not model: renames
//!   it cannot decide (empty elements, which may be self-closing and then
//!   are not renamed; a default namespace in the document, which renamed
//!   elements would take), item bodies and wrapped channels in documents
//!   with `xml:base`, base64 Atom content, types of prefixed Atom text
//!   constructs that feed-rs reads differently;
//! * what feed-rs fails or panics on (a Media RSS text without text, a
//!   person string it slices inside a character, huge durations) and what
//!   is not modelled: Media RSS groups, Podcast elements, enclosure types
//!   other than a plain `type/subtype`, Atom text constructs whose first
//!   child comes before any text, and so on.
//!
//! Where it accepts, the result equals feed-rs's as converted by the
//! adapter, field by field: the same "last element wins" or "first wins",
//! the same trimming, the same first-text-only reading of an element
//! (feed-rs reads the text before an element's first child), the same
//! namespace resolution, links resolved against the base (and `xml:base`)
//! as feed-rs does, people split with feed-rs's own expression. The
//! differential tests in `tests.rs` check this over fixtures, seeded
//! mutations of them, and the shared corpus. [`read_or_why`] says where it
//! declined, for tuning.

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use url::Url;

use super::FeedFormat;
use super::raw::{
    FeedLink, RawEnclosure, RawEntry, RawFeed, RawLink, RawPerson, RawText, TextKind,
};
use super::xml_scan::{EntryLayout, atom03_rename, entry_bases};

const ATOM10_NS: &str = "http://www.w3.org/2005/Atom";
const ATOM03_NS: &str = "http://purl.org/atom/ns#";
const RSS090_NS: &str = "http://my.netscape.com/rdf/simple/0.9/";

/// The namespaces feed-rs tells apart (its `NS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ns {
    Rss,
    Atom,
    /// Atom 0.3's namespace: Atom in an Atom 0.3 document (the adapter
    /// rewrites it to Atom 1.0's), unknown elsewhere.
    Atom03,
    /// RSS 0.90's namespace: RSS in an RSS 0.90 document (the adapter
    /// rewrites it to RSS 1.0's), unknown elsewhere.
    Rss090,
    Unknown,
    Content,
    DublinCore,
    MediaRss,
    Itunes,
    Podcast,
    Wfw,
}

impl Ns {
    fn parse(uri: &str) -> Ns {
        match uri {
            "http://purl.org/rss/1.0/" => Ns::Rss,
            ATOM10_NS => Ns::Atom,
            ATOM03_NS => Ns::Atom03,
            RSS090_NS => Ns::Rss090,
            "http://purl.org/rss/1.0/modules/content/" => Ns::Content,
            "http://purl.org/dc/elements/1.1/" => Ns::DublinCore,
            "http://search.yahoo.com/mrss/" => Ns::MediaRss,
            "http://www.itunes.com/dtds/podcast-1.0.dtd" => Ns::Itunes,
            "https://podcastindex.org/namespace/1.0" => Ns::Podcast,
            "http://wellformedweb.org/CommentAPI/" => Ns::Wfw,
            _ => Ns::Unknown,
        }
    }
}

/// Reads `text` (decoded, not repaired) when it is a document this reader
/// handles exactly as the full path; `None` otherwise. Never panics.
pub(crate) fn read(text: &str, base: Option<&Url>) -> Option<RawFeed> {
    read_or_why(text, base).ok()
}

/// [`read`], or where and on what it declined (for tests and tuning).
pub(crate) fn read_or_why(text: &str, base: Option<&Url>) -> Result<RawFeed, String> {
    if super::recover::has_forbidden_char(text) {
        return Err("forbidden character".into());
    }
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.trim_markup_names_in_closing_tags = true;
    config.trim_text(false);
    let mut doc = Doc::new(text, base);
    loop {
        let event = reader.read_event().map_err(|e| format!("XML error: {e}"))?;
        // Only start tags need their namespace (the reader keeps the
        // bindings either way).
        let ns = match &event {
            Event::Start(start) => match reader.resolver().resolve_element(start.name()).0 {
                ResolveResult::Bound(uri) => Some(Ns::parse(uri.0)),
                ResolveResult::Unbound | ResolveResult::Unknown(_) => None,
            },
            _ => None,
        };
        doc.pos = usize::try_from(reader.buffer_position()).map_err(|e| e.to_string())?;
        let accepted = match &event {
            Event::Start(start) => doc.start(ns, start),
            Event::End(e) => {
                let name = e.name();
                doc.end(name.as_ref())
            }
            Event::Empty(_) | Event::Decl(_) | Event::DocType(_) => None,
            Event::Text(t) => doc.text(t),
            Event::CData(t) => (doc.depth() > 0).then(|| {
                if !t.is_empty() {
                    doc.push_text(t);
                }
            }),
            Event::GeneralRef(r) => (doc.depth() > 0)
                .then(|| resolve_reference(r).or_else(|| doc.html_entity(r)))
                .flatten()
                .map(|resolved| match resolved {
                    Resolved::Str(s) => doc.push_text(s),
                    Resolved::Char(c) => doc.push_char(c),
                }),
            Event::Comment(_) => Some(()),
            Event::PI(pi) => {
                // `<?xml?>` and the like: a declaration to the repair pass,
                // which drops it (with a warning) unless it opens the text.
                let content: &str = pi;
                let target_end = content
                    .find(|c: char| c.is_whitespace())
                    .unwrap_or(content.len());
                (content.get(..target_end) != Some("xml")).then_some(())
            }
            Event::Eof => return doc.finish().ok_or_else(|| "at the end".to_string()),
        };
        if accepted.is_none() {
            return Err(match &event {
                Event::Start(e) => {
                    let name = e.name();
                    let name: &str = name.as_ref();
                    format!("<{name}>")
                }
                Event::End(e) => {
                    let name = e.name();
                    let name: &str = name.as_ref();
                    format!("</{name}>")
                }
                Event::GeneralRef(r) => format!("&{};", &**r),
                other => format!("{other:?}").chars().take(40).collect(),
            });
        }
    }
}

/// What a text field collected so far is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    ChannelTitle,
    ChannelDescription,
    ChannelLanguage,
    ChannelLink,
    ChannelEditor,
    ChannelTtl,
    ChannelItunesAuthor,
    /// A person string feed-rs parses but the adapter does not use
    /// (`webMaster`, `itunes:owner`'s name): only checked, as feed-rs may
    /// panic on it.
    PersonCheck,
    /// A Media RSS text (`media:title`, `media:description`): feed-rs
    /// fails the whole feed when it has no text.
    MediaText,
    /// RSS 1.0 `dc:language`: as written.
    RdfLanguage,
    /// RSS 1.0 `content:encoded`: trimmed, kept when empty.
    RdfContent,
    /// RSS 1.0 `dc:description`: the summary when there is none yet.
    RdfDcDescription,
    ImageUrl,
    ItemTitle,
    ItemLink,
    ItemDescription,
    ItemAuthor,
    ItemCategory,
    ItemGuid,
    ItemPublished,
    ItemUpdated,
    ItemContent,
    /// `itunes:duration`: feed-rs panics on (or, in release builds, wraps)
    /// numbers too large for it.
    ItunesDuration,
    /// An item's `<fullitem>` (any prefix): `content:encoded` after the
    /// adapter's `item_body_edits`.
    FullItem,
    /// Atom: a text construct (`title`, `subtitle`, `summary`, `content`,
    /// `rights`) of the given kind, read "sloppily" as feed-rs does.
    AtomText(AtomTextField, TextKind),
    AtomId,
    AtomUpdated,
    AtomPublished,
    AtomIcon,
    AtomLogo,
    PersonName,
    PersonEmail,
    /// An item child the adapter may rename (`dublin_core_edits`).
    Renamed(Renamed),
    /// A channel child the adapter may rename.
    ChannelRenamed(Renamed),
    /// Text read (and dropped) because feed-rs reads it, e.g. `<uri>`.
    Ignored,
}

/// What `dublin_core_edits` renames an item child to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Renamed {
    /// `dc:subject`, `media:category`: always a `category`.
    Category,
    /// `dc:title`: the `title` when there is none.
    Title,
    /// `dc:description`: the `description` when there is none.
    DcDescription,
    /// `itunes:summary`: the `description` when there is neither a
    /// `description` nor a `dc:description`.
    ItunesSummary,
    /// `itunes:author`, `dc:author`: an author when there is neither an
    /// `author` nor a `dc:creator`. In a channel: the first `author`,
    /// `dc:creator` or `dc:author`, its `managingEditor` when it has none.
    Author,
    /// A channel's `dc:language`: its `language` when it has none.
    Language,
    /// A channel's `itunes:subtitle`: its `description` when it has no
    /// `description`, `dc:description` or `itunes:summary`.
    ItunesSubtitle,
}

/// What a channel's renamable children held (the last of each, the first
/// person), for the renames decided at its end.
#[derive(Default)]
struct ChannelRenamed {
    first_person: Option<Option<String>>,
    language: Option<Option<String>>,
    title: Option<Option<String>>,
    dc_description: Option<Option<String>>,
    itunes_summary: Option<Option<String>>,
    itunes_subtitle: Option<Option<String>>,
    /// The URL of the first iTunes image that has one.
    image: Option<String>,
    /// Some renamable text element was empty (`<x/>` or `<x></x>`).
    empty: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AtomTextField {
    FeedTitle,
    FeedSubtitle,
    EntryTitle,
    EntrySummary,
    EntryContent,
    Rights,
}

/// An open element and what it means to the reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    /// `<rss>`.
    RssRoot,
    /// The `<channel>` feed-rs reads.
    Channel,
    /// A channel's `<image>`.
    Image,
    Item,
    /// `<feed>`.
    AtomFeed,
    AtomEntry,
    /// An Atom `author` (of the feed when `true`) or `contributor` (`None`).
    AtomPerson(Option<bool>),
    /// `<rdf:RDF>` (RSS 0.90 and 1.0) and its `<channel>`s and `<item>`s.
    RdfRoot,
    RdfChannel,
    RdfItem,
    /// An item's (or entry's) `<media:content>`.
    MediaContent,
    /// A channel's `<itunes:owner>`.
    ItunesOwner,
    /// An item's `<body>` (any prefix), which the adapter's
    /// `item_body_edits` turns into `content:encoded` holding its source.
    ItemBody,
    /// Anything else: read through, not used.
    Skip,
}

/// Qualified child names whose presence decides the adapter's
/// `dublin_core_edits` (bit flags per channel or item).
mod seen {
    pub const AUTHOR: u32 = 1;
    pub const DC_CREATOR: u32 = 1 << 1;
    pub const DC_AUTHOR: u32 = 1 << 2;
    pub const MANAGING_EDITOR: u32 = 1 << 3;
    pub const LANGUAGE: u32 = 1 << 4;
    pub const DESCRIPTION: u32 = 1 << 5;
    pub const TITLE: u32 = 1 << 6;
    pub const IMAGE: u32 = 1 << 7;
    /// `dc:subject`, `media:category`: always renamed `category`.
    pub const CATEGORY_RENAME: u32 = 1 << 8;

    pub fn of(qname: &str) -> u32 {
        match qname {
            "author" => AUTHOR,
            "dc:creator" => DC_CREATOR,
            "dc:author" => DC_AUTHOR,
            "managingEditor" => MANAGING_EDITOR,
            "language" => LANGUAGE,
            "description" => DESCRIPTION,
            "title" => TITLE,
            "image" => IMAGE,
            "dc:subject" | "media:category" => CATEGORY_RENAME,
            _ => 0,
        }
    }
}

/// A feed-rs `Link` as far as the adapter uses it.
struct Link {
    href: String,
    rel: Option<String>,
    media_type: Option<String>,
    length: Option<u64>,
}

/// An RSS item or Atom entry being read.
#[derive(Default)]
struct Entry {
    raw: RawEntry,
    id: Option<String>,
    links: Vec<Link>,
    published: Option<String>,
    updated: Option<String>,
    seen: u32,
    /// RSS 1.0: the item's `about`, and whether an element named `link`
    /// (any prefix) is inside it (the adapter's `rdf_item_links`).
    about: Option<String>,
    has_link_element: bool,
    /// RSS 1.0: whether anything at all is inside the item.
    has_content: bool,
    /// RSS 1.0: the `xml:base` in effect for the item (for its `about`).
    xml_base: Option<Url>,
    /// Media RSS `<media:content>`s with a URL, in order: feed-rs's one
    /// Media RSS object (groups are declined).
    media: Vec<RawEnclosure>,
    /// The text of the last `dc:title`, `dc:description` and
    /// `itunes:summary`, and the `itunes:author`/`dc:author` people, for
    /// the renames decided at the item's end.
    renamed_title: Option<Option<String>>,
    renamed_dc_description: Option<Option<String>>,
    renamed_itunes_summary: Option<Option<String>>,
    renamed_authors: Vec<RawPerson>,
    /// Renamable children that were empty: `<x/>` (which the adapter does
    /// not rename) and `<x></x>` (which it does) look the same here.
    renamed_empty: bool,
}

/// A `<media:content>` being read: URL, type, size, and the base its
/// `media:player` URL is resolved against.
#[derive(Default)]
struct MediaContent {
    url: Option<Url>,
    mime_type: Option<String>,
    length: Option<u64>,
    base: Option<Url>,
}

/// An Atom person being read.
#[derive(Default)]
struct Person {
    name: Option<String>,
    email: Option<String>,
}

struct Doc<'b> {
    text: &'b str,
    base: Option<&'b Url>,
    /// feed-rs's `xml:base` stack: (depth of the element that set it, base).
    bases: Vec<(usize, Url)>,
    stack: Vec<Frame>,
    format: Option<FeedFormat>,
    /// The root element has ended.
    done: bool,
    /// A channel was found (RSS): later ones are not read.
    channel_found: bool,
    /// Whether the text declares a default namespace anywhere (looked up
    /// once, when an item rename needs it).
    declares_default_namespace: Option<bool>,
    /// The depth of an Atom text construct the adapter renames away
    /// (`atom_edits`: `src`, a type it does not read), while inside it.
    dropping: Option<usize>,
    /// The channel's renamable children.
    channel_renamed: ChannelRenamed,
    /// HTML entities decoded (as the repair pass would), and the first.
    entities: usize,
    first_entity: String,
    /// Whether the text holds `xml:base` (looked up once, when needed).
    has_xml_base: Option<bool>,
    /// Where the reader is in the text (after the current event).
    pos: usize,
    /// Where the content of an item's `<body>` starts, and the entities
    /// decoded before it.
    body_start: usize,
    entities_before_body: usize,
    /// Whether the root has any content (for an `<rss>` without channel,
    /// read as its channel).
    wrapped_content: bool,
    channel_seen: u32,
    feed: RawFeed,
    links: Vec<Link>,
    /// RSS `managingEditor`s (the authors when there are no others).
    editors: Vec<RawPerson>,
    logo: Option<String>,
    icon: Option<String>,
    image_url: String,
    entry: Option<Entry>,
    person: Person,
    /// An XHTML text construct being serialized.
    xhtml: Option<Xhtml>,
    /// The `<media:content>` being read.
    media_content: Option<MediaContent>,
    /// RSS 1.0: the `about` of every element named `item`, in order (the
    /// adapter's `rdf_item_abouts`).
    abouts: Vec<Option<String>>,
    /// The field the text being collected is for, and the text so far.
    pending: Option<(Field, Option<String>)>,
}

impl<'b> Doc<'b> {
    fn new(text: &'b str, base: Option<&'b Url>) -> Doc<'b> {
        Doc {
            text,
            base,
            bases: Vec::new(),
            stack: Vec::new(),
            format: None,
            done: false,
            channel_found: false,
            wrapped_content: false,
            pos: 0,
            entities: 0,
            first_entity: String::new(),
            channel_renamed: ChannelRenamed::default(),
            has_xml_base: None,
            body_start: 0,
            entities_before_body: 0,
            dropping: None,
            declares_default_namespace: None,
            channel_seen: 0,
            feed: RawFeed::new(FeedFormat::Rss20),
            links: Vec::new(),
            editors: Vec::new(),
            logo: None,
            icon: None,
            image_url: String::new(),
            entry: None,
            person: Person::default(),
            xhtml: None,
            media_content: None,
            abouts: Vec::new(),
            pending: None,
        }
    }

    fn depth(&self) -> usize {
        self.stack.len()
    }

    /// Whether the text holds `xml:base` anywhere (looked up once).
    fn has_xml_base(&mut self) -> bool {
        let text = self.text;
        *self
            .has_xml_base
            .get_or_insert_with(|| text.contains("xml:base"))
    }

    /// Whether the text declares a default namespace anywhere (looked up
    /// once).
    fn declares_default_namespace(&mut self) -> bool {
        let text = self.text;
        *self
            .declares_default_namespace
            .get_or_insert_with(|| text.contains("xmlns="))
    }

    fn is_rdf(&self) -> bool {
        matches!(self.format, Some(FeedFormat::Rss10 | FeedFormat::Rss090))
    }

    /// An HTML named entity (`&eacute;`), which the repair pass decodes
    /// (and counts, for its warning) before feed-rs reads the text.
    fn html_entity(&mut self, name: &str) -> Option<Resolved> {
        if name.len() > 40 || !name.bytes().all(is_name_char) {
            return None;
        }
        let value = super::entities::lookup(name)?;
        if self.entities == 0 {
            self.first_entity = name.to_string();
        }
        self.entities += 1;
        Some(Resolved::Str(value))
    }

    fn push_text(&mut self, s: &str) {
        self.wrapped_content = true;
        if let Some(entry) = self.entry.as_mut() {
            entry.has_content = true;
        }
        if let Some(x) = self.xhtml.as_mut() {
            x.text(s);
        } else if let Some((_, buf)) = self.pending.as_mut() {
            buf.get_or_insert_with(String::new).push_str(s);
        }
    }

    fn push_char(&mut self, c: char) {
        if let Some(x) = self.xhtml.as_mut() {
            x.text(c.encode_utf8(&mut [0; 4]));
        } else if let Some((_, buf)) = self.pending.as_mut() {
            buf.get_or_insert_with(String::new).push(c);
        }
    }

    fn text(&mut self, t: &str) -> Option<()> {
        if self.depth() == 0 {
            // Only whitespace around the root: anything else is junk the
            // repair pass would cut (before) or readers ignore (after).
            if !self.done && !t.chars().all(char::is_whitespace) {
                return None;
            }
            return Some(());
        }
        if !t.is_empty() {
            self.push_text(t);
        }
        Some(())
    }

    /// The text of the element being collected is complete (a start or end
    /// tag follows): `child_start` when it is a child element's start.
    fn flush(&mut self, child_start: bool) -> Option<()> {
        let Some((field, text)) = self.pending.take() else {
            return Some(());
        };
        self.apply(field, text, child_start)
    }

    fn start(&mut self, ns: Option<Ns>, tag: &BytesStart) -> Option<()> {
        self.flush(true)?;
        let qname = tag.name();
        let qname: &str = qname.as_ref();
        if qname.is_empty() || !qname.bytes().all(is_name_char) {
            return None;
        }
        let raw_attrs = tag.attributes_raw();
        // The repair pass stops at a `<` inside a tag (a truncated tag).
        if raw_attrs.contains('<') || (raw_attrs.contains('&') && !references_ok(raw_attrs)) {
            return None;
        }
        // Malformed or duplicate attributes: the adapter's tag scanner may
        // end the tag elsewhere than quick-xml does.
        let e = &Attrs::read(tag)?;
        let mut local = qname.rsplit(':').next().unwrap_or(qname);
        let prefixed = qname.len() != local.len();
        let is_atom = matches!(self.format, Some(FeedFormat::Atom10 | FeedFormat::Atom03));
        let mut dropped = None;
        if is_atom && !prefixed && self.dropping.is_none() {
            if self.format == Some(FeedFormat::Atom03) {
                local = atom03_rename(local).unwrap_or(local);
            }
            if let TextConstruct::Dropped(warning) = atom_text_construct(local, e)? {
                if self.xhtml.is_some() {
                    // The adapter renames it inside the XHTML being
                    // serialized.
                    return None;
                }
                dropped = Some(warning);
            }
        }
        if let Some(x) = self.xhtml.as_mut() {
            x.start(local, &attrs(e)?);
            return Some(());
        }
        if self.is_rdf() {
            if let Some(entry) = self.entry.as_mut() {
                entry.has_content = true;
                if local == "link" {
                    entry.has_link_element = true;
                }
                if local == "item" {
                    // An item inside the item: the adapter's scans pair
                    // them differently.
                    return None;
                }
            }
            if local == "item" {
                let about = rdf_about(e)?;
                self.abouts.push(about);
            }
        }
        if raw_attrs.contains("xml:base") {
            self.push_base(e)?;
        }
        if self.dropping.is_some() || dropped.is_some() {
            // An element the adapter renames away (and what is inside it).
            if let Some(warning) = dropped {
                self.feed.warnings.extend(warning);
                self.dropping = Some(self.stack.len() + 1);
            }
            self.wrapped_content = true;
            self.stack.push(Frame::Skip);
            return Some(());
        }
        if !self.stack.is_empty() {
            self.wrapped_content = true;
        }
        let parent = self.stack.last().copied();
        if self.done {
            // A second root: nothing reads it; the repair pass leaves it.
            self.stack.push(Frame::Skip);
            return Some(());
        }
        let Some(parent) = parent else {
            return self.root(ns, e, qname);
        };
        if is_atom
            && prefixed
            && matches!(
                local,
                "title" | "subtitle" | "summary" | "rights" | "content"
            )
            && !matches!(
                raw_attr(e, "type")?.as_deref(),
                None | Some("text" | "html" | "text/html" | "xhtml")
            )
        {
            // The adapter leaves the types of prefixed elements as they
            // are, and feed-rs reads them as written.
            return None;
        }
        let ns = match ns {
            Some(Ns::Atom03) if self.format == Some(FeedFormat::Atom03) => Ns::Atom,
            Some(Ns::Atom03) => Ns::Unknown,
            Some(Ns::Rss090) if self.format == Some(FeedFormat::Rss090) => Ns::Rss,
            Some(Ns::Rss090) => Ns::Unknown,
            Some(ns) => ns,
            None if is_atom => Ns::Atom,
            None => Ns::Rss,
        };
        let frame = match parent {
            Frame::RssRoot => {
                if local == "channel" && !self.channel_found {
                    self.channel_found = true;
                    Frame::Channel
                } else {
                    Frame::Skip
                }
            }
            Frame::Channel => {
                let before = self.channel_seen;
                self.channel_seen |= seen::of(qname);
                if let Some(frame) = self.channel_renamable(ns, qname, e, before)? {
                    frame
                } else {
                    self.channel_child(ns, local, e)?
                }
            }
            Frame::Image => {
                if (ns, local) == (Ns::Rss, "url") {
                    self.pending = Some((Field::ImageUrl, None));
                }
                Frame::Skip
            }
            Frame::Item => {
                if let Some(entry) = self.entry.as_mut() {
                    entry.seen |= seen::of(qname);
                }
                self.item_child(ns, local, qname, e)?
            }
            Frame::AtomFeed => self.atom_feed_child(ns, local, e)?,
            Frame::RdfRoot => match (ns, local) {
                (Ns::Rss, "channel") => Frame::RdfChannel,
                (Ns::Rss, "image") => {
                    self.image_url = String::new();
                    Frame::Image
                }
                (Ns::Rss, "item") => {
                    self.entry = Some(Entry {
                        about: self.abouts.last().cloned().flatten(),
                        xml_base: self.bases.last().map(|(_, u)| u.clone()),
                        ..Entry::default()
                    });
                    Frame::RdfItem
                }
                _ => Frame::Skip,
            },
            Frame::RdfChannel | Frame::RdfItem => {
                let field = match (parent, ns, local) {
                    (Frame::RdfChannel, Ns::Rss, "title") => Some(Field::ChannelTitle),
                    (Frame::RdfChannel, Ns::Rss, "link") => Some(Field::ChannelLink),
                    (Frame::RdfChannel, Ns::Rss, "description") => Some(Field::ChannelDescription),
                    (Frame::RdfChannel, Ns::DublinCore, "creator") => {
                        Some(Field::ChannelItunesAuthor)
                    }
                    (Frame::RdfChannel, Ns::DublinCore, "language") => Some(Field::RdfLanguage),
                    (Frame::RdfItem, Ns::Rss, "title") => Some(Field::ItemTitle),
                    (Frame::RdfItem, Ns::Rss, "link") => Some(Field::ItemLink),
                    (Frame::RdfItem, Ns::Rss, "description") => Some(Field::ItemDescription),
                    (Frame::RdfItem, Ns::Content, "encoded") => Some(Field::RdfContent),
                    (Frame::RdfItem, Ns::DublinCore, "creator") => Some(Field::ItemAuthor),
                    (Frame::RdfItem, Ns::DublinCore, "date") => Some(Field::ItemPublished),
                    (Frame::RdfItem, Ns::DublinCore, "description") => {
                        Some(Field::RdfDcDescription)
                    }
                    _ => None,
                };
                if let Some(field) = field {
                    self.pending = Some((field, None));
                }
                Frame::Skip
            }
            Frame::AtomEntry => self.atom_entry_child(ns, local, e)?,
            Frame::AtomPerson(_) => {
                self.pending = Some((
                    match local {
                        "name" => Field::PersonName,
                        "email" => Field::PersonEmail,
                        _ => Field::Ignored,
                    },
                    None,
                ));
                Frame::Skip
            }
            Frame::MediaContent => {
                if ns == Ns::MediaRss {
                    match local {
                        "player" => {
                            if let (Some(url), Some(content)) =
                                (attr(e, "url")?, self.media_content.as_mut())
                                && let Some(url) =
                                    parse_uri(&url, content.base.as_ref().or(self.base))
                            {
                                content.url = Some(url);
                            }
                        }
                        "content" | "group" => return None,
                        _ => {
                            self.media_child(local, e)?;
                        }
                    }
                }
                Frame::Skip
            }
            Frame::ItemBody => Frame::Skip,
            Frame::ItunesOwner => {
                if (ns, local) == (Ns::Itunes, "name") {
                    self.pending = Some((Field::PersonCheck, None));
                }
                Frame::Skip
            }
            Frame::Skip => Frame::Skip,
        };
        self.stack.push(frame);
        Some(())
    }

    /// feed-rs's `xml_base_push` for the element starting at depth
    /// `stack.len() + 1`: an absolute `xml:base` is pushed, a relative one
    /// joined to the base in effect (none without one); other errors fail
    /// feed-rs's whole parse (declined).
    fn push_base(&mut self, e: &Attrs) -> Option<()> {
        let Some(value) = attr(e, "xml:base")? else {
            return Some(());
        };
        let depth = self.stack.len() + 1;
        match Url::parse(&value) {
            Ok(url) => self.bases.push((depth, url)),
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                let joined = self
                    .bases
                    .last()
                    .map(|(_, u)| u)
                    .or(self.base)
                    .and_then(|b| b.join(&value).ok());
                if let Some(url) = joined {
                    self.bases.push((depth, url));
                }
            }
            Err(_) => return None,
        }
        Some(())
    }

    fn root(&mut self, ns: Option<Ns>, e: &Attrs, qname: &str) -> Option<()> {
        if !qname
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
        {
            return None;
        }
        if qname.rsplit(':').next() == Some("RDF") {
            let format = match attr(e, "xmlns")?.as_deref() {
                // The adapter replaces the namespace everywhere in the text.
                Some(RSS090_NS) if self.text.matches(RSS090_NS).count() == 1 => FeedFormat::Rss090,
                Some(RSS090_NS) => return None,
                _ => FeedFormat::Rss10,
            };
            self.format = Some(format);
            self.stack.push(Frame::RdfRoot);
            return Some(());
        }
        match qname {
            "rss" => {
                // Every version is read by feed-rs's RSS 2.0 reader (the
                // adapter rewrites the versions it does not know to 2.0);
                // the version names the format, as the adapter names it.
                let version = raw_attr(e, "version")?;
                if version.as_deref().is_some_and(|v| v.contains('&')) {
                    return None;
                }
                self.format = Some(FeedFormat::of_rss_version(version.as_deref()));
                if self.text.contains("channel") {
                    self.stack.push(Frame::RssRoot);
                } else {
                    // No channel anywhere: the adapter wraps the root's
                    // content in one (`wrap_channel`); the root is read as
                    // the channel. Its `entry_bases` would see the wrapper.
                    if self.has_xml_base() {
                        return None;
                    }
                    self.feed
                        .warnings
                        .push("no <channel> in <rss>: read its content as the channel".into());
                    self.channel_found = true;
                    self.stack.push(Frame::Channel);
                }
            }
            "feed" => {
                let version = attr(e, "version")?;
                self.format = Some(match (ns, attr(e, "xmlns")?.as_deref()) {
                    (Some(Ns::Atom), Some(ATOM10_NS)) => FeedFormat::Atom10,
                    // The adapter replaces the namespace everywhere in the
                    // text: only its declaration may hold it.
                    (Some(Ns::Atom03), Some(ATOM03_NS))
                        if self.text.matches(ATOM03_NS).count() == 1 =>
                    {
                        FeedFormat::Atom03
                    }
                    (None, None) if version.as_deref().map(str::trim) == Some("0.3") => {
                        FeedFormat::Atom03
                    }
                    (None, None) => FeedFormat::Atom10,
                    _ => return None,
                });
                self.feed.language = attr(e, "xml:lang")?;
                self.stack.push(Frame::AtomFeed);
            }
            _ => return None,
        }
        Some(())
    }

    /// Channel children the adapter's `dublin_core_edits` may rename (or,
    /// for iTunes images, add an `<image>` before): recorded, and decided
    /// at the channel's end. `Some(None)` for the others.
    fn channel_renamable(
        &mut self,
        ns: Ns,
        qname: &str,
        e: &Attrs,
        seen_before: u32,
    ) -> Option<Option<Frame>> {
        let expected = match qname {
            "author" => Ns::Rss,
            "dc:creator" | "dc:author" | "dc:language" | "dc:title" | "dc:description" => {
                Ns::DublinCore
            }
            "itunes:summary" | "itunes:subtitle" | "itunes:image" | "itunes:link" => Ns::Itunes,
            _ => return Some(None),
        };
        if ns != expected {
            return None;
        }
        let to = match qname {
            "author" | "dc:creator" | "dc:author" => {
                let people = seen::AUTHOR | seen::DC_CREATOR | seen::DC_AUTHOR;
                if seen_before & people != 0 {
                    // Only the first one may become the managingEditor.
                    return Some(Some(Frame::Skip));
                }
                Renamed::Author
            }
            "dc:language" => Renamed::Language,
            "dc:title" => Renamed::Title,
            "dc:description" => Renamed::DcDescription,
            "itunes:summary" => Renamed::ItunesSummary,
            "itunes:subtitle" => Renamed::ItunesSubtitle,
            _ => {
                // iTunes images: the first with a URL becomes the channel's
                // `<image>` when it has none.
                let rel = raw_attr(e, "rel")?;
                if rel.as_deref().is_some_and(|r| r.contains('&')) {
                    return None;
                }
                let is_image = qname == "itunes:image" || rel.as_deref() == Some("image");
                if is_image && self.channel_renamed.image.is_none() {
                    let url = match raw_attr(e, "href")? {
                        Some(href) => Some(href),
                        None => raw_attr(e, "url")?,
                    };
                    if url.as_deref().is_some_and(|u| u.contains(['&', '<'])) {
                        return None;
                    }
                    self.channel_renamed.image = url.filter(|u| !u.trim().is_empty());
                }
                if qname == "itunes:image" {
                    return Some(None);
                }
                return Some(Some(Frame::Skip));
            }
        };
        self.pending = Some((Field::ChannelRenamed(to), None));
        Some(Some(Frame::Skip))
    }

    /// The adapter's `dublin_core_edits` for the channel, applied to what
    /// was read.
    fn apply_channel_renames(&mut self) -> Option<()> {
        use seen::*;
        let s = self.channel_seen;
        let has = |f: u32| s & f != 0;
        let r = std::mem::take(&mut self.channel_renamed);
        let editor = (!has(MANAGING_EDITOR)).then_some(r.first_person).flatten();
        let language = (!has(LANGUAGE)).then_some(r.language).flatten();
        let title = (!has(TITLE)).then_some(r.title).flatten();
        let description = if has(DESCRIPTION) {
            None
        } else {
            r.dc_description.or(r.itunes_summary).or(r.itunes_subtitle)
        };
        let image = if has(IMAGE) { None } else { r.image };
        let texts = language.is_some() || title.is_some() || description.is_some();
        if !(texts || editor.is_some() || image.is_some()) {
            return Some(());
        }
        if self.declares_default_namespace() || (texts && r.empty) {
            return None;
        }
        if let Some(editor) = editor.flatten() {
            self.editors = vec![person(&editor)?];
        }
        if let Some(language) = language {
            self.feed.language = language.map(|t| t.to_lowercase());
        }
        if let Some(title) = title {
            self.feed.title = title.map(|t| RawText::new(TextKind::MaybeHtml, trim_owned(t)));
        }
        if let Some(description) = description {
            self.feed.description =
                description.map(|t| RawText::new(TextKind::MaybeHtml, trim_owned(t)));
        }
        if image.is_some() {
            self.logo = image;
        }
        Some(())
    }

    fn channel_child(&mut self, ns: Ns, local: &str, e: &Attrs) -> Option<Frame> {
        let field = match (ns, local) {
            (Ns::Rss, "title") => Field::ChannelTitle,
            (Ns::Rss, "link") => Field::ChannelLink,
            (Ns::Atom, "link") => {
                let link = atom_link(e, self.bases.last().map(|(_, u)| u).or(self.base))?;
                self.links.extend(link);
                return Some(Frame::Skip);
            }
            (Ns::Rss, "description") => Field::ChannelDescription,
            (Ns::Rss, "language") => Field::ChannelLanguage,
            (Ns::Rss, "managingEditor") => Field::ChannelEditor,
            (Ns::Rss, "webMaster") => Field::PersonCheck,
            (Ns::Itunes, "owner") => return Some(Frame::ItunesOwner),
            (Ns::Rss, "ttl") => Field::ChannelTtl,
            (Ns::Rss, "image") => {
                self.image_url = String::new();
                return Some(Frame::Image);
            }
            (Ns::Rss, "item") => {
                self.entry = Some(Entry::default());
                return Some(Frame::Item);
            }
            (Ns::Itunes, "image") => {
                if let Some(href) = attr(e, "href")?
                    && self.logo.is_none()
                {
                    self.logo = Some(href);
                }
                return Some(Frame::Skip);
            }
            (Ns::Itunes, "author") => Field::ChannelItunesAuthor,
            (Ns::Podcast, _) => return None,
            _ => return Some(Frame::Skip),
        };
        self.pending = Some((field, None));
        Some(Frame::Skip)
    }

    fn item_child(&mut self, ns: Ns, local: &str, qname: &str, e: &Attrs) -> Option<Frame> {
        // What the adapter's `dublin_core_edits` may rename (decided at the
        // item's end, when its children are known).
        let renamable = match qname {
            "dc:subject" | "dc:title" | "dc:description" | "dc:author" => Some(Ns::DublinCore),
            "media:category" => Some(Ns::MediaRss),
            "itunes:author" | "itunes:summary" => Some(Ns::Itunes),
            _ => None,
        };
        if let Some(expected) = renamable {
            if ns != expected || (qname == "itunes:summary" && attr(e, "type")?.is_some()) {
                return None;
            }
            let field = match qname {
                "dc:subject" | "media:category" => Field::Renamed(Renamed::Category),
                "dc:title" => Field::Renamed(Renamed::Title),
                "dc:description" => Field::Renamed(Renamed::DcDescription),
                "itunes:summary" => Field::Renamed(Renamed::ItunesSummary),
                _ => Field::Renamed(Renamed::Author),
            };
            self.pending = Some((field, None));
            return Some(Frame::Skip);
        }
        if matches!(local, "fullitem" | "body") {
            // The adapter's `entry_bases` would see the edited text.
            if self.has_xml_base() {
                return None;
            }
        }
        match local {
            "fullitem" => {
                self.pending = Some((Field::FullItem, None));
                return Some(Frame::Skip);
            }
            "body" => {
                self.body_start = self.pos;
                self.entities_before_body = self.entities;
                return Some(Frame::ItemBody);
            }
            _ => {}
        }
        let field = match (ns, local) {
            (Ns::Rss, "title") => Field::ItemTitle,
            (Ns::Rss, "link") => Field::ItemLink,
            (Ns::Rss, "description") => Field::ItemDescription,
            (Ns::Rss, "author") | (Ns::DublinCore, "creator") => Field::ItemAuthor,
            (Ns::Rss, "category") => Field::ItemCategory,
            (Ns::Rss, "guid") => Field::ItemGuid,
            (Ns::Rss, "enclosure") => {
                let enclosure = enclosure(e, self.bases.last().map(|(_, u)| u).or(self.base))?;
                if let Some(entry) = self.entry.as_mut() {
                    entry.raw.enclosures.extend(enclosure);
                }
                return Some(Frame::Skip);
            }
            (Ns::Rss, "pubDate") | (Ns::DublinCore, "date") => Field::ItemPublished,
            (Ns::Rss, "updated") | (Ns::Atom, "updated") => Field::ItemUpdated,
            (Ns::Content, "encoded") => Field::ItemContent,
            (Ns::Itunes, "duration") => Field::ItunesDuration,
            (Ns::Itunes, "title" | "summary") => {
                // feed-rs reads these as Atom text constructs and fails the
                // whole feed on a `type` it does not know.
                if attr(e, "type")?.is_some() {
                    return None;
                }
                return Some(Frame::Skip);
            }
            (Ns::MediaRss, _) => return self.media_child(local, e),
            (Ns::Podcast, _) => return None,
            _ => return Some(Frame::Skip),
        };
        self.pending = Some((field, None));
        Some(Frame::Skip)
    }

    /// A Media RSS element in an item or entry (or a `media:content`) as
    /// feed-rs's Media RSS state reads it, as far as it matters: contents
    /// become enclosures; texts without text, unknown text types and time
    /// values it would overflow on fail or panic feed-rs (declined); groups
    /// are not modelled (declined).
    fn media_child(&mut self, local: &str, e: &Attrs) -> Option<Frame> {
        match local {
            "content" => {
                let base = self.bases.last().map(|(_, u)| u);
                let mut content = MediaContent {
                    base: base.cloned(),
                    ..MediaContent::default()
                };
                for (k, v) in attrs(e)? {
                    match k.as_str() {
                        "url" => content.url = parse_uri(&v, base.or(self.base)),
                        "type" => {
                            if let Some(mime) = media_type(&v)? {
                                content.mime_type = Some(mime);
                            }
                        }
                        "fileSize" => {
                            if let Ok(size) = v.parse::<u64>() {
                                content.length = Some(size);
                            }
                        }
                        _ => {}
                    }
                }
                self.media_content = Some(content);
                return Some(Frame::MediaContent);
            }
            "group" => return None,
            "title" | "description" => {
                if !matches!(attr(e, "type")?.as_deref(), None | Some("plain" | "html")) {
                    return None;
                }
                self.pending = Some((Field::MediaText, None));
            }
            "text" | "thumbnail" => {
                // Times are read with unchecked arithmetic.
                let long_number = attrs(e)?.iter().any(|(_, v)| {
                    v.split(|c: char| !c.is_ascii_digit())
                        .any(|run| run.len() > 12)
                });
                if long_number {
                    return None;
                }
            }
            _ => {}
        }
        Some(Frame::Skip)
    }

    fn atom_feed_child(&mut self, ns: Ns, local: &str, e: &Attrs) -> Option<Frame> {
        if ns != Ns::Atom {
            return Some(Frame::Skip);
        }
        let field = match local {
            "title" => Field::AtomText(AtomTextField::FeedTitle, atom_text_kind(e)??),
            "subtitle" => Field::AtomText(AtomTextField::FeedSubtitle, atom_text_kind(e)??),
            "rights" => Field::AtomText(AtomTextField::Rights, atom_text_kind(e)??),
            "updated" => Field::Ignored,
            "id" => Field::Ignored,
            "icon" => Field::AtomIcon,
            "logo" => Field::AtomLogo,
            "author" | "contributor" => {
                self.person = Person::default();
                return Some(Frame::AtomPerson((local == "author").then_some(true)));
            }
            "link" => {
                let link = atom_link(e, self.bases.last().map(|(_, u)| u).or(self.base))?;
                self.links.extend(link);
                return Some(Frame::Skip);
            }
            "entry" => {
                self.entry = Some(Entry::default());
                return Some(Frame::AtomEntry);
            }
            _ => return Some(Frame::Skip),
        };
        self.expect_text(field);
        Some(Frame::Skip)
    }

    /// The element just started holds `field`: its text (or, for XHTML,
    /// its serialized content) is collected until it is complete.
    fn expect_text(&mut self, field: Field) {
        match field {
            Field::AtomText(which, TextKind::Xhtml) => self.xhtml = Some(Xhtml::new(which)),
            field => self.pending = Some((field, None)),
        }
    }

    fn atom_entry_child(&mut self, ns: Ns, local: &str, e: &Attrs) -> Option<Frame> {
        let field = match (ns, local) {
            (Ns::Atom, "id") => Field::AtomId,
            (Ns::Atom, "title") => Field::AtomText(AtomTextField::EntryTitle, atom_text_kind(e)??),
            (Ns::Atom, "summary") => {
                Field::AtomText(AtomTextField::EntrySummary, atom_text_kind(e)??)
            }
            (Ns::Atom, "content") => {
                Field::AtomText(AtomTextField::EntryContent, atom_text_kind(e)??)
            }
            (Ns::Atom, "rights") => Field::AtomText(AtomTextField::Rights, atom_text_kind(e)??),
            (Ns::Atom, "updated") => Field::AtomUpdated,
            (Ns::Atom, "published" | "pubDate") => Field::AtomPublished,
            (Ns::Atom, "author" | "contributor") => {
                self.person = Person::default();
                return Some(Frame::AtomPerson((local == "author").then_some(false)));
            }
            (Ns::Atom, "link") => {
                let link = atom_link(e, self.bases.last().map(|(_, u)| u).or(self.base))?;
                if let Some(entry) = self.entry.as_mut() {
                    entry.links.extend(link);
                }
                return Some(Frame::Skip);
            }
            (Ns::Atom, "category") => {
                let term = attr(e, "term")?;
                let label = attr(e, "label")?;
                if let (Some(term), Some(entry)) = (term, self.entry.as_mut()) {
                    entry
                        .raw
                        .categories
                        .push(label.unwrap_or_else(|| term.trim().to_string()));
                }
                return Some(Frame::Skip);
            }
            (Ns::MediaRss, _) => return self.media_child(local, e),
            _ => return Some(Frame::Skip),
        };
        self.expect_text(field);
        Some(Frame::Skip)
    }

    /// Stores the text of a field, as feed-rs would.
    fn apply(&mut self, field: Field, text: Option<String>, child_start: bool) -> Option<()> {
        let base = self.bases.last().map(|(_, u)| u).or(self.base);
        let entry = self.entry.as_mut();
        match field {
            Field::ChannelTitle => {
                self.feed.title = text.map(|t| RawText::new(TextKind::MaybeHtml, trim_owned(t)))
            }
            Field::ChannelDescription => {
                self.feed.description =
                    text.map(|t| RawText::new(TextKind::MaybeHtml, trim_owned(t)))
            }
            Field::ChannelLanguage => self.feed.language = text.map(|t| t.to_lowercase()),
            Field::RdfLanguage => self.feed.language = text,
            Field::RdfContent => {
                entry?.raw.content = text.map(|t| RawText::new(TextKind::Html, trim_owned(t)));
            }
            Field::RdfDcDescription => {
                let entry = entry?;
                if entry.raw.summary.is_none() {
                    entry.raw.summary = text.map(|t| RawText::new(TextKind::Html, trim_owned(t)));
                }
            }
            Field::ChannelLink => {
                if let Some(t) = text {
                    self.links.push(Link {
                        href: link_href(&t, base),
                        rel: None,
                        media_type: None,
                        length: None,
                    });
                }
            }
            Field::ChannelEditor => {
                if let Some(t) = text {
                    self.editors.push(person(&t)?);
                }
            }
            Field::ChannelItunesAuthor => {
                if let Some(t) = text {
                    self.feed.authors.push(person(&t)?);
                }
            }
            Field::ChannelTtl => {
                if let Some(ttl) = text.and_then(|t| t.parse::<u32>().ok()) {
                    self.feed.ttl_minutes = Some(ttl);
                }
            }
            Field::ImageUrl => {
                if let Some(t) = text {
                    self.image_url = t;
                }
            }
            Field::ItemTitle => {
                let entry = entry?;
                entry.raw.title = text.map(|t| RawText::new(TextKind::MaybeHtml, trim_owned(t)));
            }
            Field::ItemLink => {
                if let (Some(t), Some(entry)) = (text, entry) {
                    entry.links.push(Link {
                        href: link_href(&t, base),
                        rel: None,
                        media_type: None,
                        length: None,
                    });
                }
            }
            Field::ItemDescription => {
                let entry = entry?;
                entry.raw.summary = text.map(|t| RawText::new(TextKind::Html, trim_owned(t)));
            }
            Field::ItemAuthor => {
                if let (Some(t), Some(entry)) = (text, entry) {
                    entry.raw.authors.push(person(&t)?);
                }
            }
            Field::ItemCategory => {
                if let (Some(t), Some(entry)) = (text, entry) {
                    entry.raw.categories.push(trim_owned(t));
                }
            }
            Field::ItemGuid => {
                if let (Some(t), Some(entry)) = (text, entry) {
                    entry.id = Some(trim_owned(t));
                }
            }
            Field::ItemPublished => entry?.published = text,
            Field::ItemUpdated => entry?.updated = text,
            Field::ItemContent => {
                entry?.raw.content = text
                    .filter(|t| !t.is_empty())
                    .map(|t| RawText::new(TextKind::Html, t));
            }
            Field::AtomText(which, kind) => {
                // feed-rs serializes the children when there is no text
                // before the first one: not modelled here.
                let value = match text {
                    Some(t) => t,
                    None if child_start => return None,
                    None => String::new(),
                };
                return self.store_atom_text(which, RawText::new(kind, trim_owned(value)));
            }
            Field::AtomId => {
                if let (Some(t), Some(entry)) = (text, entry) {
                    entry.id = Some(t);
                }
            }
            Field::AtomUpdated => {
                if let (Some(t), Some(entry)) = (text, entry) {
                    entry.updated = Some(t);
                }
            }
            Field::AtomPublished => {
                if let (Some(t), Some(entry)) = (text, entry) {
                    entry.published = Some(t);
                }
            }
            Field::AtomIcon => self.icon = text.map(|t| image_uri(t, base)),
            Field::AtomLogo => self.logo = text.map(|t| image_uri(t, base)),
            Field::PersonName => {
                if text.is_some() {
                    self.person.name = text;
                }
            }
            Field::PersonEmail => self.person.email = text,
            Field::FullItem => {
                if text.is_none() && !child_start {
                    // `<fullitem/>` is not renamed, `<fullitem></fullitem>` is.
                    return None;
                }
                entry?.raw.content = text
                    .filter(|t| !t.is_empty())
                    .map(|t| RawText::new(TextKind::Html, t));
            }
            Field::ItunesDuration => {
                let longest_number = text
                    .as_deref()
                    .unwrap_or("")
                    .split(|c: char| !c.is_ascii_digit())
                    .map(str::len)
                    .max();
                if longest_number.unwrap_or(0) > 12 {
                    return None;
                }
            }
            Field::Renamed(to) => {
                let entry = entry?;
                let empty = text.is_none() && !child_start;
                if empty && to == Renamed::Category {
                    return None;
                }
                entry.renamed_empty |= empty;
                match to {
                    Renamed::Category => {
                        if let Some(t) = text {
                            entry.raw.categories.push(trim_owned(t));
                        }
                    }
                    Renamed::Title => entry.renamed_title = Some(text),
                    Renamed::DcDescription => entry.renamed_dc_description = Some(text),
                    Renamed::ItunesSummary => entry.renamed_itunes_summary = Some(text),
                    Renamed::Author => {
                        if let Some(t) = text {
                            entry.renamed_authors.push(person(&t)?);
                        }
                    }
                    Renamed::Language | Renamed::ItunesSubtitle => return None,
                }
            }
            Field::ChannelRenamed(to) => {
                let r = &mut self.channel_renamed;
                r.empty |= text.is_none() && !child_start;
                match to {
                    Renamed::Author => r.first_person = Some(text),
                    Renamed::Language => r.language = Some(text),
                    Renamed::Title => r.title = Some(text),
                    Renamed::DcDescription => r.dc_description = Some(text),
                    Renamed::ItunesSummary => r.itunes_summary = Some(text),
                    Renamed::ItunesSubtitle => r.itunes_subtitle = Some(text),
                    Renamed::Category => return None,
                }
            }
            Field::PersonCheck => {
                if let Some(t) = text {
                    person(&t)?;
                }
            }
            Field::MediaText => {
                text?;
            }
            Field::Ignored => {}
        }
        Some(())
    }

    fn store_atom_text(&mut self, which: AtomTextField, value: RawText) -> Option<()> {
        match which {
            AtomTextField::FeedTitle => self.feed.title = Some(value),
            AtomTextField::FeedSubtitle => self.feed.description = Some(value),
            AtomTextField::Rights => {}
            AtomTextField::EntryTitle => self.entry.as_mut()?.raw.title = Some(value),
            AtomTextField::EntrySummary => self.entry.as_mut()?.raw.summary = Some(value),
            AtomTextField::EntryContent => self.entry.as_mut()?.raw.content = Some(value),
        }
        Some(())
    }

    fn end(&mut self, qname: &str) -> Option<()> {
        self.flush(false)?;
        if let Some(x) = self.xhtml.as_mut() {
            if x.depth > 0 {
                let mut local = qname.rsplit(':').next().unwrap_or(qname);
                if self.format == Some(FeedFormat::Atom03) && local.len() == qname.len() {
                    local = atom03_rename(local).unwrap_or(local);
                }
                x.end(local);
                return Some(());
            }
            let x = self.xhtml.take()?;
            let field = x.field;
            let value = RawText::new(TextKind::Xhtml, trim_owned(x.finish()));
            self.store_atom_text(field, value)?;
        }
        if self.dropping == Some(self.stack.len()) {
            self.dropping = None;
        }
        let frame = self.stack.pop()?;
        while self
            .bases
            .last()
            .is_some_and(|(d, _)| *d > self.stack.len())
        {
            self.bases.pop();
        }
        match frame {
            Frame::RssRoot | Frame::AtomFeed | Frame::RdfRoot => self.done = true,
            Frame::RdfChannel => {}
            Frame::RdfItem => {
                let mut entry = self.entry.take()?;
                if !entry.has_link_element
                    && let Some(about) = entry.about.take()
                {
                    // `<item rdf:about="x"/>` and `<item rdf:about="x"></item>`
                    // look the same here, not to the adapter.
                    if !entry.has_content {
                        return None;
                    }
                    if about.is_empty() {
                        // The adapter's `<link></link>` has no text: feed-rs
                        // reads no link from it.
                    } else if about.trim().is_empty() {
                        // Whitespace: not modelled.
                        return None;
                    } else {
                        let href = link_href(&about, entry.xml_base.as_ref().or(self.base));
                        entry.links.insert(
                            0,
                            Link {
                                href,
                                rel: None,
                                media_type: None,
                                length: None,
                            },
                        );
                    }
                }
                // feed-rs drops RSS 1.0 items without a link.
                if !entry.links.is_empty() {
                    self.finish_entry(entry, false);
                }
            }
            Frame::Channel => {
                self.apply_channel_renames()?;
                if self.stack.is_empty() {
                    // The root, read as the channel: `<rss/>` (which the
                    // adapter does not wrap) and `<rss></rss>` look the same.
                    if !self.wrapped_content {
                        return None;
                    }
                    self.done = true;
                }
            }
            Frame::Image => {
                self.logo = Some(std::mem::take(&mut self.image_url)).filter(|u| !u.is_empty());
            }
            Frame::Item => {
                let mut entry = self.entry.take()?;
                self.apply_renames(&mut entry)?;
                self.finish_entry(entry, true);
            }
            Frame::AtomEntry => {
                let entry = self.entry.take()?;
                self.finish_entry(entry, false);
            }
            Frame::AtomPerson(owner) => {
                let p = std::mem::take(&mut self.person);
                if let Some(feed_level) = owner
                    && (p.name.is_some() || p.email.is_some())
                {
                    let person = RawPerson {
                        name: p.name,
                        email: p.email,
                    };
                    match (feed_level, self.entry.as_mut()) {
                        (true, _) => self.feed.authors.push(person),
                        (false, Some(entry)) => entry.raw.authors.push(person),
                        (false, None) => return None,
                    }
                }
            }
            Frame::MediaContent => {
                let MediaContent {
                    url,
                    mime_type,
                    length,
                    ..
                } = self.media_content.take()?;
                if let (Some(url), Some(entry)) = (url, self.entry.as_mut()) {
                    entry.media.push(RawEnclosure {
                        url: url.to_string(),
                        mime_type,
                        length,
                    });
                }
            }
            Frame::ItemBody => {
                // `<body/>` (the reader saw no text between the tags) is
                // left alone; otherwise the source between the tags, as a
                // CDATA section, unless it holds CDATA markers.
                if self.entities != self.entities_before_body {
                    // The repair pass changed the source held as content.
                    return None;
                }
                if self.pos > self.body_start {
                    let inner_end = self.text.get(..self.pos)?.rfind("</")?;
                    let inner = self.text.get(self.body_start..inner_end)?;
                    if !inner.contains("]]>") && !inner.contains("<![CDATA[") {
                        self.entry.as_mut()?.raw.content =
                            (!inner.is_empty()).then(|| RawText::new(TextKind::Html, inner));
                    }
                }
            }
            Frame::ItunesOwner | Frame::Skip => {}
        }
        Some(())
    }

    /// The adapter's `dublin_core_edits` for an item, applied to what was
    /// read: the renamed children as feed-rs would then read them.
    fn apply_renames(&mut self, entry: &mut Entry) -> Option<()> {
        use seen::*;
        let s = entry.seen;
        let has = |f: u32| s & f != 0;
        let title = (!has(TITLE)).then(|| entry.renamed_title.take()).flatten();
        let summary = if has(DESCRIPTION) {
            None
        } else {
            entry
                .renamed_dc_description
                .take()
                .or_else(|| entry.renamed_itunes_summary.take())
        };
        let authors = !has(AUTHOR) && !has(DC_CREATOR) && !entry.renamed_authors.is_empty();
        let renamed = title.is_some() || summary.is_some() || authors || has(CATEGORY_RENAME);
        if !renamed {
            return Some(());
        }
        // A renamed element takes the default namespace in scope, and an
        // empty one may not have been renamed at all.
        if self.declares_default_namespace()
            || (entry.renamed_empty && (title.is_some() || summary.is_some()))
        {
            return None;
        }
        if let Some(title) = title {
            entry.raw.title = title.map(|t| RawText::new(TextKind::MaybeHtml, trim_owned(t)));
        }
        if let Some(summary) = summary {
            entry.raw.summary = summary.map(|t| RawText::new(TextKind::Html, trim_owned(t)));
        }
        if authors {
            entry.raw.authors = std::mem::take(&mut entry.renamed_authors);
        }
        Some(())
    }

    /// The adapter's `convert` for one entry.
    fn finish_entry(&mut self, entry: Entry, rss: bool) {
        let Entry {
            mut raw,
            media,
            id,
            links,
            published,
            updated,
            ..
        } = entry;
        raw.id = id.map(trim_owned).filter(|id| !id.is_empty());
        raw.id_may_be_link = rss;
        raw.published = published;
        raw.updated = updated;
        for link in links {
            let href = link.href.trim();
            if href.is_empty() {
                continue;
            }
            let rel = link.rel.unwrap_or_else(|| "alternate".into());
            if rel.eq_ignore_ascii_case("enclosure") {
                raw.enclosures.push(RawEnclosure {
                    url: href.to_string(),
                    mime_type: link.media_type,
                    length: link.length,
                });
            } else {
                raw.links.push(RawLink {
                    href: href.to_string(),
                    rel,
                    media_type: link.media_type,
                });
            }
        }
        if !media.is_empty() {
            if rss {
                // feed-rs merges the RSS enclosures into the Media RSS
                // object, which keeps its own contents.
                raw.enclosures = media;
            } else {
                raw.enclosures.extend(media);
            }
        }
        self.feed.entries.push(raw);
    }

    fn finish(mut self) -> Option<RawFeed> {
        if self.entities > 0 {
            // The repair pass's warning comes before the adapter's.
            let warning = super::recover::entities_warning(self.entities, &self.first_entity);
            self.feed.warnings.insert(0, warning);
        }
        if !self.done || !self.stack.is_empty() || self.pending.is_some() {
            return None;
        }
        let format = self.format?;
        let rss = !matches!(
            format,
            FeedFormat::Atom10 | FeedFormat::Atom03 | FeedFormat::Rss10 | FeedFormat::Rss090
        );
        if rss && !self.channel_found {
            return None;
        }
        self.feed.format = format;
        self.feed.icon = self.logo.or(self.icon);
        self.feed
            .set_feed_links(self.links.iter().map(|l| FeedLink {
                rel: l.rel.as_deref(),
                media_type: l.media_type.as_deref(),
                href: &l.href,
                may_be_home: true,
            }));
        if self.feed.authors.is_empty() {
            self.feed.authors = self.editors;
        }
        if matches!(format, FeedFormat::Rss10 | FeedFormat::Rss090) {
            // The rdf:about of an RSS 1.0 item is its identifier.
            if self.abouts.len() == self.feed.entries.len() {
                for (entry, about) in self.feed.entries.iter_mut().zip(self.abouts) {
                    if entry.id.is_none() {
                        entry.id = about.filter(|a| !a.trim().is_empty());
                    }
                }
            }
            return Some(self.feed);
        }
        // Explicit xml:base per entry, found as the adapter finds it.
        if self
            .has_xml_base
            .unwrap_or_else(|| self.text.contains("xml:base"))
        {
            let layout = if rss {
                EntryLayout::Rss
            } else {
                EntryLayout::Atom
            };
            let bases = entry_bases(self.text, layout, self.base);
            if bases.len() == self.feed.entries.len() {
                for (entry, bases) in self.feed.entries.iter_mut().zip(bases) {
                    entry.summary_base = bases.summary.or_else(|| bases.entry.clone());
                    entry.content_base = bases.content.or(bases.entry);
                }
            }
        }
        Some(self.feed)
    }
}

/// An XHTML text construct serialized as feed-rs's `children_as_xhtml`
/// does: local element names, attributes as read (unescaped, in double
/// quotes), text with `<`, `&` and CR escaped; a lone top-level `<div>`
/// is unwrapped.
struct Xhtml {
    field: AtomTextField,
    /// Depth below the text construct.
    depth: usize,
    out: String,
    first_element: bool,
    div_open: Option<usize>,
    div_close: Option<usize>,
}

impl Xhtml {
    fn new(field: AtomTextField) -> Xhtml {
        Xhtml {
            field,
            depth: 0,
            out: String::new(),
            first_element: true,
            div_open: None,
            div_close: None,
        }
    }

    fn start(&mut self, local: &str, attrs: &[(String, String)]) {
        if self.depth == 0 {
            if self.first_element {
                if local != "div" {
                    self.first_element = false;
                }
            } else {
                self.div_open = None;
                self.div_close = None;
            }
        }
        self.depth += 1;
        self.out.push('<');
        self.out.push_str(local);
        for (name, value) in attrs {
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            self.out.push_str(value);
            self.out.push('"');
        }
        self.out.push('>');
        if self.first_element {
            self.first_element = false;
            self.div_open = Some(self.out.len());
        }
    }

    fn text(&mut self, t: &str) {
        if self.depth == 0 && t.bytes().any(|c| !c.is_ascii_whitespace()) {
            self.first_element = false;
            self.div_open = None;
            self.div_close = None;
        }
        self.out.push_str(&quick_xml::escape::minimal_escape(t));
    }

    fn end(&mut self, local: &str) {
        self.depth = self.depth.saturating_sub(1);
        let close_start = self.out.len();
        self.out.push_str("</");
        self.out.push_str(local);
        self.out.push('>');
        if self.depth == 0 && self.div_open.is_some() {
            self.div_close = Some(close_start);
        }
    }

    fn finish(self) -> String {
        match (self.div_open, self.div_close) {
            (Some(open), Some(close)) => self.out.get(open..close).unwrap_or("").to_string(),
            _ => self.out,
        }
    }
}

/// XML name characters as the repair pass knows them (ASCII only).
fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}')
}

/// The value of a reference.
#[derive(Clone, Copy)]
enum Resolved {
    Str(&'static str),
    Char(char),
}

/// A reference the repair pass leaves as it is and quick-xml resolves the
/// same way: a predefined entity, or `&#N;` / `&#xH;` to an allowed
/// character. Its value.
fn resolve_reference(name: &str) -> Option<Resolved> {
    match name {
        "amp" => return Some(Resolved::Str("&")),
        "lt" => return Some(Resolved::Str("<")),
        "gt" => return Some(Resolved::Str(">")),
        "quot" => return Some(Resolved::Str("\"")),
        "apos" => return Some(Resolved::Str("'")),
        _ => {}
    }
    let num = name.strip_prefix('#')?;
    let code = match num.strip_prefix('x') {
        Some(hex)
            if !hex.is_empty() && hex.len() <= 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            u32::from_str_radix(hex, 16).ok()?
        }
        Some(_) => return None,
        None if !num.is_empty() && num.len() <= 8 && num.bytes().all(|b| b.is_ascii_digit()) => {
            num.parse().ok()?
        }
        None => return None,
    };
    char::from_u32(code)
        .filter(|c| is_xml_char(*c))
        .map(Resolved::Char)
}

/// Every `&` in `raw` (a tag's attributes) starts a reference that
/// [`resolve_reference`] accepts.
fn references_ok(raw: &str) -> bool {
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        let after = rest.get(at + 1..).unwrap_or("");
        let Some(end) = after.find(';') else {
            return false;
        };
        let name = after.get(..end).unwrap_or("");
        if name.len() > 30 || resolve_reference(name).is_none() {
            return false;
        }
        rest = after.get(end + 1..).unwrap_or("");
    }
    true
}

/// A start tag's attributes, read once when the tag starts: (qualified
/// name, value as written, still escaped), in order. Reading them once,
/// instead of once per lookup, matters: a tag's attributes are looked up
/// several times.
struct Attrs<'e> {
    head: [(&'e str, &'e str); Attrs::IN_PLACE],
    len: usize,
    /// Those after the first [`Attrs::IN_PLACE`] (rare).
    rest: Vec<(&'e str, &'e str)>,
}

impl<'e> Attrs<'e> {
    const IN_PLACE: usize = 16;

    /// The attributes of `e`, when every one is well formed (and named like
    /// an ASCII XML name) and none is repeated, as quick-xml's checked
    /// iteration says; without the `Vec`
    /// of names that check allocates (names are compared in place), but
    /// with its own check on tags with many attributes (where comparing
    /// each name with all before it would be quadratic).
    fn read(e: &'e BytesStart<'_>) -> Option<Attrs<'e>> {
        let mut attrs = Attrs {
            head: [("", ""); Attrs::IN_PLACE],
            len: 0,
            rest: Vec::new(),
        };
        for a in e.attributes().with_checks(false) {
            let a = a.ok()?;
            let std::borrow::Cow::Borrowed(value) = a.value else {
                return None;
            };
            let name = a.key.into_inner();
            // quick-xml reads `<rss =version="2.0">` as an attribute with
            // an empty name; the adapter's tag scanner does not.
            if !name.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
                || !name.bytes().all(is_name_char)
            {
                return None;
            }
            let (before, after) = attrs.head.split_at_mut(attrs.len.min(Attrs::IN_PLACE));
            match after.first_mut() {
                Some(slot) => {
                    if before.iter().any(|(n, _)| *n == name) {
                        return None;
                    }
                    *slot = (name, value);
                }
                None => attrs.rest.push((name, value)),
            }
            attrs.len += 1;
        }
        if !attrs.rest.is_empty() && !e.attributes().all(|a| a.is_ok()) {
            return None;
        }
        Some(attrs)
    }

    fn iter(&self) -> impl Iterator<Item = (&'e str, &'e str)> + '_ {
        self.head
            .get(..self.len.min(Attrs::IN_PLACE))
            .unwrap_or_default()
            .iter()
            .chain(&self.rest)
            .copied()
    }

    /// The attribute `name` as written (still escaped).
    fn raw(&self, name: &str) -> Option<&'e str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// The attribute `name`, unescaped as feed-rs does; `Err`-like `None` on
/// a value quick-xml cannot unescape (the outer `Option`).
fn attr(e: &Attrs, name: &str) -> Option<Option<String>> {
    match e.raw(name) {
        Some(raw) => Some(Some(quick_xml::escape::unescape(raw).ok()?.into_owned())),
        None => Some(None),
    }
}

/// All attributes (name, unescaped value); `None` on a value quick-xml
/// cannot unescape.
fn attrs(e: &Attrs) -> Option<Vec<(String, String)>> {
    e.iter()
        .map(|(key, raw)| {
            let value = quick_xml::escape::unescape(raw).ok()?;
            Some((key.to_string(), value.into_owned()))
        })
        .collect()
}

/// feed-rs `Link::new`: resolved against the base when relative, the text
/// as is when it is no URL; trimmed.
fn link_href(href: &str, base: Option<&Url>) -> String {
    if super::plain_url::is_canonical_http(href) {
        // What the parser would write back.
        return href.to_string();
    }
    match parse_uri(href, base) {
        Some(url) => trim_owned(url.to_string()),
        None => href.trim().to_string(),
    }
}

/// feed-rs `parse_uri`.
fn parse_uri(uri: &str, base: Option<&Url>) -> Option<Url> {
    match Url::parse(uri) {
        Ok(url) => Some(url),
        Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(uri).ok(),
        Err(_) => None,
    }
}

/// An Atom `icon`/`logo` as feed-rs reads it.
fn image_uri(raw: String, base: Option<&Url>) -> String {
    parse_uri(&raw, base).map_or(raw, |u| u.to_string())
}

/// feed-rs `Person::parse`: an e-mail address (found with feed-rs's own
/// expression) is split out, the longer of the texts before and after it
/// is the name. Declines where feed-rs would panic (it slices the text one
/// byte off the address, which may split a character).
fn person(raw: &str) -> Option<RawPerson> {
    if !raw.contains('@') {
        return Some(RawPerson {
            name: Some(raw.trim().to_string()),
            email: None,
        });
    }
    static EMAIL: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let email_re = EMAIL
        .get_or_init(|| {
            regex::Regex::new(
                r"\b(<\[\()?(mailto:)?([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})(>]\))?\b",
            )
            .ok()
        })
        .as_ref()?;
    let Some(captures) = email_re.captures(raw) else {
        return Some(RawPerson {
            name: Some(raw.trim().to_string()),
            email: None,
        });
    };
    let whole = captures.get(0)?;
    let email = captures.get(3)?.as_str().trim().to_string();
    let before = whole.start();
    let after = raw.len().checked_sub(whole.end())?;
    let name = if before > after {
        raw.get(..before.checked_sub(1)?)?
    } else if whole.end() < raw.len() {
        raw.get(whole.end() + 1..)?
    } else {
        ""
    }
    .trim();
    Some(RawPerson {
        name: (!name.is_empty()).then(|| name.to_string()),
        email: Some(email),
    })
}

/// An Atom `<link>` (feed-rs `atom::handle_link`); `Some(None)` without
/// `href`.
fn atom_link(e: &Attrs, base: Option<&Url>) -> Option<Option<Link>> {
    let attrs = attrs(e)?;
    let Some((_, href)) = attrs.iter().find(|(k, _)| k == "href") else {
        return Some(None);
    };
    let mut link = Link {
        href: link_href(href, base),
        rel: None,
        media_type: None,
        length: None,
    };
    for (k, v) in &attrs {
        match k.as_str() {
            "rel" => link.rel = Some(v.clone()),
            "type" => link.media_type = Some(v.clone()),
            "length" => link.length = v.parse().ok(),
            _ => {}
        }
    }
    if link.rel.is_none() {
        link.rel = Some("alternate".into());
    }
    Some(Some(link))
}

/// An RSS `<enclosure>` (feed-rs `handle_enclosure`); `Some(None)` when it
/// has no usable URL.
fn enclosure(e: &Attrs, base: Option<&Url>) -> Option<Option<RawEnclosure>> {
    let mut url = None;
    let mut length = None;
    let mut mime_type = None;
    for (k, v) in attrs(e)? {
        match k.as_str() {
            "url" => url = parse_uri(&v, base),
            "length" => length = v.parse::<u64>().ok(),
            "type" => mime_type = media_type(&v)?,
            _ => {}
        }
    }
    Some(url.map(|url| RawEnclosure {
        url: url.to_string(),
        mime_type,
        length,
    }))
}

/// A media type as feed-rs's `MediaTypeBuf` round trip gives it, for the
/// plain `type/subtype` form; `Some(None)` for the empty string (which it
/// rejects), `None` (decline) for anything else.
fn media_type(value: &str) -> Option<Option<String>> {
    if value.is_empty() {
        return Some(None);
    }
    let (ty, sub) = value.split_once('/')?;
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    };
    (name_ok(ty) && name_ok(sub)).then(|| Some(value.to_string()))
}

/// The kind of an Atom text construct as the adapter's `atom_edits` sets
/// its `type` (`text/html` becomes `html`, other `text/*` `text`); `None`
/// inside (declined by the caller, or dropped: see
/// [`atom_text_construct`]) for the types it does not read; the outer
/// `None` on malformed attributes or references in the type.
fn atom_text_kind(e: &Attrs) -> Option<Option<TextKind>> {
    let Some(declared) = raw_attr(e, "type")? else {
        return Some(Some(TextKind::Plain));
    };
    if declared.contains('&') {
        return None;
    }
    Some(match declared.trim().to_ascii_lowercase().as_str() {
        "text" | "text/plain" | "" => Some(TextKind::Plain),
        "html" | "text/html" => Some(TextKind::Html),
        "xhtml" | "application/xhtml+xml" => Some(TextKind::Xhtml),
        t if t.starts_with("text/") => Some(TextKind::Plain),
        _ => None,
    })
}

/// What the adapter's `atom_edits` does with an unprefixed element.
enum TextConstruct {
    /// Not a text construct, or one it leaves to feed-rs (possibly with a
    /// canonical `type`).
    Read,
    /// Renamed so that feed-rs ignores it: `src`, or a type it cannot read
    /// (with the warning it gives then).
    Dropped(Option<String>),
}

/// The adapter's `atom_edits` for an unprefixed element: text constructs
/// with `src` or a type it does not read are dropped (with a warning when
/// there is no `src`); base64 ones are decoded (declined).
fn atom_text_construct(local: &str, e: &Attrs) -> Option<TextConstruct> {
    if !matches!(
        local,
        "title" | "subtitle" | "summary" | "rights" | "content"
    ) {
        return Some(TextConstruct::Read);
    }
    if raw_attr(e, "mode")?.is_some_and(|m| m.contains('&') || m.trim() == "base64") {
        return None;
    }
    let declared = raw_attr(e, "type")?;
    if declared.as_deref().is_some_and(|t| t.contains('&')) {
        return None;
    }
    if raw_attr(e, "src")?.is_some() {
        return Some(TextConstruct::Dropped(None));
    }
    let Some(declared) = declared else {
        return Some(TextConstruct::Read);
    };
    let lower = declared.trim().to_ascii_lowercase();
    if lower.contains('/') && !lower.starts_with("text/") && !lower.ends_with("xml") {
        // Base64 content (or, when empty, a renamed one): not modelled.
        return None;
    }
    if atom_text_kind(e)?.is_some() {
        return Some(TextConstruct::Read);
    }
    Some(TextConstruct::Dropped(Some(format!(
        "ignored <{local}> of type `{declared}`"
    ))))
}

/// The `rdf:about` (or `about`) of an item, as both of the adapter's scans
/// read it; `None` (decline) when they could differ: several `about`
/// attributes, references in the value.
fn rdf_about(e: &Attrs) -> Option<Option<String>> {
    let mut found = None;
    for (key, value) in e.iter() {
        if key.rsplit(':').next() == Some("about") {
            if found.is_some()
                || !matches!(key, "rdf:about" | "about")
                || value.contains(['&', '<'])
            {
                return None;
            }
            found = Some(value.to_string());
        }
    }
    Some(found)
}

/// The attribute `name` as written (still escaped); the outer `Option` is
/// always `Some` (kept for the callers' `?`).
fn raw_attr(e: &Attrs, name: &str) -> Option<Option<String>> {
    Some(e.raw(name).map(str::to_string))
}

/// `s.trim()` as an owned string, without copying when there is nothing to
/// trim (the common case).
fn trim_owned(s: String) -> String {
    let trimmed = s.trim();
    if trimmed.len() == s.len() {
        s
    } else {
        trimmed.to_string()
    }
}

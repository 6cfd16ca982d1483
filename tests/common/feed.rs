//! The one feed builder of the tests: RSS 2.0 and Atom documents with the
//! items, dates and channel extras a test asks for. Text goes in as given
//! (XML already escaped where it needs to be), so a test can put markup,
//! entities or odd bytes exactly where it wants them.
//!
//! Fixture dates are real dates with their real weekdays ([`fixture_day`],
//! [`at`]): "Mon, 0{i} Mar 2026" once named days that were no Monday.

use chrono::{DateTime, TimeZone, Utc};

/// `year-month-day` `hour`:00:00 UTC.
pub fn at(year: i32, month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, 0, 0).unwrap()
}

/// `i` minutes after `year-month-day` `hour`:00 UTC: item `i` of a fixture
/// feed (a real date with its real weekday, in the past however many items).
pub fn fixture_day(year: i32, month: u32, day: u32, i: usize, hour: u32) -> DateTime<Utc> {
    at(year, month, day, hour) + chrono::Duration::minutes(i as i64)
}

/// One item (RSS) or entry (Atom).
#[derive(Clone, Debug, Default)]
pub struct Item {
    pub guid: String,
    /// `isPermaLink="false"` on the RSS guid.
    pub not_permalink: bool,
    pub title: Option<String>,
    pub link: Option<String>,
    /// RSS `<description>`, Atom `<content type="html">`: raw XML text.
    pub description: Option<String>,
    /// RSS `<pubDate>` (RFC 2822), Atom `<updated>` (RFC 3339).
    pub date: Option<DateTime<Utc>>,
    /// Raw XML added at the end of the item.
    pub extra: String,
}

impl Item {
    /// An item with this guid (Atom id) and title, nothing else.
    pub fn new(guid: &str, title: &str) -> Item {
        Item {
            guid: guid.to_string(),
            title: Some(title.to_string()),
            ..Item::default()
        }
    }

    /// An item with this guid and no title.
    pub fn untitled(guid: &str) -> Item {
        Item {
            guid: guid.to_string(),
            ..Item::default()
        }
    }

    pub fn link(mut self, link: &str) -> Item {
        self.link = Some(link.to_string());
        self
    }

    pub fn description(mut self, text: &str) -> Item {
        self.description = Some(text.to_string());
        self
    }

    pub fn date(mut self, date: DateTime<Utc>) -> Item {
        self.date = Some(date);
        self
    }

    pub fn not_permalink(mut self) -> Item {
        self.not_permalink = true;
        self
    }

    pub fn extra(mut self, xml: &str) -> Item {
        self.extra.push_str(xml);
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    Rss,
    Atom,
}

/// A feed document being built; [`Feed::render`] gives its text.
#[derive(Clone, Debug)]
pub struct Feed {
    format: Format,
    /// The XML declaration's encoding; `None` for no declaration.
    encoding: Option<String>,
    title: String,
    link: String,
    description: String,
    /// Atom: the feed's id and updated.
    id: String,
    updated: String,
    /// Namespace declarations on the root element.
    xmlns: String,
    /// Raw XML at the head of the channel (Atom: the feed), after its
    /// title, link and description.
    channel: String,
    items: Vec<Item>,
}

impl Feed {
    /// An RSS 2.0 channel with this title and link (description "d").
    pub fn rss(title: &str, link: &str) -> Feed {
        Feed {
            format: Format::Rss,
            encoding: Some("UTF-8".into()),
            title: title.to_string(),
            link: link.to_string(),
            description: "d".into(),
            id: String::new(),
            updated: String::new(),
            xmlns: String::new(),
            channel: String::new(),
            items: Vec::new(),
        }
    }

    /// An Atom feed with this title, id and alternate link, updated 5 March
    /// 2026.
    pub fn atom(title: &str, id: &str, link: &str) -> Feed {
        Feed {
            format: Format::Atom,
            encoding: Some("utf-8".into()),
            id: id.to_string(),
            updated: "2026-03-05T00:00:00Z".into(),
            ..Feed::rss(title, link)
        }
    }

    pub fn description(mut self, text: &str) -> Feed {
        self.description = text.to_string();
        self
    }

    /// The XML declaration's encoding (`None`: a declaration without one).
    pub fn encoding(mut self, encoding: Option<&str>) -> Feed {
        self.encoding = encoding.map(str::to_string);
        self
    }

    /// A namespace declaration on the root element, e.g.
    /// `xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"`.
    pub fn xmlns(mut self, declaration: &str) -> Feed {
        self.xmlns.push(' ');
        self.xmlns.push_str(declaration);
        self
    }

    /// Raw XML in the channel head (`<ttl>`, `<skipHours>`, ...).
    pub fn channel(mut self, xml: &str) -> Feed {
        self.channel.push_str(xml);
        self
    }

    pub fn item(mut self, item: Item) -> Feed {
        self.items.push(item);
        self
    }

    pub fn items(mut self, items: impl IntoIterator<Item = Item>) -> Feed {
        self.items.extend(items);
        self
    }

    pub fn render(&self) -> String {
        let mut xml = match &self.encoding {
            Some(encoding) => format!("<?xml version=\"1.0\" encoding=\"{encoding}\"?>\n"),
            None => "<?xml version=\"1.0\"?>\n".to_string(),
        };
        match self.format {
            Format::Rss => {
                xml.push_str(&format!(
                    "<rss version=\"2.0\"{}><channel><title>{}</title><link>{}</link><description>{}</description>{}",
                    self.xmlns, self.title, self.link, self.description, self.channel
                ));
                for item in &self.items {
                    let guid_attr = if item.not_permalink {
                        " isPermaLink=\"false\""
                    } else {
                        ""
                    };
                    xml.push_str(&format!("<item><guid{guid_attr}>{}</guid>", item.guid));
                    if let Some(title) = &item.title {
                        xml.push_str(&format!("<title>{title}</title>"));
                    }
                    if let Some(link) = &item.link {
                        xml.push_str(&format!("<link>{link}</link>"));
                    }
                    if let Some(text) = &item.description {
                        xml.push_str(&format!("<description>{text}</description>"));
                    }
                    if let Some(date) = item.date {
                        xml.push_str(&format!("<pubDate>{}</pubDate>", date.to_rfc2822()));
                    }
                    xml.push_str(&item.extra);
                    xml.push_str("</item>");
                }
                xml.push_str("</channel></rss>");
            }
            Format::Atom => {
                xml.push_str(&format!(
                    "<feed xmlns=\"http://www.w3.org/2005/Atom\"{}><title>{}</title><id>{}</id><updated>{}</updated><link href=\"{}\"/>{}",
                    self.xmlns, self.title, self.id, self.updated, self.link, self.channel
                ));
                for item in &self.items {
                    xml.push_str(&format!("<entry><id>{}</id>", item.guid));
                    if let Some(title) = &item.title {
                        xml.push_str(&format!("<title>{title}</title>"));
                    }
                    if let Some(link) = &item.link {
                        xml.push_str(&format!("<link href=\"{link}\"/>"));
                    }
                    if let Some(date) = item.date {
                        xml.push_str(&format!(
                            "<updated>{}</updated>",
                            date.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                        ));
                    }
                    if let Some(text) = &item.description {
                        xml.push_str(&format!("<content type=\"html\">{text}</content>"));
                    }
                    xml.push_str(&item.extra);
                    xml.push_str("</entry>");
                }
                xml.push_str("</feed>");
            }
        }
        xml
    }
}

/// An RSS 2.0 document of `(guid, title)` items, item `i` dated 1 March 2026
/// 10:00 UTC plus `i` minutes.
pub fn rss_feed(items: &[(&str, &str)]) -> String {
    Feed::rss("Mock RSS", "http://mock.example/")
        .items(items.iter().enumerate().map(|(i, (guid, title))| {
            Item::new(guid, title)
                .link(&format!("http://mock.example/{guid}"))
                .description(&format!("Body of {title}"))
                .date(fixture_day(2026, 3, 1, i, 10))
        }))
        .render()
}

/// An Atom document of `(id, title)` entries, entry `i` updated 10 February
/// 2026 08:00 UTC plus `i` minutes.
pub fn atom_feed(entries: &[(&str, &str)]) -> String {
    Feed::atom("Mock Atom", "urn:mock:atom", "http://atom.example/")
        .items(entries.iter().enumerate().map(|(i, (id, title))| {
            Item::new(id, title)
                .link(&format!("http://atom.example/{i}"))
                .date(fixture_day(2026, 2, 10, i, 8))
                .description(&format!("&lt;p&gt;{title} text&lt;/p&gt;"))
                .extra("<author><name>Writer</name></author>")
        }))
        .render()
}

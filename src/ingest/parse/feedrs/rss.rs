//! Text edits made before feed-rs reads an RSS-family document: a missing
//! `<channel>`, CDF and RSS 1.0 items rewritten as RSS, Dublin Core and
//! iTunes elements renamed to what feed-rs reads, full-text bodies moved
//! into `<content:encoded>`.

use crate::ingest::parse::sanitize::escape;
use crate::ingest::parse::xml_scan::{Token, Tokenizer, local_name};

/// An `<rss>` without `<channel>` (items or nothing directly inside): wraps
/// the root's content in a channel, which feed-rs requires.
pub(super) fn wrap_channel(
    text: &str,
    edits: &mut Vec<(std::ops::Range<usize>, String)>,
    warnings: &mut Vec<String>,
) {
    let mut root: Option<(&str, std::ops::Range<usize>, bool)> = None;
    let mut root_end: Option<std::ops::Range<usize>> = None;
    for token in Tokenizer::new(text) {
        match token {
            Token::Start {
                name,
                span,
                self_closing,
                ..
            } => {
                if root.is_none() {
                    root = Some((name, span, self_closing));
                } else if local_name(name) == "channel" {
                    return;
                }
            }
            Token::End { name, name_span } => {
                if root.as_ref().is_some_and(|(r, _, _)| *r == name) {
                    // The `<` of `</rss>` is two bytes before the name.
                    root_end = Some(name_span.start.saturating_sub(2)..name_span.start);
                }
            }
            Token::Doctype { .. } => {}
        }
    }
    let (Some((_, span, false)), Some(end)) = (root, root_end) else {
        return;
    };
    warnings.push("no <channel> in <rss>: read its content as the channel".into());
    edits.push((span.end..span.end, "<channel>".into()));
    edits.push((end.start..end.start, "</channel>".into()));
}

/// CDF (`<CHANNEL HREF>` with `<TITLE>`, `<ABSTRACT>`, `<ITEM HREF
/// LASTMOD>`) rewritten as RSS 2.0: the root channel becomes
/// `<rss><channel>`, HREF a `<link>`, ABSTRACT a `<description>`, LASTMOD a
/// `<dc:date>`. Nested channels are renamed so that they are ignored.
pub(super) fn cdf_edits(text: &str, edits: &mut Vec<(std::ops::Range<usize>, String)>) {
    let mut depth = 0usize;
    for token in Tokenizer::new(text) {
        match token {
            Token::Start {
                name,
                ref span,
                self_closing,
                ..
            } => {
                let span = span.clone();
                let upper = local_name(name).to_ascii_uppercase();
                let href = token.attr("HREF").or_else(|| token.attr("href"));
                let lastmod = token.attr("LASTMOD").or_else(|| token.attr("lastmod"));
                let extra = |out: &mut String| {
                    if let Some(h) = &href {
                        out.push_str(&format!("<link>{}</link>", escape(h)));
                    }
                    if let Some(d) = &lastmod {
                        out.push_str(&format!("<dc:date>{}</dc:date>", escape(d)));
                    }
                };
                let mut out = String::new();
                match upper.as_str() {
                    "CHANNEL" => {
                        depth += 1;
                        if depth == 1 {
                            out.push_str(
                                "<rss version=\"2.0\" \
                                 xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel>",
                            );
                            extra(&mut out);
                        } else {
                            out.push_str("<x-cdf-channel>");
                        }
                        if self_closing {
                            depth -= 1;
                            out.push_str(if depth == 0 {
                                "</channel></rss>"
                            } else {
                                "</x-cdf-channel>"
                            });
                        }
                    }
                    "ITEM" => {
                        out.push_str("<item>");
                        extra(&mut out);
                        if self_closing {
                            out.push_str("</item>");
                        }
                    }
                    "TITLE" if !self_closing => out.push_str("<title>"),
                    "ABSTRACT" if !self_closing => out.push_str("<description>"),
                    _ => continue,
                }
                edits.push((span, out));
            }
            Token::End { name, name_span } => {
                let end = text[name_span.end..]
                    .find('>')
                    .map_or(name_span.end, |i| name_span.end + i + 1);
                let range = name_span.start.saturating_sub(2)..end;
                let replacement = match local_name(name).to_ascii_uppercase().as_str() {
                    "CHANNEL" => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            "</channel></rss>"
                        } else {
                            "</x-cdf-channel>"
                        }
                    }
                    "ITEM" => "</item>",
                    "TITLE" => "</title>",
                    "ABSTRACT" => "</description>",
                    _ => continue,
                };
                edits.push((range, replacement.to_string()));
            }
            Token::Doctype { .. } => {}
        }
    }
}

/// The `rdf:about` of each RSS 0.90/1.0 `<item>`, in document order.
pub(super) fn rdf_item_abouts(text: &str) -> Vec<Option<String>> {
    Tokenizer::new(text)
        .filter(|t| matches!(t, Token::Start { name, .. } if local_name(name) == "item"))
        .map(|t| t.attr("rdf:about").or_else(|| t.attr("about")))
        .collect()
}

/// RSS 1.0 items without `<link>` (their `rdf:about` is their URI, which
/// the spec says should equal the link): feed-rs drops them, so the
/// `rdf:about` is given to them as `<link>`.
pub(super) fn rdf_item_links(text: &str, edits: &mut Vec<(std::ops::Range<usize>, String)>) {
    // (end of the item's start tag, raw rdf:about, has a link)
    let mut open: Option<(usize, Option<&str>, bool)> = None;
    for token in Tokenizer::new(text) {
        match token {
            Token::Start {
                name,
                span,
                attrs,
                self_closing,
                ..
            } => match local_name(name) {
                "item" if !self_closing => {
                    let about = attrs
                        .iter()
                        .find(|a| local_name(a.name) == "about")
                        .map(|a| a.value);
                    open = Some((span.end, about, false));
                }
                "link" => {
                    if let Some(item) = open.as_mut() {
                        item.2 = true;
                    }
                }
                _ => {}
            },
            Token::End { name, .. } if local_name(name) == "item" => {
                if let Some((at, Some(about), false)) = open.take() {
                    edits.push((at..at, format!("<link>{about}</link>")));
                }
            }
            _ => {}
        }
    }
}

/// Dublin Core elements feed-rs does not read in RSS 2.0, renamed to their
/// RSS equivalents inside `<item>` and `<channel>` (prefix `dc` only):
/// every `dc:subject` becomes a `category`; `dc:title` and
/// `dc:description` become `title`/`description` (and a channel's
/// `dc:language` its `language`) when those are missing;
/// `dc:author` becomes `dc:creator` when there is no creator or author; a
/// channel's first `author`, `dc:creator` or `dc:author` becomes its
/// `managingEditor` when it has none; `media:category` becomes a
/// `category`, `itunes:summary` the `description` and an item's
/// `itunes:author` its `author` when those are missing; a channel's
/// `itunes:image` (or `itunes:link rel="image"`) its `<image>` when it has
/// none.
pub(super) fn dublin_core_edits(text: &str, edits: &mut Vec<(std::ops::Range<usize>, String)>) {
    type Child<'a> = (
        &'a str,
        std::ops::Range<usize>,
        Option<std::ops::Range<usize>>,
    );
    struct Frame<'a> {
        name: &'a str,
        /// Direct children: (name, start name span, end name span).
        children: Vec<Child<'a>>,
        /// Image URLs of `itunes:image` / `itunes:link rel="image"` children:
        /// (whole start tag, URL).
        images: Vec<(std::ops::Range<usize>, String)>,
    }
    let mut stack: Vec<Frame> = Vec::new();
    for token in Tokenizer::new(text) {
        match token {
            Token::Start {
                name,
                ref name_span,
                ref span,
                self_closing,
                ..
            } => {
                // Only the children of items and channels are renamed.
                if let Some(parent) = stack
                    .last_mut()
                    .filter(|p| matches!(local_name(p.name), "item" | "channel"))
                {
                    let is_image = name == "itunes:image"
                        || (name == "itunes:link" && token.attr("rel").as_deref() == Some("image"));
                    let image_url = if is_image {
                        token
                            .attr("href")
                            .or_else(|| token.attr("url"))
                            .filter(|u| !u.trim().is_empty())
                    } else {
                        None
                    };
                    parent.children.push((name, name_span.clone(), None));
                    if let Some(url) = image_url {
                        parent.images.push((span.clone(), url));
                    }
                }
                if !self_closing {
                    stack.push(Frame {
                        name,
                        children: Vec::new(),
                        images: Vec::new(),
                    });
                }
            }
            Token::End { name, name_span } => {
                let Some(pos) = stack.iter().rposition(|f| f.name == name) else {
                    continue;
                };
                let frame = stack.swap_remove(pos);
                stack.truncate(pos);
                if let Some(parent) = stack.last_mut()
                    && let Some(child) = parent
                        .children
                        .iter_mut()
                        .rev()
                        .find(|c| c.0 == name && c.2.is_none())
                {
                    child.2 = Some(name_span);
                }
                if !matches!(local_name(frame.name), "item" | "channel") {
                    continue;
                }
                let has = |n: &str| frame.children.iter().any(|c| c.0 == n);
                let channel = local_name(frame.name) == "channel";
                if channel
                    && !has("image")
                    && let Some((tag, url)) = frame.images.first()
                {
                    // Inserted before the itunes element (which stays).
                    edits.push((
                        tag.start..tag.start,
                        format!("<image><url>{}</url></image>", escape(url)),
                    ));
                }
                let mut editor_taken = has("managingEditor");
                for (child, start, end) in &frame.children {
                    let renamed = match *child {
                        // A channel's author (feedparser reads these too).
                        "author" | "dc:creator" | "dc:author" if channel && !editor_taken => {
                            editor_taken = true;
                            "managingEditor"
                        }
                        "dc:subject" | "media:category" => "category",
                        "dc:language" if channel && !has("language") => "language",
                        "itunes:summary" if !has("description") && !has("dc:description") => {
                            "description"
                        }
                        "itunes:subtitle"
                            if channel
                                && !has("description")
                                && !has("dc:description")
                                && !has("itunes:summary") =>
                        {
                            "description"
                        }
                        "itunes:author" if !channel && !has("author") && !has("dc:creator") => {
                            "author"
                        }
                        "dc:title" if !has("title") => "title",
                        "dc:description" if !has("description") => "description",
                        "dc:author" if !has("dc:creator") && !has("author") => "dc:creator",
                        _ => continue,
                    };
                    if let Some(end) = end {
                        edits.push((start.clone(), renamed.to_string()));
                        edits.push((end.clone(), renamed.to_string()));
                    }
                }
            }
            Token::Doctype { .. } => {}
        }
    }
}

const CONTENT_ENCODED_START: &str =
    "<content:encoded xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">";

/// RSS items that carry their full text in `<fullitem>` (escaped HTML) or
/// in an inline XHTML `<body>` / `<xhtml:body>` (feedparser reads both as
/// content; feed-rs ignores them): rewritten as `<content:encoded>`, the
/// XHTML serialized into a CDATA section.
pub(super) fn item_body_edits(text: &str, edits: &mut Vec<(std::ops::Range<usize>, String)>) {
    let mut stack: Vec<&str> = Vec::new();
    // (local name, start tag span) of the body being rewritten.
    let mut open: Option<(&str, std::ops::Range<usize>, usize)> = None;
    for token in Tokenizer::new(text) {
        match token {
            Token::Start {
                name,
                span,
                self_closing,
                ..
            } => {
                let local = local_name(name);
                if open.is_none()
                    && !self_closing
                    && matches!(local, "fullitem" | "body")
                    && stack.last().is_some_and(|p| local_name(p) == "item")
                {
                    open = Some((local, span, stack.len()));
                }
                if !self_closing {
                    stack.push(name);
                }
            }
            Token::End { name, name_span } => {
                if let Some(pos) = stack.iter().rposition(|n| *n == name) {
                    stack.truncate(pos);
                }
                let Some((local, start, depth)) = open.clone() else {
                    continue;
                };
                if stack.len() != depth || local_name(name) != local {
                    continue;
                }
                open = None;
                let end_start = name_span.start.saturating_sub(2);
                let end_end = text[name_span.end..]
                    .find('>')
                    .map_or(name_span.end, |i| name_span.end + i + 1);
                let inner = text.get(start.end..end_start).unwrap_or("");
                if local == "fullitem" {
                    edits.push((start, CONTENT_ENCODED_START.to_string()));
                    edits.push((end_start..end_end, "</content:encoded>".into()));
                } else if !inner.contains("]]>") && !inner.contains("<![CDATA[") {
                    edits.push((start, format!("{CONTENT_ENCODED_START}<![CDATA[")));
                    edits.push((end_start..end_end, "]]></content:encoded>".into()));
                }
            }
            Token::Doctype { .. } => {}
        }
    }
}

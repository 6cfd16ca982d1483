//! Content sniffing on decoded text (never by file extension or only by
//! Content-Type): HTML pages, JSON, or XML with a given root element.

use super::ParseError;
use super::xml_scan::{Token, Tokenizer, local_name, prefix};

/// What the body is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Body {
    Json,
    Xml(XmlRoot),
}

/// The root element of an XML document.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct XmlRoot {
    /// Local name (`rss`, `feed`, `RDF`, ...).
    pub local: String,
    /// The `version` attribute, as written.
    pub version: Option<String>,
    /// The namespace the root element is in, if declared on it.
    pub namespace: Option<String>,
    /// The default namespace (`xmlns`) declared on the root.
    pub default_namespace: Option<String>,
}

const HTML_PAGE: &str = "looks like an HTML page, not a feed";

/// Classifies a decoded body.
pub(crate) fn detect(text: &str) -> Result<Body, ParseError> {
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if trimmed.is_empty() {
        return Err(ParseError::Empty);
    }
    let head: String = trimmed
        .chars()
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    if head.starts_with("<!doctype html") || head.starts_with("<html") {
        return Err(ParseError::NotAFeed(HTML_PAGE.into()));
    }
    match trimmed.as_bytes().first() {
        Some(b'{') => return Ok(Body::Json),
        Some(b'<') => {}
        Some(b'[') => {
            return Err(ParseError::NotAFeed(
                "a JSON array, not a JSON Feed object".into(),
            ));
        }
        _ => {
            let start: String = trimmed.chars().take(20).collect();
            return Err(ParseError::NotAFeed(format!(
                "neither XML nor JSON (starts with `{}`)",
                start.escape_debug()
            )));
        }
    }
    for token in Tokenizer::new(trimmed) {
        match &token {
            Token::Doctype { name } => {
                if name.eq_ignore_ascii_case("html") {
                    return Err(ParseError::NotAFeed(HTML_PAGE.into()));
                }
            }
            Token::Start { name, .. } => {
                let local = local_name(name);
                if local.eq_ignore_ascii_case("html") {
                    return Err(ParseError::NotAFeed(HTML_PAGE.into()));
                }
                let default_namespace = token.attr("xmlns");
                let namespace = match prefix(name) {
                    Some(p) => token.attr(&format!("xmlns:{p}")),
                    None => default_namespace.clone(),
                };
                return Ok(Body::Xml(XmlRoot {
                    local: local.to_string(),
                    version: token.attr("version"),
                    namespace,
                    default_namespace,
                }));
            }
            Token::End { .. } => break,
        }
    }
    Err(ParseError::Malformed("no root element found".into()))
}

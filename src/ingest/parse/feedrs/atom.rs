//! Text edits made before feed-rs reads an Atom document: Atom 0.3 element
//! names, and text constructs or content of a `type` feed-rs rejects.

use crate::ingest::parse::sanitize::escape;
use crate::ingest::parse::xml_scan::{Token, Tokenizer, atom03_rename, local_name, prefix};

/// The prefix of the root element's name.
pub(super) fn root_prefix(text: &str) -> Option<&str> {
    Tokenizer::new(text)
        .find_map(|t| match t {
            Token::Start { name, .. } => Some(prefix(name)),
            _ => None,
        })
        .flatten()
}

/// Edits for Atom documents: Atom 0.3 element names, and text constructs or
/// content whose `type` feed-rs rejects (it fails the whole feed on them).
pub(super) fn atom_edits(
    text: &str,
    atom_prefix: Option<&str>,
    atom03: bool,
    edits: &mut Vec<(std::ops::Range<usize>, String)>,
    warnings: &mut Vec<String>,
) {
    const IGNORED: &str = "x-syndic-ignored";
    // Name of an element being dropped (renamed), until its end tag.
    let mut dropping: Option<&str> = None;
    // A base64 text construct being decoded: (name, where its text starts).
    let mut base64: Option<(&str, usize)> = None;
    let qualify = |local: &str| match atom_prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.to_string(),
    };
    for token in Tokenizer::new(text) {
        match &token {
            Token::Start {
                name,
                name_span,
                attrs,
                self_closing,
                span,
            } => {
                if dropping.is_some() || base64.is_some() || prefix(name) != atom_prefix {
                    continue;
                }
                let mut local = local_name(name);
                if atom03 && let Some(renamed) = atom03_rename(local) {
                    edits.push((name_span.clone(), qualify(renamed)));
                    local = renamed;
                }
                let is_text = matches!(local, "title" | "subtitle" | "summary" | "rights");
                if !is_text && local != "content" {
                    continue;
                }
                let type_attr = attrs.iter().find(|a| a.name == "type");
                let has_src = attrs.iter().any(|a| a.name == "src");
                // Atom 0.3 `mode="base64"`; Atom 1.0 content of a non-text,
                // non-XML media type (RFC 4287 4.1.3.3: base64).
                let mode = attrs.iter().find(|a| a.name == "mode");
                let declared = type_attr.map(|a| a.value.trim().to_ascii_lowercase());
                let binary_type = declared.as_deref().is_some_and(|t| {
                    t.contains('/') && !t.starts_with("text/") && !t.ends_with("xml")
                });
                if !has_src
                    && !self_closing
                    && (mode.is_some_and(|m| m.value.trim() == "base64") || binary_type)
                {
                    if let Some(m) = mode {
                        edits.push((m.span.clone(), String::new()));
                    }
                    if binary_type && let Some(a) = type_attr {
                        edits.push((a.value_span.clone(), "html".into()));
                    }
                    base64 = Some((name, span.end));
                    if binary_type {
                        continue;
                    }
                    // Otherwise the type (if any) is handled as for any
                    // text construct, below.
                }
                let wanted: Option<&str> = if has_src {
                    None
                } else {
                    let Some(declared) = type_attr.map(|a| a.value) else {
                        continue;
                    };
                    match declared.trim().to_ascii_lowercase().as_str() {
                        "text" | "text/plain" | "" => Some("text"),
                        "html" | "text/html" => Some("html"),
                        "xhtml" | "application/xhtml+xml" => Some("xhtml"),
                        t if t.starts_with("text/") => Some("text"),
                        _ => None,
                    }
                };
                match (wanted, type_attr) {
                    (Some(w), Some(a)) if a.value != w => {
                        edits.push((a.value_span.clone(), w.to_string()))
                    }
                    (Some(_), _) => {}
                    (None, _) => {
                        // Out-of-line (src) or non-text content: feed-rs may
                        // reject it and we would not show it: drop it.
                        if !has_src {
                            warnings.push(format!(
                                "ignored <{local}> of type `{}`",
                                type_attr.map(|a| a.value).unwrap_or("")
                            ));
                        }
                        edits.push((name_span.clone(), IGNORED.to_string()));
                        if !self_closing {
                            dropping = Some(name);
                        }
                    }
                }
            }
            Token::End { name, name_span } => {
                if let Some((open, inner_start)) = base64
                    && *name == open
                {
                    base64 = None;
                    let inner_end = name_span.start.saturating_sub(2);
                    let inner = text.get(inner_start..inner_end).unwrap_or("");
                    let compact: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
                    use base64::Engine as _;
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(compact.as_bytes())
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok());
                    let replacement = match decoded {
                        Some(d) => escape(&d),
                        None => {
                            warnings.push(format!(
                                "<{}>: base64 content that is not UTF-8 text ignored",
                                local_name(name)
                            ));
                            String::new()
                        }
                    };
                    if inner_start <= inner_end {
                        edits.push((inner_start..inner_end, replacement));
                    }
                }
                if let Some(open) = dropping {
                    if *name == open {
                        edits.push((name_span.clone(), IGNORED.to_string()));
                        dropping = None;
                    }
                    continue;
                }
                if atom03
                    && prefix(name) == atom_prefix
                    && let Some(renamed) = atom03_rename(local_name(name))
                {
                    edits.push((name_span.clone(), qualify(renamed)));
                }
            }
            Token::Doctype { .. } => {}
        }
    }
}

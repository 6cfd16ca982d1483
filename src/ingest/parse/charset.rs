//! Charset detection and decoding: raw feed bytes -> UTF-8 text, before any
//! parser sees them. Order: byte-order mark, then the `charset` of the
//! Content-Type, then the XML declaration's `encoding`, else UTF-8 (and
//! invalid UTF-8 falls back to windows-1252). A declared legacy charset is
//! overridden (with a warning) when the bytes are valid, non-ASCII UTF-8:
//! mislabelled UTF-8 is common, the opposite accident is very unlikely. The XML declaration is removed
//! from the decoded text so that no parser decodes it a second time.

use std::borrow::Cow;

use super::legacy;
use super::{Warning, WarningKind};
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// Text decoded from the body, and how.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Decoded<'b> {
    /// UTF-8 text without BOM and without XML declaration: borrowed from
    /// the body when that is UTF-8 already.
    pub text: Cow<'b, str>,
    /// The charset actually used, lower case (`utf-8`, `windows-1252`, ...).
    pub encoding: String,
    pub warnings: Vec<Warning>,
}

/// A wide Unicode form detected from a BOM or from the layout of `<`/`{`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wide {
    Utf16Le,
    Utf16Be,
    Utf32Le,
    Utf32Be,
}

/// Decodes `bytes` (see the module doc for the order of precedence).
pub(crate) fn decode<'b>(bytes: &'b [u8], content_type: Option<&str>) -> Decoded<'b> {
    let mut warnings = Vec::new();

    // 1. Byte-order mark (UTF-32 first: its LE mark starts like UTF-16's).
    let bom: Option<(Wide, usize)> = if bytes.starts_with(&[0xFF, 0xFE, 0, 0]) {
        Some((Wide::Utf32Le, 4))
    } else if bytes.starts_with(&[0, 0, 0xFE, 0xFF]) {
        Some((Wide::Utf32Be, 4))
    } else if bytes.starts_with(&[0xFF, 0xFE]) {
        Some((Wide::Utf16Le, 2))
    } else if bytes.starts_with(&[0xFE, 0xFF]) {
        Some((Wide::Utf16Be, 2))
    } else {
        None
    };
    if let Some((wide, len)) = bom {
        return finish(
            decode_wide(wide, bytes.get(len..).unwrap_or_default(), &mut warnings),
            wide_name(wide),
            warnings,
        );
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return decode_with(UTF_8, rest, None, warnings);
    }

    // Wide encodings without a BOM, recognised by NUL bytes around ASCII.
    if let Some(wide) = sniff_wide(bytes) {
        return finish(
            decode_wide(wide, bytes, &mut warnings),
            wide_name(wide),
            warnings,
        );
    }

    // EBCDIC documents (`<?xm` in cp037): the declaration names the code page.
    if legacy::looks_ebcdic(bytes) {
        let head = legacy::cp037().decode(bytes.get(..200).unwrap_or(bytes));
        let codec = xml_decl_encoding(head.as_bytes())
            .and_then(|label| legacy::lookup(&label))
            .filter(|c| c.ebcdic)
            .unwrap_or(legacy::cp037());
        return finish(codec.decode(bytes), codec.name, warnings);
    }

    // 2. Content-Type charset, 3. XML declaration.
    let header_label = content_type.and_then(charset_param);
    let decl_label = xml_decl_encoding(bytes);
    for label in [header_label.as_deref(), decl_label.as_deref()]
        .into_iter()
        .flatten()
    {
        match lookup(label) {
            Some(enc) if enc == UTF_16LE || enc == UTF_16BE => {
                // The bytes are ASCII-compatible (else sniff_wide would have
                // caught them): the label is wrong.
                warnings.push(Warning::new(
                    WarningKind::Encoding,
                    format!("ignored declared encoding `{label}`: the document is not UTF-16"),
                ));
            }
            Some(enc)
                if enc != UTF_8 && !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok() =>
            {
                // Valid UTF-8 with non-ASCII text is almost never a legacy
                // encoding by accident: the declaration is wrong.
                warnings.push(Warning::new(
                    WarningKind::Encoding,
                    format!(
                        "declared {} but the bytes are valid UTF-8; decoded as utf-8",
                        label.to_ascii_lowercase()
                    ),
                ));
                return decode_with(UTF_8, bytes, None, warnings);
            }
            Some(enc) => return decode_with(enc, bytes, Some(label), warnings),
            None => match legacy::lookup(label).filter(|c| !c.ebcdic) {
                Some(codec) => return finish(codec.decode(bytes), codec.name, warnings),
                None => warnings.push(Warning::new(
                    WarningKind::Encoding,
                    format!("unknown encoding `{label}` ignored"),
                )),
            },
        }
    }

    // 4. Default.
    decode_with(UTF_8, bytes, None, warnings)
}

fn finish<'b>(
    text: impl Into<Cow<'b, str>>,
    encoding: &str,
    warnings: Vec<Warning>,
) -> Decoded<'b> {
    Decoded {
        text: strip_xml_decl(text.into()),
        encoding: encoding.to_string(),
        warnings,
    }
}

fn wide_name(wide: Wide) -> &'static str {
    match wide {
        Wide::Utf16Le => "utf-16le",
        Wide::Utf16Be => "utf-16be",
        Wide::Utf32Le => "utf-32le",
        Wide::Utf32Be => "utf-32be",
    }
}

/// Decodes with an encoding_rs encoding; invalid UTF-8 falls back to
/// windows-1252.
fn decode_with<'b>(
    enc: &'static Encoding,
    bytes: &'b [u8],
    label: Option<&str>,
    mut warnings: Vec<Warning>,
) -> Decoded<'b> {
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    if had_errors && enc == UTF_8 {
        let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
        warnings.push(Warning::new(
            WarningKind::Encoding,
            match label {
                Some(label) => format!("invalid UTF-8 (declared {label}); decoded as windows-1252"),
                None => "invalid UTF-8; decoded as windows-1252".to_string(),
            },
        ));
        return finish(text, "windows-1252", warnings);
    }
    let name = enc.name().to_ascii_lowercase();
    if had_errors {
        warnings.push(Warning::new(
            WarningKind::Encoding,
            format!("invalid byte sequences for {name} replaced by U+FFFD"),
        ));
    }
    // Worth saying when a declared charset was read as a superset (as browsers
    // do: iso-8859-1 and us-ascii as windows-1252, gb2312 as gbk, ...) and
    // that could make a difference; plain aliases (cp1251) are not news.
    if let Some(label) = label
        && is_substituted(label, &name)
        && !bytes.is_ascii()
    {
        warnings.push(Warning::lenient(format!(
            "decoded as {name} (declared {})",
            label.to_ascii_lowercase()
        )));
    }
    finish(text, &name, warnings)
}

/// True when `label` names a different (narrower) charset than `name`.
fn is_substituted(label: &str, name: &str) -> bool {
    let label = simplify(label);
    let substituted = [
        "iso8859", "latin", "ascii", "usascii", "gb2312", "tis620", "l1", "cp819",
    ]
    .iter()
    .any(|p| label.starts_with(p));
    substituted && label != simplify(name)
}

fn simplify(label: &str) -> String {
    label
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// encoding_rs lookup; the "replacement" encoding counts as unknown.
fn lookup(label: &str) -> Option<&'static Encoding> {
    let label = label.trim();
    let simple = simplify(label);
    // A few labels seen in feeds that WHATWG does not know.
    let label = match simple.as_str() {
        "utf8" => "utf-8",
        "utf16" => "utf-16",
        "ucs2" | "iso10646ucs2" | "csunicode" => "utf-16",
        "latin1" | "iso88591" | "cp1252" => "windows-1252",
        // GB18030 is a superset of GBK (WHATWG's reading of gb2312): same
        // text for valid GBK bytes, and more of what real feeds contain.
        "gb2312" | "gbk" | "csgb2312" | "cp936" | "xgbk" | "euccn" => "gb18030",
        "macroman" => "macintosh",
        "maccyrillic" => "x-mac-cyrillic",
        "macintosh" | "csmacintosh" | "mac" => "macintosh",
        "cp874" => "windows-874",
        "msansi" => "windows-1252",
        "msee" => "windows-1250",
        "mscyrl" => "windows-1251",
        "msgreek" => "windows-1253",
        "msturk" => "windows-1254",
        "mshebr" => "windows-1255",
        "msarab" => "windows-1256",
        "winbaltrim" => "windows-1257",
        _ => label,
    };
    Encoding::for_label(label.as_bytes())
        .or_else(|| Encoding::for_label(label.replace('_', "-").as_bytes()))
        .filter(|e| *e != encoding_rs::REPLACEMENT)
}

/// Recognises UTF-16/32 without BOM from the first four bytes (XML and JSON
/// both start with an ASCII character).
fn sniff_wide(b: &[u8]) -> Option<Wide> {
    let [b0, b1, b2, b3, ..] = *b else {
        return None;
    };
    match (b0 == 0, b1 == 0, b2 == 0, b3 == 0) {
        (false, true, true, true) => Some(Wide::Utf32Le),
        (true, true, true, false) => Some(Wide::Utf32Be),
        (false, true, false, true) => Some(Wide::Utf16Le),
        (true, false, true, false) => Some(Wide::Utf16Be),
        _ => None,
    }
}

fn decode_wide(wide: Wide, bytes: &[u8], warnings: &mut Vec<Warning>) -> String {
    match wide {
        Wide::Utf16Le | Wide::Utf16Be => {
            let enc = if wide == Wide::Utf16Le {
                UTF_16LE
            } else {
                UTF_16BE
            };
            let (text, had_errors) = enc.decode_without_bom_handling(bytes);
            if had_errors {
                warnings.push(Warning::new(
                    WarningKind::Encoding,
                    format!("invalid {} sequences replaced by U+FFFD", wide_name(wide)),
                ));
            }
            text.into_owned()
        }
        Wide::Utf32Le | Wide::Utf32Be => {
            let mut out = String::with_capacity(bytes.len() / 4);
            let mut bad = false;
            for chunk in bytes.chunks(4) {
                let code = match (chunk, wide) {
                    ([a, b, c, d], Wide::Utf32Le) => u32::from_le_bytes([*a, *b, *c, *d]),
                    ([a, b, c, d], _) => u32::from_be_bytes([*a, *b, *c, *d]),
                    _ => {
                        bad = true;
                        continue;
                    }
                };
                match char::from_u32(code) {
                    Some(c) => out.push(c),
                    None => {
                        bad = true;
                        out.push('\u{fffd}');
                    }
                }
            }
            if bad {
                warnings.push(Warning::new(
                    WarningKind::Encoding,
                    format!("invalid {} sequences replaced by U+FFFD", wide_name(wide)),
                ));
            }
            out
        }
    }
}

/// The `charset` parameter of a Content-Type value.
pub(crate) fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// The `encoding` pseudo-attribute of an XML declaration at the start of
/// ASCII-compatible bytes.
fn xml_decl_encoding(bytes: &[u8]) -> Option<String> {
    let head = bytes.get(..1024).unwrap_or(bytes);
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = head.get(start..)?;
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = String::from_utf8_lossy(head.get(5..end)?);
    pseudo_attr(&decl, "encoding")
}

fn pseudo_attr(decl: &str, name: &str) -> Option<String> {
    let mut rest = decl;
    while let Some(i) = rest.find(name) {
        let after = rest[i + name.len()..].trim_start();
        if let Some(after) = after.strip_prefix('=') {
            let after = after.trim_start();
            let quote = after.chars().next()?;
            if quote == '"' || quote == '\'' {
                let value = &after[1..];
                let end = value.find(quote)?;
                return Some(value[..end].trim().to_string());
            }
        }
        rest = &rest[i + name.len()..];
    }
    None
}

/// Removes a leading BOM and a leading XML declaration (after optional
/// whitespace), so that the text carries no `encoding` for a parser to act
/// on. Borrowed text stays borrowed; owned text is cut in place.
fn strip_xml_decl(text: Cow<'_, str>) -> Cow<'_, str> {
    let mut cut = text.len() - text.strip_prefix('\u{feff}').unwrap_or(&text).len();
    let trimmed = text[cut..].trim_start();
    if let Some(after) = trimmed.strip_prefix("<?xml")
        && after.starts_with(|c: char| c.is_whitespace() || c == '?')
        && let Some(end) = after.find("?>")
    {
        cut = text.len() - after[end + 2..].len();
    }
    match text {
        Cow::Borrowed(text) => Cow::Borrowed(&text[cut..]),
        Cow::Owned(mut text) => {
            text.drain(..cut);
            Cow::Owned(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_param_parses_quoted_and_plain() {
        assert_eq!(
            charset_param("text/xml; charset=\"ISO-8859-1\"").as_deref(),
            Some("ISO-8859-1")
        );
        assert_eq!(
            charset_param("application/rss+xml;charset=utf-8").as_deref(),
            Some("utf-8")
        );
        assert_eq!(charset_param("text/xml"), None);
    }

    #[test]
    fn header_beats_declaration_and_declaration_is_removed() {
        let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss>\u{e9}</rss>";
        let (bytes, _, _) = WINDOWS_1252.encode(body);
        let d = decode(&bytes, Some("text/xml; charset=windows-1252"));
        assert_eq!(d.encoding, "windows-1252");
        assert_eq!(d.text, "<rss>\u{e9}</rss>");
    }

    #[test]
    fn invalid_utf8_falls_back_with_warning() {
        let d = decode(b"<rss>caf\xe9</rss>", None);
        assert_eq!(d.encoding, "windows-1252");
        assert_eq!(d.text, "<rss>caf\u{e9}</rss>");
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
    }

    #[test]
    fn utf32_and_bomless_utf16() {
        let text = "<rss>\u{20ac}</rss>";
        let mut be32 = vec![0, 0, 0xFE, 0xFF];
        for c in text.chars() {
            be32.extend_from_slice(&(c as u32).to_be_bytes());
        }
        let d = decode(&be32, None);
        assert_eq!((&*d.text, d.encoding.as_str()), (text, "utf-32be"));

        let le16: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let d = decode(&le16, None);
        assert_eq!((&*d.text, d.encoding.as_str()), (text, "utf-16le"));
    }

    #[test]
    fn mislabelled_utf8_is_read_as_utf8() {
        let body = "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><rss>Caf\u{e9} \u{20ac}</rss>";
        let d = decode(body.as_bytes(), None);
        assert_eq!(d.encoding, "utf-8");
        assert_eq!(d.text, "<rss>Caf\u{e9} \u{20ac}</rss>");
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
    }

    #[test]
    fn lying_utf16_declaration_is_ignored() {
        let d = decode(b"<?xml version='1.0' encoding='utf-16'?><rss/>", None);
        assert_eq!(d.encoding, "utf-8");
        assert_eq!(d.text, "<rss/>");
        assert_eq!(d.warnings.len(), 1);
    }
}

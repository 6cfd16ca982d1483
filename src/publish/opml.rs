//! OPML 2.0 subscription lists: [`export`] writes the configured remote
//! sources (served at `/opml`, printed by `syndic export-opml`); [`import`]
//! merges the feeds of an OPML file into `feeds.toml` as new `[[source]]`
//! tables (for `syndic import-opml FILE`), editing the file with
//! `toml_edit` so its comments and layout are kept. Feeds already present
//! (same URL) are skipped, never duplicated, and every skip says why.

use std::collections::HashSet;

use url::Url;

use super::escape_html;
use crate::config::{Config, SourceKind};

/// The remote sources as an OPML 2.0 document, their URLs' secrets shown as
/// `***` ([`crate::redact`]). Local sources have no URL a reader could
/// subscribe to and are left out.
pub fn export(config: &Config) -> String {
    export_urls(config, false)
}

/// [`export`] with the real URLs, secrets included (`syndic export-opml
/// --include-secrets`, for moving the subscriptions to another reader).
pub fn export_with_secrets(config: &Config) -> String {
    export_urls(config, true)
}

fn export_urls(config: &Config, secrets: bool) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<opml version=\"2.0\">\n<head><title>syndic sources</title></head>\n<body>\n",
    );
    for source in &config.sources {
        let SourceKind::Remote { url } = &source.kind else {
            continue;
        };
        let text = source.title.as_deref().unwrap_or(&source.id);
        let url = if secrets {
            url.to_string()
        } else {
            crate::redact::url(url.as_str())
        };
        out.push_str(&format!(
            "<outline type=\"rss\" text=\"{t}\" title=\"{t}\" xmlUrl=\"{u}\"",
            t = escape_html(text),
            u = escape_html(&url)
        ));
        if !source.tags.is_empty() {
            out.push_str(&format!(
                " category=\"{}\"",
                escape_html(&source.tags.join(","))
            ));
        }
        out.push_str("/>\n");
    }
    out.push_str("</body>\n</opml>\n");
    out
}

/// What an import did.
#[derive(Debug, Default, PartialEq)]
pub struct ImportReport {
    /// The new text of `feeds.toml`.
    pub text: String,
    /// The sources added: (id, url).
    pub added: Vec<(String, String)>,
    /// The outlines skipped: (what, why).
    pub skipped: Vec<(String, String)>,
}

/// Merges the feeds of `opml` into the config `text` (already valid as
/// `config`). Outlines with an `xmlUrl` become `[[source]]` tables with an
/// id made from their title, the title, the URL and, when they sit in a
/// folder outline, that folder as a tag.
pub fn import(text: &str, config: &Config, opml: &str) -> Result<ImportReport, String> {
    let doc = roxmltree::Document::parse(opml).map_err(|e| format!("not an XML file: {e}"))?;
    if doc.root_element().tag_name().name() != "opml" {
        return Err(format!(
            "not an OPML file: the root element is <{}>, expected <opml>",
            doc.root_element().tag_name().name()
        ));
    }
    let mut toml: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| format!("feeds.toml is not valid TOML: {e}"))?;
    let mut known_urls: HashSet<String> = config
        .sources
        .iter()
        .filter_map(|s| match &s.kind {
            SourceKind::Remote { url } => Some(url.as_str().to_string()),
            SourceKind::Local { .. } => None,
        })
        .collect();
    let mut ids: HashSet<String> = config.sources.iter().map(|s| s.id.clone()).collect();
    let mut report = ImportReport::default();
    let mut new_tables = Vec::new();

    for outline in doc.descendants().filter(|n| n.has_tag_name("outline")) {
        let label = outline
            .attribute("title")
            .or_else(|| outline.attribute("text"))
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let Some(raw_url) = outline.attribute("xmlUrl") else {
            // A folder: its children carry the feeds.
            if outline.children().all(|c| !c.has_tag_name("outline")) {
                report.skipped.push((
                    label.unwrap_or("(outline without text)").to_string(),
                    "no xmlUrl: not a feed".to_string(),
                ));
            }
            continue;
        };
        let what = match label {
            Some(l) => format!("{l} <{raw_url}>"),
            None => raw_url.to_string(),
        };
        let url = match Url::parse(raw_url.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => url,
            Ok(url) => {
                report.skipped.push((
                    what,
                    format!("only http(s) feeds can be polled, not `{}:`", url.scheme()),
                ));
                continue;
            }
            Err(err) => {
                report
                    .skipped
                    .push((what, format!("xmlUrl is not a valid URL: {err}")));
                continue;
            }
        };
        if !known_urls.insert(url.as_str().to_string()) {
            report
                .skipped
                .push((what, "already a source (same URL)".to_string()));
            continue;
        }
        let base_id = label
            .map(slug)
            .filter(|s| !s.is_empty())
            .or_else(|| url.host_str().map(slug))
            .unwrap_or_else(|| "feed".to_string());
        let id = unique_id(&base_id, &mut ids);
        let folder = outline
            .ancestors()
            .skip(1)
            .find(|a| a.has_tag_name("outline"))
            .and_then(|a| a.attribute("title").or_else(|| a.attribute("text")))
            .map(slug)
            .filter(|s| !s.is_empty());
        let mut table = toml_edit::Table::new();
        table.insert("id", toml_edit::value(id.clone()));
        table.insert("url", toml_edit::value(url.as_str()));
        if let Some(title) = label {
            table.insert("title", toml_edit::value(title));
        }
        if let Some(tag) = folder {
            let mut tags = toml_edit::Array::new();
            tags.push(tag);
            table.insert("tags", toml_edit::value(tags));
        }
        new_tables.push(table);
        report.added.push((id, url.to_string()));
    }

    if !new_tables.is_empty() {
        let sources = toml
            .entry("source")
            .or_insert_with(|| toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()));
        let Some(array) = sources.as_array_of_tables_mut() else {
            return Err("`source` in feeds.toml is not an array of [[source]] tables".to_string());
        };
        for table in new_tables {
            array.push(table);
        }
    }
    report.text = toml.to_string();
    Ok(report)
}

/// A source id from a title: lower case, other characters as `-`, at most
/// 64 characters.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    let out: String = out.chars().take(56).collect();
    out.trim_end_matches('-').to_string()
}

/// `base`, or `base-2`, `base-3`... whichever is not taken yet.
fn unique_id(base: &str, taken: &mut HashSet<String>) -> String {
    let mut id = base.to_string();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(id.clone());
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const CONFIG: &str = "# my feeds\n[[source]]\nid = \"lwn\" # the news\nurl = \"https://lwn.net/headlines/rss\"\n\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";

    const OPML: &str = r#"<?xml version="1.0"?>
<opml version="2.0"><head><title>x</title></head><body>
<outline text="Tech">
  <outline type="rss" text="LWN again" xmlUrl="https://lwn.net/headlines/rss"/>
  <outline type="rss" text="Rust Blog" xmlUrl="https://blog.rust-lang.org/feed.xml"/>
  <outline type="rss" text="Rust Blog" xmlUrl="https://blog.rust-lang.org/other.xml"/>
</outline>
<outline type="rss" text="Gopher" xmlUrl="gopher://old.example/feed"/>
<outline type="rss" text="Dup" xmlUrl="https://blog.rust-lang.org/feed.xml"/>
<outline text="Just a note"/>
</body></opml>"#;

    #[test]
    fn import_merges_skips_duplicates_and_keeps_comments() {
        let config = Config::parse(CONFIG, Path::new("feeds.toml")).unwrap();
        let report = import(CONFIG, &config, OPML).unwrap();
        assert_eq!(
            report.added,
            vec![
                (
                    "rust-blog".to_string(),
                    "https://blog.rust-lang.org/feed.xml".to_string()
                ),
                (
                    "rust-blog-2".to_string(),
                    "https://blog.rust-lang.org/other.xml".to_string()
                ),
            ]
        );
        let reasons: Vec<&str> = report.skipped.iter().map(|(_, why)| why.as_str()).collect();
        assert_eq!(
            reasons,
            vec![
                "already a source (same URL)",
                "only http(s) feeds can be polled, not `gopher:`",
                "already a source (same URL)",
                "no xmlUrl: not a feed",
            ]
        );
        assert!(report.text.starts_with("# my feeds\n"), "{}", report.text);
        assert!(
            report.text.contains("id = \"lwn\" # the news"),
            "{}",
            report.text
        );
        let merged = Config::parse(&report.text, Path::new("feeds.toml")).unwrap();
        assert_eq!(merged.sources.len(), 3);
        assert_eq!(merged.sources[1].tags, vec!["tech".to_string()]);
        assert_eq!(merged.sources[1].title.as_deref(), Some("Rust Blog"));
        // Importing again adds nothing.
        let again = import(&report.text, &merged, OPML).unwrap();
        assert!(again.added.is_empty());
        assert_eq!(again.text, report.text);
    }

    #[test]
    fn export_lists_remote_sources_and_reimports_to_nothing() {
        let config = Config::parse(CONFIG, Path::new("feeds.toml")).unwrap();
        let opml = export(&config);
        assert!(
            opml.contains(r#"xmlUrl="https://lwn.net/headlines/rss""#),
            "{opml}"
        );
        roxmltree::Document::parse(&opml).unwrap();
        assert!(import(CONFIG, &config, &opml).unwrap().added.is_empty());
        assert!(
            import(CONFIG, &config, "<html/>")
                .unwrap_err()
                .contains("not an OPML file")
        );
    }
}

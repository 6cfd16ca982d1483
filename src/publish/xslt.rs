//! Browser view of the XML feeds: an XSLT stylesheet, served by syndic at
//! `/feeds/feed.xsl` and named by an `<?xml-stylesheet?>` instruction at the
//! top of every RSS and Atom document, turns a feed opened in a browser into
//! a readable page (title, description, how to subscribe, the items).
//! Feed readers ignore the instruction.

/// The stylesheet's media type.
pub const CONTENT_TYPE: &str = "text/xsl; charset=utf-8";

/// One stylesheet for RSS 2.0 and Atom 1.0.
pub const STYLESHEET: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<xsl:stylesheet version="1.0"
  xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:atom="http://www.w3.org/2005/Atom"
  exclude-result-prefixes="atom">
<xsl:output method="html" encoding="utf-8" indent="yes" doctype-system="about:legacy-compat"/>
<xsl:template match="/">
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title><xsl:value-of select="rss/channel/title|atom:feed/atom:title"/> (feed)</title>
<style>body{font-family:system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;line-height:1.5;color:#222}
.note{background:#f4f4f0;padding:.75em 1em;border-radius:4px}li{margin:.5em 0}time{color:#666}</style>
</head>
<body>
<p class="note">This is a web feed. Copy its address into a feed reader to subscribe.</p>
<xsl:apply-templates select="rss/channel|atom:feed"/>
</body>
</html>
</xsl:template>
<xsl:template match="channel">
<h1><a href="{link}"><xsl:value-of select="title"/></a></h1>
<p><xsl:value-of select="description"/></p>
<ul>
<xsl:for-each select="item">
<li><a href="{link}"><xsl:value-of select="title"/></a> <time><xsl:value-of select="pubDate"/></time></li>
</xsl:for-each>
</ul>
</xsl:template>
<xsl:template match="atom:feed">
<h1><a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a></h1>
<p><xsl:value-of select="atom:subtitle"/></p>
<ul>
<xsl:for-each select="atom:entry">
<li><a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a> <time><xsl:value-of select="atom:updated"/></time></li>
</xsl:for-each>
</ul>
</xsl:template>
</xsl:stylesheet>
"#;

/// Inserts `<?xml-stylesheet?>` after the XML declaration (or at the start
/// when there is none).
pub fn with_stylesheet(xml: Vec<u8>, href: &str) -> Vec<u8> {
    let pi = format!("<?xml-stylesheet type=\"text/xsl\" href=\"{href}\"?>\n");
    let at = if xml.starts_with(b"<?xml ") {
        xml.windows(2)
            .position(|w| w == b"?>")
            .map(|p| p + 2)
            .unwrap_or(0)
    } else {
        0
    };
    let mut out = Vec::with_capacity(xml.len() + pi.len() + 1);
    out.extend_from_slice(xml.get(..at).unwrap_or_default());
    if at > 0 {
        out.push(b'\n');
    }
    out.extend_from_slice(pi.as_bytes());
    out.extend_from_slice(xml.get(at..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruction_goes_after_the_declaration() {
        let out = with_stylesheet(b"<?xml version=\"1.0\"?><rss/>".to_vec(), "feed.xsl");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<?xml version=\"1.0\"?>\n<?xml-stylesheet type=\"text/xsl\" href=\"feed.xsl\"?>\n<rss/>"
        );
        let out = with_stylesheet(b"<feed/>".to_vec(), "x.xsl");
        assert!(out.starts_with(b"<?xml-stylesheet"));
    }

    #[test]
    fn stylesheet_is_well_formed_xml() {
        roxmltree::Document::parse(STYLESHEET).unwrap();
    }
}

//! TEMPORARY stub until the parser lands.
use crate::model::Entry;
pub struct ParsedFeed {
    pub format: String,
    pub encoding: String,
    pub title: Option<String>,
    pub entries: Vec<Entry>,
    pub warnings: Vec<String>,
}
pub struct ParseOptions<'a> {
    pub content_type: Option<&'a str>,
    pub base_url: Option<&'a str>,
}
#[derive(Debug, thiserror::Error)]
#[error("x")]
pub struct ParseError;
pub fn parse_feed(_b: &[u8], _o: &ParseOptions) -> Result<ParsedFeed, ParseError> {
    Err(ParseError)
}
pub fn to_json_view(_f: &ParsedFeed) -> serde_json::Value {
    serde_json::Value::Null
}
pub fn sanitize_html(h: &str, _b: Option<&url::Url>) -> String {
    h.to_string()
}

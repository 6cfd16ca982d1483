//! What a parse warning is about: [`Warning`] carries its kind, so callers
//! branch on the kind and show the text.

use std::fmt;
use std::ops::Deref;

/// What a warning says about the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WarningKind {
    /// Not well-formed XML, repaired (a bare `&`, an HTML entity, a
    /// mismatched end tag, ...).
    NotWellFormed,
    /// The document broke off; its complete items were kept. Its cache
    /// validators are not to be trusted.
    Truncated,
    /// Bytes that did not match their declared (or any) encoding, or a
    /// declared encoding that was wrong or unknown.
    Encoding,
    /// About one value (a date, a URL, a mistyped field) or a leniency that
    /// needed no repair (RSS without `<channel>`).
    Lenient,
}

impl WarningKind {
    /// True when the document itself was broken: what feedparser calls
    /// `bozo`.
    pub fn is_bozo(self) -> bool {
        !matches!(self, WarningKind::Lenient)
    }
}

/// A problem that did not stop the parse: its kind and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub kind: WarningKind,
    pub text: String,
}

impl Warning {
    pub fn new(kind: WarningKind, text: impl Into<String>) -> Warning {
        Warning {
            kind,
            text: text.into(),
        }
    }

    /// A [`WarningKind::Lenient`] warning.
    pub fn lenient(text: impl Into<String>) -> Warning {
        Warning::new(WarningKind::Lenient, text)
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Deref for Warning {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl PartialEq<str> for Warning {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for Warning {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl PartialEq<String> for Warning {
    fn eq(&self, other: &String) -> bool {
        &self.text == other
    }
}

impl serde::Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

//! The tables of `feeds.toml` as written, before any check: [`Scalar`],
//! the `Raw*` structs serde fills, [`OneOrMany`], the top-level table
//! names and [`struct_fields`], which lists the keys a table accepts.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Visitor};
use toml::Spanned;

/// A value that may be written as a string or an integer; checked later so
/// that a bare number can get a helpful message.
#[derive(Debug, Clone)]
pub(super) enum Scalar {
    Str(String),
    Int(i64),
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                i64::try_from(v)
                    .map(Scalar::Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Str(s) => f.write_str(s),
            Scalar::Int(n) => write!(f, "{n}"),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDaemon {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) store: Option<Spanned<String>>,
    pub(super) public_url: Option<Spanned<String>>,
    pub(super) contact: Option<Spanned<String>>,
    pub(super) log_level: Option<Spanned<String>>,
    pub(super) admin_listen: Option<Spanned<String>>,
    pub(super) public_status: Option<bool>,
    pub(super) secret_params: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    pub(super) refresh: Option<Spanned<Scalar>>,
    pub(super) min_interval: Option<Spanned<Scalar>>,
    pub(super) max_interval: Option<Spanned<Scalar>>,
    pub(super) timeout: Option<Spanned<Scalar>>,
    pub(super) max_body_bytes: Option<Spanned<Scalar>>,
    pub(super) max_article_bytes: Option<Spanned<Scalar>>,
    pub(super) allow_internal: Option<Spanned<bool>>,
    pub(super) feed_limit: Option<Spanned<i64>>,
    pub(super) strip_www: Option<Spanned<bool>>,
    pub(super) tracking_params: Option<Vec<Spanned<String>>>,
    pub(super) tombstone_ttl: Option<Spanned<Scalar>>,
    pub(super) max_items: Option<Spanned<i64>>,
    pub(super) max_age: Option<Spanned<Scalar>>,
    pub(super) near_duplicates: Option<Spanned<bool>>,
    pub(super) near_duplicate_threshold: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) id: Option<Spanned<String>>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) path: Option<Spanned<String>>,
    pub(super) title: Option<Spanned<String>>,
    pub(super) refresh: Option<Spanned<Scalar>>,
    pub(super) min_interval: Option<Spanned<Scalar>>,
    pub(super) max_interval: Option<Spanned<Scalar>>,
    pub(super) tags: Option<Vec<Spanned<String>>>,
    pub(super) max_items: Option<Spanned<i64>>,
    pub(super) max_age: Option<Spanned<Scalar>>,
    pub(super) near_duplicates: Option<Spanned<bool>>,
    pub(super) near_duplicate_threshold: Option<Spanned<f64>>,
    pub(super) allow_internal: Option<Spanned<bool>>,
    pub(super) max_article_bytes: Option<Spanned<Scalar>>,
    pub(super) headers:
        Option<Spanned<std::collections::BTreeMap<Spanned<String>, Spanned<String>>>>,
    pub(super) basic_auth: Option<Spanned<super::credentials::RawBasicAuth>>,
    pub(super) user_agent: Option<Spanned<String>>,
    pub(super) full_text: Option<Spanned<bool>>,
    pub(super) full_text_selector: Option<Spanned<String>>,
    pub(super) websub: Option<Spanned<bool>>,
    pub(super) rule: Option<Vec<Spanned<RawRule>>>,
}

/// A `[[source.rule]]` or `[[feed.rule]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    #[serde(rename = "match")]
    pub(super) matches: Option<std::collections::BTreeMap<Spanned<String>, Spanned<String>>>,
    pub(super) action: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeed {
    pub(super) name: Option<Spanned<String>>,
    pub(super) title: Option<Spanned<String>>,
    pub(super) description: Option<Spanned<String>>,
    pub(super) include: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) limit: Option<Spanned<i64>>,
    pub(super) link: Option<Spanned<String>>,
    pub(super) language: Option<Spanned<String>>,
    pub(super) author: Option<Spanned<String>>,
    pub(super) image: Option<Spanned<String>>,
    pub(super) icon: Option<Spanned<String>>,
    pub(super) exclude: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) include_keywords: Option<Vec<Spanned<String>>>,
    pub(super) exclude_keywords: Option<Vec<Spanned<String>>>,
    pub(super) formats: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) hub: Option<Spanned<OneOrMany>>,
    pub(super) webhook: Option<Spanned<OneOrMany>>,
    pub(super) webhook_secret: Option<Spanned<String>>,
    pub(super) archive: Option<bool>,
    pub(super) refresh: Option<Spanned<Scalar>>,
    pub(super) podcast: Option<bool>,
    pub(super) category: Option<Spanned<String>>,
    pub(super) explicit: Option<Spanned<bool>>,
    pub(super) owner_email: Option<Spanned<String>>,
    pub(super) rule: Option<Vec<Spanned<RawRule>>>,
}

/// A value written as one string or an array of strings.
#[derive(Debug, Clone)]
pub(super) struct OneOrMany(pub(super) Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            One(String),
            Many(Vec<String>),
        }
        match Either::deserialize(deserializer) {
            Ok(Either::One(s)) => Ok(OneOrMany(vec![s])),
            Ok(Either::Many(v)) => Ok(OneOrMany(v)),
            Err(_) => Err(de::Error::custom(
                "expected a string or an array of strings",
            )),
        }
    }
}

/// The top-level tables, as (key, how it is written).
pub(super) const TOP_LEVEL: [(&str, &str); 4] = [
    ("daemon", "[daemon]"),
    ("defaults", "[defaults]"),
    ("source", "[[source]]"),
    ("feed", "[[feed]]"),
];

/// The keys a `#[derive(Deserialize)]` struct accepts, in declaration order,
/// read from what serde passes to `deserialize_struct`.
pub(super) fn struct_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    struct FieldsOf<'a>(&'a mut &'static [&'static str]);

    impl<'de> de::Deserializer<'de> for FieldsOf<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields read"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    // The error is expected: the deserializer only records the field list.
    let _ = T::deserialize(FieldsOf(&mut fields));
    fields
}

//! The polling hints of a feed that feed-rs does not read: RSS
//! `<skipHours>` and `<skipDays>`, and the RSS 1.0 syndication module's
//! `updatePeriod` / `updateFrequency` (any prefix). `<ttl>` comes from
//! feed-rs. Read from the tags of the text the adapter hands feed-rs, and
//! only up to the last place where one of those names is written, so a
//! document without them costs a substring search.

use crate::model::FeedHints;

use super::xml_scan::{Token, Tokenizer, local_name};

/// The names this module reads; a document without any of them has none of
/// these hints.
const NAMES: [&str; 4] = ["skipHours", "skipDays", "updatePeriod", "updateFrequency"];

/// Fills the hints of `text` that feed-rs does not read (all but `ttl_secs`).
pub(crate) fn read(text: &str, hints: &mut FeedHints) {
    let bytes = text.as_bytes();
    let last_of = |name: &str| memchr::memmem::find_iter(bytes, name.as_bytes()).last();
    let Some(last) = NAMES.iter().filter_map(|n| last_of(n)).max() else {
        return;
    };
    let mut period: Option<u64> = None;
    let mut frequency: Option<u64> = None;
    let mut in_hours = false;
    let mut in_days = false;
    for token in Tokenizer::new(text) {
        match token {
            Token::End { name, name_span } => {
                if name_span.start > last {
                    break;
                }
                match local_name(name) {
                    "skipHours" => in_hours = false,
                    "skipDays" => in_days = false,
                    _ => {}
                }
            }
            Token::Start {
                name,
                span,
                self_closing,
                ..
            } => {
                if span.start > last {
                    break;
                }
                if self_closing {
                    continue;
                }
                // The text up to the next tag (none in a CDATA section).
                let rest = text.get(span.end..).unwrap_or_default();
                let value = rest.get(..rest.find('<').unwrap_or(rest.len()));
                let value = value.unwrap_or_default().trim();
                let local = local_name(name);
                match local {
                    "skipHours" => in_hours = true,
                    "skipDays" => in_days = true,
                    "hour" if in_hours => {
                        if let Ok(h) = value.parse::<u32>() {
                            // RSS Board profile: 0-23; some feeds write 24
                            // for midnight.
                            hints.skip_hours |= 1 << (h % 24);
                        }
                    }
                    "day" if in_days => {
                        let day = match value.to_ascii_lowercase().as_str() {
                            "monday" => Some(0),
                            "tuesday" => Some(1),
                            "wednesday" => Some(2),
                            "thursday" => Some(3),
                            "friday" => Some(4),
                            "saturday" => Some(5),
                            "sunday" => Some(6),
                            _ => None,
                        };
                        if let Some(d) = day {
                            hints.skip_days |= 1 << d;
                        }
                    }
                    "updatePeriod" if name != local => {
                        period = match value {
                            "hourly" => Some(3600),
                            "daily" => Some(86_400),
                            "weekly" => Some(7 * 86_400),
                            "monthly" => Some(30 * 86_400),
                            "yearly" => Some(365 * 86_400),
                            _ => period,
                        };
                    }
                    "updateFrequency" if name != local => {
                        frequency = value.parse::<u64>().ok().filter(|f| *f > 0).or(frequency);
                    }
                    _ => {}
                }
            }
            Token::Doctype { .. } => {}
        }
    }
    if let Some(p) = period {
        hints.update_period_secs = Some(p / frequency.unwrap_or(1).max(1));
    }
}

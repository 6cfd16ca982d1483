//! The `websub` tree: each source's WebSub subscriptions
//! ([`Subscription`]), keyed by source id, NUL, topic URL.

use super::{Handles, StoreError, decode, encode};
use crate::model::Subscription;

fn key(source: &str, topic: &str) -> Vec<u8> {
    let mut key = source.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(topic.as_bytes());
    key
}

impl Handles {
    /// The subscriptions of `source` (every one, for every topic).
    pub fn subscriptions(&self, source: &str) -> Result<Vec<Subscription>, StoreError> {
        let prefix = key(source, "");
        let mut out = Vec::new();
        for row in self.websub.scan_prefix(&prefix) {
            let (_, value) = row.map_err(|e| self.err(e))?;
            if let Ok(sub) = decode::<Subscription>(&value, source) {
                out.push(sub);
            }
        }
        Ok(out)
    }

    /// Every subscription, with its source id.
    pub fn all_subscriptions(&self) -> Result<Vec<(String, Subscription)>, StoreError> {
        let mut out = Vec::new();
        for row in self.websub.iter() {
            let (k, value) = row.map_err(|e| self.err(e))?;
            let Some(source) = k
                .split(|b| *b == 0)
                .next()
                .and_then(|s| std::str::from_utf8(s).ok())
            else {
                continue;
            };
            if let Ok(sub) = decode::<Subscription>(&value, source) {
                out.push((source.to_string(), sub));
            }
        }
        Ok(out)
    }

    pub fn put_subscription(&self, source: &str, sub: &Subscription) -> Result<(), StoreError> {
        self.websub
            .insert(key(source, &sub.topic), encode(sub))
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    pub fn remove_subscription(&self, source: &str, topic: &str) -> Result<(), StoreError> {
        self.websub
            .remove(key(source, topic))
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

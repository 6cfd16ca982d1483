//! Webhook deliveries: the `webhooks` tree (feed name, NUL, URL -> the
//! published ids the receiver was last sent or owed, JSON) and the
//! `deliveries` tree (created, 8 bytes BE microseconds, + delivery id ->
//! [`Delivery`], JSON). A publication's delivery and the ids it covers are
//! written in one transaction, so a crash either keeps both (the delivery
//! is sent after the restart) or neither (the next rendering finds the
//! same items new and makes the same delivery, with the same id).

use serde::{Deserialize, Serialize};
use sled::Transactional;

use super::{Handles, StoreError, decode, encode};
use crate::model::Delivery;

/// A `webhooks` row.
#[derive(Serialize, Deserialize)]
struct Seen {
    ids: Vec<String>,
}

fn seen_key(feed: &str, url: &str) -> Vec<u8> {
    let mut key = feed.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(url.as_bytes());
    key
}

fn delivery_key(delivery: &Delivery) -> Vec<u8> {
    let micros = delivery.created.timestamp_micros();
    let mut key = micros.to_be_bytes().to_vec();
    key.extend_from_slice(delivery.id.as_bytes());
    key
}

impl Handles {
    /// The ids `url` was last sent (or owed) for `feed`; `None` before the
    /// first publication to it.
    pub fn webhook_seen(&self, feed: &str, url: &str) -> Result<Option<Vec<String>>, StoreError> {
        match self
            .webhooks
            .get(seen_key(feed, url))
            .map_err(|e| self.err(e))?
        {
            None => Ok(None),
            Some(raw) => decode::<Seen>(&raw, feed).map(|s| Some(s.ids)),
        }
    }

    /// Records that `url` is owed `feed`'s ids `seen`, with the delivery
    /// of the new ones (none when nothing is new), in one transaction.
    pub fn record_publication(
        &self,
        feed: &str,
        url: &str,
        seen: &[String],
        delivery: Option<&Delivery>,
    ) -> Result<(), StoreError> {
        let key = seen_key(feed, url);
        let value = encode(&Seen { ids: seen.to_vec() });
        let queued = delivery.map(|d| (delivery_key(d), encode(d)));
        (&self.webhooks, &self.deliveries)
            .transaction(|(webhooks, deliveries)| {
                webhooks.insert(key.as_slice(), value.as_slice())?;
                if let Some((k, v)) = &queued {
                    deliveries.insert(k.as_slice(), v.as_slice())?;
                }
                Ok(())
            })
            .map_err(|e: sled::transaction::TransactionError<()>| match e {
                sled::transaction::TransactionError::Storage(e) => self.err(e),
                sled::transaction::TransactionError::Abort(()) => self.err(
                    sled::Error::Unsupported("webhook transaction aborted".into()),
                ),
            })
    }

    /// Every delivery owed, oldest first (one that does not decode is
    /// skipped).
    pub fn deliveries(&self) -> Result<Vec<Delivery>, StoreError> {
        let mut out = Vec::new();
        for row in self.deliveries.iter() {
            let (_, value) = row.map_err(|e| self.err(e))?;
            if let Ok(delivery) = decode::<Delivery>(&value, "delivery") {
                out.push(delivery);
            }
        }
        Ok(out)
    }

    /// How many deliveries are owed (for `/metrics`: no row is read).
    pub fn deliveries_owed(&self) -> usize {
        self.deliveries.len()
    }

    /// Writes a delivery back (after a failed attempt).
    pub fn put_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.deliveries
            .insert(delivery_key(delivery), encode(delivery))
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Removes a delivery (sent, or given up).
    pub fn remove_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.deliveries
            .remove(delivery_key(delivery))
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

//! The only reqwest user: one conditional GET of a feed URL, with timeouts,
//! a body cap enforced while streaming, and the validators handed back
//! exactly as the server sent them.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};

/// How the fetcher behaves; built from `[daemon]` and `[defaults]`.
#[derive(Clone, Debug)]
pub struct FetchSettings {
    pub user_agent: String,
    pub connect_timeout: Duration,
    pub total_timeout: Duration,
    pub max_body_bytes: u64,
}

impl FetchSettings {
    /// `syndic/VERSION (+contact)`, stable across runs.
    pub fn user_agent(contact: Option<&str>) -> String {
        let version = env!("CARGO_PKG_VERSION");
        match contact {
            Some(c) => format!("syndic/{version} (+{c})"),
            None => format!("syndic/{version}"),
        }
    }
}

/// The validators of a previous response, echoed byte for byte.
#[derive(Clone, Debug, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug)]
pub enum FetchOutcome {
    /// 304: nothing changed. Carries any validators the 304 sent.
    NotModified(Validators),
    Fetched(Fetched),
}

#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    /// The URL the body came from, after redirects.
    pub final_url: String,
    pub content_type: Option<String>,
    pub validators: Validators,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("HTTP {status}")]
    Status { status: u16 },
    #[error("body larger than the {limit}-byte cap")]
    TooLarge { limit: u64 },
    #[error("timed out")]
    Timeout,
    #[error("{0}")]
    Network(String),
}

#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body_bytes: u64,
}

/// Feed media types first, then anything, as readers commonly ask.
const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
                      application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, \
                      application/json;q=0.7, */*;q=0.1";

impl Fetcher {
    pub fn new(settings: &FetchSettings) -> Result<Fetcher, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .default_headers(headers)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.total_timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .referer(false)
            .gzip(true)
            .brotli(true)
            .build()
            .map_err(|e| FetchError::Network(e.to_string()))?;
        Ok(Fetcher {
            client,
            max_body_bytes: settings.max_body_bytes,
        })
    }

    /// One conditional GET. Sends `If-None-Match` / `If-Modified-Since` only
    /// when the previous response carried that validator (RFC 9110 13.1).
    pub async fn get(&self, url: &str, previous: &Validators) -> Result<FetchOutcome, FetchError> {
        let mut request = self.client.get(url);
        if let Some(etag) = &previous.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &previous.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, lm);
        }
        let response = request.send().await.map_err(classify)?;
        let status = response.status();
        let validators = Validators {
            etag: header_text(response.headers(), header::ETAG),
            last_modified: header_text(response.headers(), header::LAST_MODIFIED),
        };
        if status == StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified(validators));
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
            });
        }
        let final_url = response.url().to_string();
        let content_type = header_text(response.headers(), header::CONTENT_TYPE);
        if let Some(len) = response.content_length()
            && len > self.max_body_bytes
        {
            return Err(FetchError::TooLarge {
                limit: self.max_body_bytes,
            });
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(classify)?;
            if body.len() as u64 + chunk.len() as u64 > self.max_body_bytes {
                return Err(FetchError::TooLarge {
                    limit: self.max_body_bytes,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchOutcome::Fetched(Fetched {
            status: status.as_u16(),
            final_url,
            content_type,
            validators,
            body,
        }))
    }
}

impl Fetcher {
    /// One POST of an `application/x-www-form-urlencoded` body (a WebSub
    /// publish ping). Success is any 2xx; anything else is an error the
    /// caller may retry. The response body is not read.
    pub async fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> Result<u16, FetchError> {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let response = self
            .client
            .post(url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(classify)?;
        let status = response.status();
        if status.is_success() {
            Ok(status.as_u16())
        } else {
            Err(FetchError::Status {
                status: status.as_u16(),
            })
        }
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn classify(err: reqwest::Error) -> FetchError {
    if err.is_timeout() {
        return FetchError::Timeout;
    }
    // The chain of sources says what really happened (DNS, refused, TLS).
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    FetchError::Network(text)
}

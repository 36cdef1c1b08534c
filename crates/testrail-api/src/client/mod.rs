//! The [`Client`] and its configuration.

mod breaker;
mod config;
mod endpoints;
mod stats;
mod transport;

use std::sync::Arc;

use futures_util::Stream;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use config::{CircuitBreakerPolicy, ClientConfig, RetryPolicy, Secret};
pub use stats::{LatencySummary, MethodStats, SlowRequest, StatsSnapshot};

use crate::error::{Error, ErrorKind, Verb};
use transport::{Payload, Transport, method_name};

/// Typed async client for TestRail API v2.
///
/// Cloning is cheap: clones share the connection pool, rate limiter,
/// concurrency limit, circuit breaker and stats.
#[derive(Clone)]
pub struct Client {
    transport: Arc<Transport>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("host", &self.transport.host.as_str())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Creates a client; no request is sent until a method is called.
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        Ok(Client {
            transport: Arc::new(Transport::new(config)?),
        })
    }

    /// TestRail root URL the client sends to.
    pub fn host(&self) -> &url::Url {
        &self.transport.host
    }

    /// Returns the counters and latencies per API method so far.
    pub fn stats(&self) -> StatsSnapshot {
        self.transport
            .stats
            .snapshot(self.transport.rate_limit_per_minute())
    }

    /// Current rate limit in requests per minute; `None` when off.
    pub fn rate_limit_per_minute(&self) -> Option<u32> {
        self.transport.rate_limit_per_minute()
    }

    /// Reports whether the circuit breaker fails every request at once.
    pub fn is_circuit_open(&self) -> bool {
        self.transport.breaker.is_tripped()
    }

    /// Closes the circuit breaker so requests are sent again after it
    /// stopped them.
    pub fn reset_circuit_breaker(&self) {
        self.transport.breaker.reset();
    }

    /// Sends a GET to `index.php?/api/v2/{method_path}` and returns the JSON
    /// body; `method_path` is a method with its ids and filters, such as
    /// `get_cases/1&suite_id=2`.
    pub async fn get_json(&self, method_path: &str) -> Result<Value, Error> {
        self.transport
            .execute(Verb::Get, &api_path(method_path), Payload::Empty)
            .await
    }

    /// Sends a POST with a JSON body to `index.php?/api/v2/{method_path}`
    /// and returns the JSON body of the response (`Value::Null` when empty).
    pub async fn post_json(&self, method_path: &str, body: &Value) -> Result<Value, Error> {
        self.post(method_path, body).await
    }

    /// Returns the pages of a list method in order. Each item is one page
    /// of the entities under `key`, such as `cases`. The stream follows
    /// `_links.next` until it is `null`, and it reads the bare array that
    /// TestRail before 6.7 returns as a single page.
    pub fn paginate<T>(
        &self,
        method_path: &str,
        key: &'static str,
    ) -> impl Stream<Item = Result<Vec<T>, Error>> + Send + use<T>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let client = self.clone();
        let first = Some(api_path(method_path));
        futures_util::stream::try_unfold(first, move |next| {
            let client = client.clone();
            async move {
                let Some(path) = next else {
                    return Ok(None);
                };
                let body = client
                    .transport
                    .execute(Verb::Get, &path, Payload::Empty)
                    .await?;
                let (items, next) = split_page(method_name(&path), body, key)?;
                let items = decode_items::<T>(method_name(&path), key, items)?;
                // Stop on an empty page or a link back to the same page,
                // either of which would otherwise loop forever.
                let next = next.filter(|next| *next != path && !items.is_empty());
                Ok(Some((items, next)))
            }
        })
    }

    /// Collects all pages of a list method into one `Vec`.
    pub async fn get_all<T>(&self, method_path: &str, key: &'static str) -> Result<Vec<T>, Error>
    where
        T: DeserializeOwned + Send + 'static,
    {
        use futures_util::TryStreamExt as _;
        let pages: Vec<Vec<T>> = self.paginate(method_path, key).try_collect().await?;
        Ok(pages.into_iter().flatten().collect())
    }

    async fn get<T: DeserializeOwned>(&self, method_path: &str) -> Result<T, Error> {
        let path = api_path(method_path);
        let body = self
            .transport
            .execute(Verb::Get, &path, Payload::Empty)
            .await?;
        decode(method_name(&path), Verb::Get, body)
    }

    async fn post<B: serde::Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method_path: &str,
        body: &B,
    ) -> Result<T, Error> {
        let path = api_path(method_path);
        let method = method_name(&path);
        let bytes = serde_json::to_vec(body).map_err(|err| {
            Error::new(
                method,
                Verb::Post,
                ErrorKind::Decode {
                    path: "request body".to_owned(),
                    message: err.to_string(),
                },
            )
        })?;
        let response = self
            .transport
            .execute(Verb::Post, &path, Payload::Json(bytes.into()))
            .await?;
        decode(method, Verb::Post, response)
    }

    async fn post_file(
        &self,
        method_path: &str,
        file_name: &str,
        bytes: bytes::Bytes,
    ) -> Result<Value, Error> {
        let payload = Payload::File {
            name: file_name.to_owned(),
            bytes,
        };
        self.transport
            .execute(Verb::Post, &api_path(method_path), payload)
            .await
    }
}

fn api_path(method_path: &str) -> String {
    format!("/api/v2/{}", method_path.trim_start_matches('/'))
}

/// Turns `_links.next` into an API path; it may be a path (`/api/v2/...`)
/// or, from some proxies, a full URL.
fn next_path(link: &str) -> Option<String> {
    if link.is_empty() {
        return None;
    }
    if let Some(index) = link.find("index.php?") {
        return Some(link[index + "index.php?".len()..].to_owned());
    }
    if let Some(index) = link.find("/api/v2/") {
        return Some(link[index..].to_owned());
    }
    None
}

/// Splits a list response into its entity array and the next page's path.
fn split_page(method: &str, body: Value, key: &str) -> Result<(Vec<Value>, Option<String>), Error> {
    match body {
        Value::Array(items) => Ok((items, None)),
        Value::Object(mut object) => {
            let next = object
                .get("_links")
                .and_then(|links| links.get("next"))
                .and_then(Value::as_str)
                .and_then(next_path);
            match object.remove(key) {
                Some(Value::Array(items)) => Ok((items, next)),
                Some(Value::Null) => Ok((Vec::new(), next)),
                _ => Err(Error::new(
                    method,
                    Verb::Get,
                    ErrorKind::Decode {
                        path: key.to_owned(),
                        message: format!("expected an array under `{key}` or a bare array"),
                    },
                )),
            }
        }
        other => Err(Error::new(
            method,
            Verb::Get,
            ErrorKind::Decode {
                path: "$".to_owned(),
                message: format!(
                    "expected a page object or an array, found {}",
                    json_type(&other)
                ),
            },
        )),
    }
}

fn decode_items<T: DeserializeOwned>(
    method: &str,
    key: &str,
    items: Vec<Value>,
) -> Result<Vec<T>, Error> {
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            serde_json::from_value(item).map_err(|err| {
                Error::new(
                    method,
                    Verb::Get,
                    ErrorKind::Decode {
                        path: format!("{key}[{index}]"),
                        message: err.to_string(),
                    },
                )
            })
        })
        .collect()
}

fn decode<T: DeserializeOwned>(method: &str, verb: Verb, body: Value) -> Result<T, Error> {
    serde_json::from_value(body).map_err(|err| {
        Error::new(
            method,
            verb,
            ErrorKind::Decode {
                path: "$".to_owned(),
                message: err.to_string(),
            },
        )
    })
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_path_accepts_path_and_url() {
        assert_eq!(
            next_path("/api/v2/get_cases/1&limit=250&offset=250").as_deref(),
            Some("/api/v2/get_cases/1&limit=250&offset=250")
        );
        assert_eq!(
            next_path("https://x.testrail.io/index.php?/api/v2/get_runs/1&offset=250").as_deref(),
            Some("/api/v2/get_runs/1&offset=250")
        );
        assert_eq!(next_path(""), None);
    }

    #[test]
    fn split_page_reads_both_forms() {
        let (items, next) =
            split_page("get_cases", serde_json::json!([{"id": 1}]), "cases").unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(next, None);
        let paged = serde_json::json!({"offset": 0, "_links": {"next": "/api/v2/get_cases/1&offset=1", "prev": null}, "cases": [{"id": 2}]});
        let (items, next) = split_page("get_cases", paged, "cases").unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(next.as_deref(), Some("/api/v2/get_cases/1&offset=1"));
        assert!(split_page("get_cases", serde_json::json!({"runs": []}), "cases").is_err());
    }
}

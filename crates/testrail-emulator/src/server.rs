//! HTTP server: accept loop, request routing, authentication, faults, log.
//!
//! The server runs its own accept loop on hyper instead of `axum::serve`,
//! because a fault must be able to close one connection without a response,
//! which needs a handle on that connection.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart};
use axum::http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::api::{self, ApiRequest};
use crate::faults::{DropPoint, Faults};
use crate::state::State;
use crate::{EmulatorConfig, FaultConfig};

/// Largest request body read, in bytes.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Error text TestRail sends with 401.
const AUTH_FAILED: &str =
    "Authentication failed: invalid or missing user/password or session cookie.";

/// One API request as the emulator saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// HTTP method, such as `POST`.
    pub method: String,
    /// Path with query, such as `/index.php?/api/v2/get_cases/1&suite_id=1`.
    pub path: String,
    /// JSON body; a multipart upload is logged as `{"attachment": {name, size}}`.
    pub body: Option<Value>,
    /// HTTP status sent, or 0 when the connection was closed without a response.
    pub status: u16,
    /// Injected fault, if any: `rate_limited`, `failed`, `dropped_before`,
    /// `dropped_after` or `timed_out`.
    pub fault: Option<String>,
}

#[derive(Default)]
struct Log {
    requests: Vec<LoggedRequest>,
    counts: BTreeMap<String, u64>,
}

/// Everything the connection tasks share.
pub(crate) struct Shared {
    user: String,
    password: String,
    legacy_arrays: bool,
    root: String,
    initial: State,
    state: Mutex<State>,
    log: Mutex<Log>,
    faults: Mutex<Faults>,
    panics: AtomicU64,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub(crate) fn state_json(&self) -> Value {
        state_to_json(&lock(&self.state))
    }

    pub(crate) fn request_log(&self) -> Vec<LoggedRequest> {
        lock(&self.log).requests.clone()
    }

    pub(crate) fn set_faults(&self, faults: FaultConfig) {
        lock(&self.faults).reconfigure(faults);
    }

    pub(crate) fn reset(&self) {
        *lock(&self.state) = self.initial.clone();
        *lock(&self.log) = Log::default();
        let config = lock(&self.faults).config.clone();
        *lock(&self.faults) = Faults::new(config);
    }

    pub(crate) fn panic_count(&self) -> u64 {
        self.panics.load(Ordering::SeqCst)
    }

    fn record(&self, method_name: Option<&str>, entry: LoggedRequest) {
        tracing::debug!(
            method = %entry.method,
            path = %entry.path,
            status = entry.status,
            fault = entry.fault.as_deref().unwrap_or("none"),
            "request"
        );
        let mut log = lock(&self.log);
        if let Some(name) = method_name {
            *log.counts.entry(name.to_string()).or_default() += 1;
        }
        log.requests.push(entry);
    }

    fn requests_json(&self) -> Value {
        let log = lock(&self.log);
        let counters = lock(&self.faults).counters.clone();
        json!({
            "requests": log.requests,
            "counts": log.counts,
            "faults": counters,
        })
    }
}

/// Renders the state with every entity map as an array in id order.
fn state_to_json(state: &State) -> Value {
    let mut value = serde_json::to_value(state).unwrap_or(Value::Null);
    if let Value::Object(object) = &mut value {
        for entry in object.values_mut() {
            let is_map = entry
                .as_object()
                .is_some_and(|map| map.keys().all(|key| key.parse::<u64>().is_ok()));
            if is_map && let Value::Object(map) = entry.take() {
                let mut items: Vec<(u64, Value)> = map
                    .into_iter()
                    .filter_map(|(key, item)| key.parse().ok().map(|id| (id, item)))
                    .collect();
                items.sort_by_key(|(id, _)| *id);
                *entry = Value::Array(items.into_iter().map(|(_, item)| item).collect());
            }
        }
    }
    value
}

/// Running server: the shared state, the stop signal and the accept task.
pub(crate) struct Server {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    accept_task: JoinHandle<()>,
}

impl Server {
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Server> {
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let seed = config.seed.clone().unwrap_or_default();
        let initial = State::from_seed(&seed, &config.user);
        let shared = Arc::new(Shared {
            user: config.user,
            password: config.password,
            legacy_arrays: config.legacy_arrays,
            root: format!("http://{addr}/"),
            state: Mutex::new(initial.clone()),
            initial,
            log: Mutex::new(Log::default()),
            faults: Mutex::new(Faults::new(config.faults)),
            panics: AtomicU64::new(0),
        });

        let (stop, stop_rx) = watch::channel(false);
        let accept_task = tokio::spawn(accept_loop(listener, shared.clone(), stop_rx));
        Ok(Server {
            addr,
            shared,
            stop,
            accept_task,
        })
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.accept_task.await;
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, shared.clone(), stop.clone()));
                }
                Err(error) => {
                    tracing::warn!(%error, "failed to accept a connection");
                }
            },
            _ = stop.changed() => break,
        }
    }
}

/// Serves one connection until it ends, a fault drops it or the server stops.
async fn serve_connection(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let drop_signal = Arc::new(Notify::new());
    let service_signal = drop_signal.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let shared = shared.clone();
        let drop_signal = service_signal.clone();
        async move { Ok::<_, Infallible>(handle_guarded(shared, drop_signal, request).await) }
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);

    // Returning from this function drops the connection, which closes the
    // socket without writing a response.
    tokio::select! {
        _ = connection => {}
        _ = drop_signal.notified() => {}
        _ = stop.changed() => {}
    }
}

/// Aborts a spawned task when the future awaiting it is dropped.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs the handler in its own task, so a panic becomes a counted 500
/// instead of a silently dead connection.
async fn handle_guarded(
    shared: Arc<Shared>,
    drop_signal: Arc<Notify>,
    request: Request<Incoming>,
) -> Response<Body> {
    let request = request.map(Body::new);
    let mut task = AbortOnDrop(tokio::spawn(handle(shared.clone(), drop_signal, request)));
    match (&mut task.0).await {
        Ok(response) => response,
        Err(error) => {
            if error.is_panic() {
                shared.panics.fetch_add(1, Ordering::SeqCst);
                tracing::error!(%error, "request handler panicked");
            }
            json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": "The emulator failed to handle this request."}),
            )
        }
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn error_response(status: u16, message: &str) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    json_response(status, &json!({"error": message}))
}

async fn handle(
    shared: Arc<Shared>,
    drop_signal: Arc<Notify>,
    request: Request<Body>,
) -> Response<Body> {
    let path = request.uri().path().to_string();
    if path.starts_with("/emulator/") {
        return control(&shared, request).await;
    }
    let query = request.uri().query().unwrap_or("").to_string();
    if path == "/index.php" && query.starts_with("/api/v2/") {
        return api_request(&shared, drop_signal, request, &query).await;
    }
    error_response(
        404,
        "Not found: the TestRail API lives at /index.php?/api/v2/.",
    )
}

/// Serves the control endpoints under `/emulator/`, which need no login.
async fn control(shared: &Shared, request: Request<Body>) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    match (method, path.as_str()) {
        (Method::GET, "/emulator/state") => json_response(StatusCode::OK, &shared.state_json()),
        (Method::POST, "/emulator/reset") => {
            shared.reset();
            json_response(StatusCode::OK, &json!({"reset": true}))
        }
        (Method::GET, "/emulator/requests") => {
            json_response(StatusCode::OK, &shared.requests_json())
        }
        (Method::GET, "/emulator/faults") => {
            let config = lock(&shared.faults).config.clone();
            json_response(StatusCode::OK, &json!(config))
        }
        (Method::POST, "/emulator/faults") => {
            let bytes = match axum::body::to_bytes(request.into_body(), MAX_BODY).await {
                Ok(bytes) => bytes,
                Err(error) => {
                    return error_response(400, &format!("failed to read the body: {error}"));
                }
            };
            let text = if bytes.is_empty() {
                &b"{}"[..]
            } else {
                &bytes[..]
            };
            match serde_json::from_slice::<FaultConfig>(text) {
                Ok(config) => {
                    tracing::info!(?config, "faults changed");
                    shared.set_faults(config.clone());
                    json_response(StatusCode::OK, &json!(config))
                }
                Err(error) => error_response(400, &format!("invalid fault configuration: {error}")),
            }
        }
        _ => error_response(404, &format!("Unknown control endpoint `{path}`.")),
    }
}

/// Decodes `%XX` escapes and `+` in a query component.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        decoded.push(byte);
                        index += 3;
                    }
                    Err(_) => {
                        decoded.push(b'%');
                        index += 1;
                    }
                }
            }
            b'+' => {
                decoded.push(b' ');
                index += 1;
            }
            byte => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// Splits `/api/v2/get_cases/1&suite_id=2` into method, segments and filters.
fn parse_route(query: &str) -> (String, Vec<String>, Vec<(String, String)>) {
    let mut parts = query.split('&');
    let route = parts.next().unwrap_or("");
    let route = route.trim_start_matches("/api/v2/");
    let mut segments = route.split('/').filter(|segment| !segment.is_empty());
    let method = segments.next().unwrap_or("").to_string();
    let segments = segments.map(percent_decode).collect();
    let filters = parts
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((key, value)) => (percent_decode(key), percent_decode(value)),
            None => (percent_decode(part), String::new()),
        })
        .collect();
    (method, segments, filters)
}

/// Decodes standard base64 (with or without padding).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits: u32 = 0;
    let mut bit_count = 0;
    let mut output = Vec::new();
    for byte in text.trim().bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        bit_count += 6;
        if bit_count >= 8 {
            bit_count -= 8;
            output.push((bits >> bit_count) as u8);
            bits &= (1 << bit_count) - 1;
        }
    }
    Some(output)
}

/// Checks Basic authentication; returns whether the credentials match.
fn authenticated(shared: &Shared, request: &Request<Body>) -> bool {
    let Some(value) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return false;
    };
    let Some(decoded) = base64_decode(encoded).and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return false;
    };
    match decoded.split_once(':') {
        Some((user, password)) => {
            user.eq_ignore_ascii_case(&shared.user) && password == shared.password
        }
        None => false,
    }
}

/// Reads the body: JSON, or the `attachment` part of a multipart upload.
async fn read_body(
    request: Request<Body>,
) -> Result<(Value, Option<(String, u64, Option<String>)>), String> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("multipart/form-data"));

    if is_multipart {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|error| format!("The multipart body is invalid: {error}"))?;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|error| format!("The multipart body is invalid: {error}"))?
        {
            if field.name() != Some("attachment") {
                continue;
            }
            let name = field.file_name().unwrap_or("attachment").to_string();
            let content_type = field.content_type().map(str::to_string);
            let bytes: Bytes = field
                .bytes()
                .await
                .map_err(|error| format!("The multipart body is invalid: {error}"))?;
            let size = bytes.len() as u64;
            let logged = json!({"attachment": {"name": name, "size": size}});
            return Ok((logged, Some((name, size, content_type))));
        }
        return Ok((Value::Null, None));
    }

    let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY)
        .await
        .map_err(|error| format!("Failed to read the request body: {error}"))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok((Value::Null, None));
    }
    serde_json::from_slice(&bytes)
        .map(|value| (value, None))
        .map_err(|error| format!("The request body is not valid JSON: {error}"))
}

async fn api_request(
    shared: &Shared,
    drop_signal: Arc<Notify>,
    request: Request<Body>,
    query: &str,
) -> Response<Body> {
    let http_method = request.method().clone();
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().to_string(), |value| value.to_string());
    let (method_name, segments, filters) = parse_route(query);
    let mut entry = LoggedRequest {
        method: http_method.to_string(),
        path,
        body: None,
        status: 0,
        fault: None,
    };

    // Step 1: authentication, before anything else is looked at.
    if !authenticated(shared, &request) {
        entry.status = 401;
        shared.record(Some(&method_name), entry);
        return error_response(401, AUTH_FAILED);
    }

    // Step 2: the body, so that the log shows it even for faulted requests.
    let user = shared.user.clone();
    let (body, attachment) = match read_body(request).await {
        Ok(parsed) => parsed,
        Err(message) => {
            entry.status = 400;
            shared.record(Some(&method_name), entry);
            return error_response(400, &message);
        }
    };
    entry.body = (!body.is_null()).then(|| body.clone());

    // Step 3: faults.
    let decision = lock(&shared.faults).decide();
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    if let Some(retry_after) = decision.rate_limited {
        entry.status = 429;
        entry.fault = Some("rate_limited".into());
        shared.record(Some(&method_name), entry);
        let mut response = error_response(
            429,
            &format!("API rate limit exceeded; retry after {retry_after} seconds."),
        );
        if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    if let Some(status) = decision.fail_status {
        entry.status = status;
        entry.fault = Some("failed".into());
        shared.record(Some(&method_name), entry);
        return error_response(
            status,
            "The server failed to process the request (injected fault).",
        );
    }
    if decision.drop == Some(DropPoint::BeforeApply) {
        entry.fault = Some("dropped_before".into());
        shared.record(Some(&method_name), entry);
        return drop_connection(drop_signal).await;
    }

    // Step 4: apply the method to the state.
    let ids = segments
        .iter()
        .map_while(|segment| segment.parse::<u64>().ok())
        .collect();
    let outcome = {
        let mut state = lock(&shared.state);
        let user_id = state.user_by_email(&user).map_or(1, |found| found.id);
        let api_request = ApiRequest {
            method: method_name.clone(),
            segments,
            ids,
            filters,
            body,
            is_post: http_method == Method::POST,
            root: shared.root.clone(),
            legacy_arrays: shared.legacy_arrays,
            user_id,
            attachment,
        };
        api::dispatch(&mut state, &api_request)
    };
    let response = match &outcome {
        Ok(value) => json_response(StatusCode::OK, value),
        Err(error) => {
            tracing::debug!(method = %method_name, status = error.status, error = %error.message, "request rejected");
            error_response(error.status, &error.message)
        }
    };
    entry.status = response.status().as_u16();

    // Step 5: faults that strike after the change was applied.
    if decision.drop == Some(DropPoint::AfterApply) {
        entry.status = 0;
        entry.fault = Some("dropped_after".into());
        shared.record(Some(&method_name), entry);
        return drop_connection(drop_signal).await;
    }
    if let Some(hang) = decision.hang {
        entry.fault = Some("timed_out".into());
        shared.record(Some(&method_name), entry);
        tokio::time::sleep(hang).await;
        return response;
    }
    shared.record(Some(&method_name), entry);
    response
}

/// Asks the connection task to close the socket, then waits to be dropped.
async fn drop_connection(drop_signal: Arc<Notify>) -> Response<Body> {
    drop_signal.notify_one();
    std::future::pending::<Response<Body>>().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_parsing_splits_method_ids_and_filters() {
        let (method, segments, filters) =
            parse_route("/api/v2/get_cases/1&suite_id=2&limit=250&offset=0");
        assert_eq!(method, "get_cases");
        assert_eq!(segments, vec!["1".to_string()]);
        assert_eq!(filters[0], ("suite_id".to_string(), "2".to_string()));
        assert_eq!(filters.len(), 3);
    }

    #[test]
    fn route_parsing_decodes_email() {
        let (method, segments, filters) =
            parse_route("/api/v2/get_user_by_email&email=a%40b.example");
        assert_eq!(method, "get_user_by_email");
        assert!(segments.is_empty());
        assert_eq!(filters[0].1, "a@b.example");
    }

    #[test]
    fn base64_round_trip() {
        assert_eq!(
            base64_decode("YWRtaW5AZXhhbXBsZS5jb206c2VjcmV0").as_deref(),
            Some(&b"admin@example.com:secret"[..])
        );
        assert_eq!(base64_decode("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode("!!"), None);
    }
}

//! Drives the real client against a small HTTP server on 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use testrail_api::models::{NewResult, Project};
use testrail_api::{
    CaseFilter, CircuitBreakerPolicy, Client, ClientConfig, ErrorKind, RetryPolicy,
};

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    query: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Bytes,
}

type Reply = (u16, Vec<(&'static str, String)>, String);
type Handler = Arc<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

struct MockServer {
    host: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl MockServer {
    /// Starts a server whose handler gets each request and its index.
    async fn start(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Self {
        let handler: Handler = Arc::new(handler);
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let recorder = seen.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let handler = handler.clone();
            let recorder = recorder.clone();
            async move {
                let request = Seen {
                    query: uri.query().unwrap_or_default().to_owned(),
                    authorization: header(&headers, "authorization"),
                    content_type: header(&headers, "content-type"),
                    body,
                };
                let index = {
                    let mut seen = recorder.lock().unwrap();
                    seen.push(request.clone());
                    seen.len() - 1
                };
                let (status, headers, body) = handler(&request, index);
                let mut response: Response =
                    (StatusCode::from_u16(status).unwrap(), body).into_response();
                for (name, value) in headers {
                    response.headers_mut().insert(name, value.parse().unwrap());
                }
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        MockServer {
            host: format!("http://{address}/"),
            seen,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

fn ok(body: Value) -> Reply {
    (200, Vec::new(), body.to_string())
}

fn fast_config(host: &str) -> ClientConfig {
    let mut config = ClientConfig::new(host, "qa@example.com", "secret-key-1").unwrap();
    config.timeout = Duration::from_secs(5);
    config.retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        total_budget: Duration::from_secs(30),
    };
    config.breaker = CircuitBreakerPolicy {
        failure_threshold: 50,
        open_duration: Duration::from_millis(10),
        max_cycles: 2,
    };
    config
}

fn client(server: &MockServer) -> Client {
    Client::new(fast_config(&server.host)).unwrap()
}

fn case(id: u64) -> Value {
    json!({"id": id, "title": format!("case {id}"), "suite_id": 1, "custom_automation_id": format!("a.{id}")})
}

#[tokio::test]
async fn pagination_follows_next_links() {
    let server = MockServer::start(|seen, _| {
        let page = if seen.query.contains("offset=4") {
            json!({"offset": 4, "limit": 2, "size": 1, "_links": {"next": null, "prev": "/api/v2/get_cases/1&suite_id=1&limit=2&offset=2"}, "cases": [case(5)]})
        } else if seen.query.contains("offset=2") {
            json!({"offset": 2, "limit": 2, "size": 2, "_links": {"next": "/api/v2/get_cases/1&suite_id=1&limit=2&offset=4", "prev": null}, "cases": [case(3), case(4)]})
        } else {
            json!({"offset": 0, "limit": 2, "size": 2, "_links": {"next": "/api/v2/get_cases/1&suite_id=1&limit=2&offset=2", "prev": null}, "cases": [case(1), case(2)]})
        };
        ok(page)
    })
    .await;
    let client = client(&server);

    let cases = client.get_cases(1, &CaseFilter::suite(1)).await.unwrap();

    let ids: Vec<u64> = cases.iter().map(|case| case.id).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    let queries: Vec<String> = server.seen().into_iter().map(|seen| seen.query).collect();
    assert_eq!(
        queries,
        vec![
            "/api/v2/get_cases/1&suite_id=1",
            "/api/v2/get_cases/1&suite_id=1&limit=2&offset=2",
            "/api/v2/get_cases/1&suite_id=1&limit=2&offset=4",
        ]
    );
    assert_eq!(cases[4].custom("automation_id"), Some(&json!("a.5")));
}

#[tokio::test]
async fn page_stream_yields_each_page() {
    use futures_util::StreamExt as _;
    let server = MockServer::start(|seen, _| {
        if seen.query.contains("offset=1") {
            ok(json!({"_links": {"next": null}, "cases": [case(2)]}))
        } else {
            ok(json!({"_links": {"next": "/api/v2/get_cases/1&offset=1"}, "cases": [case(1)]}))
        }
    })
    .await;
    let client = client(&server);

    let pages: Vec<_> = client
        .get_cases_pages(1, &CaseFilter::default())
        .collect()
        .await;

    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].as_ref().unwrap()[0].id, 1);
    assert_eq!(pages[1].as_ref().unwrap()[0].id, 2);
}

#[tokio::test]
async fn bare_array_is_one_page() {
    let server = MockServer::start(|_, _| {
        ok(json!([{"id": 3, "name": "Old", "suite_mode": 1, "is_completed": 0}]))
    })
    .await;
    let client = client(&server);

    let projects: Vec<Project> = client.get_projects().await.unwrap();

    assert_eq!(projects.len(), 1);
    assert_eq!(projects[0].name, "Old");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn sends_basic_auth_and_json() {
    let server =
        MockServer::start(|_, _| ok(json!([{"id": 900, "test_id": 1, "status_id": 1}]))).await;
    let client = client(&server);

    client
        .add_results_for_cases(42, &[NewResult::new(7, 1).elapsed("2s")])
        .await
        .unwrap();

    let seen = &server.seen()[0];
    // "qa@example.com:secret-key-1" in base64.
    assert_eq!(
        seen.authorization.as_deref(),
        Some("Basic cWFAZXhhbXBsZS5jb206c2VjcmV0LWtleS0x")
    );
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    assert_eq!(seen.query, "/api/v2/add_results_for_cases/42");
    let body: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(
        body,
        json!({"results": [{"case_id": 7, "status_id": 1, "elapsed": "2s"}]})
    );
}

#[tokio::test]
async fn error_401_names_method_and_hint() {
    let server = MockServer::start(|_, _| {
        (401, Vec::new(), json!({"error": "Authentication failed: invalid or missing user/password or session cookie."}).to_string())
    })
    .await;
    let client = client(&server);

    let err = client.get_project(1).await.unwrap_err();

    let message = err.to_string();
    assert_eq!(err.status(), Some(401));
    assert!(message.contains("`get_project`"), "{message}");
    assert!(message.contains("HTTP 401"), "{message}");
    assert!(message.contains("Authentication failed"), "{message}");
    assert!(
        message.contains("hint: check the user and API key"),
        "{message}"
    );
    assert!(!message.contains("secret-key-1"), "{message}");
    assert!(!err.is_retryable());
    assert_eq!(server.count(), 1, "401 is not retried");
}

#[tokio::test]
async fn error_400_quotes_testrail_text() {
    let text = "Field :results cannot be empty (one result is required).";
    let server =
        MockServer::start(move |_, _| (400, Vec::new(), json!({"error": text}).to_string())).await;
    let client = client(&server);

    let err = client.add_results_for_cases(42, &[]).await.unwrap_err();

    assert_eq!(err.testrail_message(), Some(text));
    assert_eq!(err.method, "add_results_for_cases");
    let message = err.to_string();
    assert!(message.contains("HTTP 400"), "{message}");
    assert!(
        message.contains(&format!(
            "hint: TestRail rejected the request with \"{text}\""
        )),
        "{message}"
    );
    assert!(!err.maybe_applied(), "a 400 was not applied");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn error_404_points_at_host() {
    let server =
        MockServer::start(|_, _| (404, Vec::new(), "<html>Not Found</html>".to_owned())).await;
    let client = client(&server);

    let err = client.get_run(5).await.unwrap_err();

    let message = err.to_string();
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.testrail_message(), None);
    assert!(message.contains("`get_run`"), "{message}");
    assert!(message.contains("<html>Not Found</html>"), "{message}");
    assert!(message.contains("hint: check the host"), "{message}");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn rate_limited_then_succeeds() {
    let server = MockServer::start(|_, index| {
        if index == 0 {
            (
                429,
                vec![("retry-after", "0".to_owned())],
                json!({"error": "API rate limit exceeded"}).to_string(),
            )
        } else {
            ok(json!({"id": 9, "name": "Demo", "suite_mode": 1}))
        }
    })
    .await;
    let client = client(&server);
    assert_eq!(client.rate_limit_per_minute(), None);

    let project = client.get_project(9).await.unwrap();

    assert_eq!(project.id, 9);
    assert_eq!(server.count(), 2);
    assert!(
        client.rate_limit_per_minute().is_some(),
        "the first 429 sets a rate limit"
    );
    let stats = client.stats().method("get_project");
    assert_eq!(stats.requests, 2);
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.retries, 1);
}

#[tokio::test]
async fn retry_after_is_not_shortened() {
    // The drawn backoff is at most 5 ms, so only a wait taken from
    // Retry-After can exceed the 30 s budget and end the retries.
    let server = MockServer::start(|_, _| {
        (
            429,
            vec![("retry-after", "120".to_owned())],
            json!({"error": "API rate limit exceeded"}).to_string(),
        )
    })
    .await;
    let client = client(&server);

    let err = client.get_project(9).await.unwrap_err();

    assert!(
        matches!(
            err.kind,
            ErrorKind::RetryBudgetExhausted { attempts: 1, .. }
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(429));
    assert!(err.to_string().contains("wait 120 s"), "{err}");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn post_429_is_resent() {
    let server = MockServer::start(|_, index| {
        if index == 0 {
            (429, vec![("retry-after", "0".to_owned())], String::new())
        } else {
            ok(json!({"id": 77, "name": "Nightly", "include_all": false}))
        }
    })
    .await;
    let client = client(&server);

    let run = client
        .add_run(1, &testrail_api::models::NewRun::new("Nightly"))
        .await
        .unwrap();

    assert_eq!(run.id, 77);
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn get_retries_server_errors() {
    let server = MockServer::start(|_, index| {
        if index < 2 {
            (503, Vec::new(), "Service Unavailable".to_owned())
        } else {
            ok(json!([{"id": 1, "name": "passed", "label": "Passed"}]))
        }
    })
    .await;
    let client = client(&server);

    let statuses = client.get_statuses().await.unwrap();

    assert_eq!(statuses[0].label, "Passed");
    assert_eq!(server.count(), 3);
    let stats = client.stats().method("get_statuses");
    assert_eq!(stats.failures, 2);
    assert_eq!(stats.retries, 2);
}

#[tokio::test]
async fn get_gives_up_after_max_retries() {
    let server =
        MockServer::start(|_, _| (500, Vec::new(), json!({"error": "boom"}).to_string())).await;
    let client = client(&server);

    let err = client.get_statuses().await.unwrap_err();

    assert!(
        matches!(
            err.kind,
            ErrorKind::RetryBudgetExhausted { attempts: 4, .. }
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(500));
    assert!(err.is_retryable());
    assert_eq!(server.count(), 4, "one request and three retries");
}

#[tokio::test]
async fn post_502_not_resent() {
    let server = MockServer::start(|_, _| (502, Vec::new(), "Bad Gateway".to_owned())).await;
    let client = client(&server);

    let err = client
        .add_results_for_cases(42, &[NewResult::new(1, 1)])
        .await
        .unwrap_err();

    assert_eq!(
        server.count(),
        1,
        "a POST that may have been applied is not resent"
    );
    assert_eq!(err.status(), Some(502));
    assert!(err.maybe_applied());
    assert!(err.to_string().contains("read the state back"), "{err}");
}

#[tokio::test]
async fn post_refused_connection_is_resent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::new(fast_config(&host)).unwrap();

    let err = client
        .add_results_for_cases(42, &[NewResult::new(1, 1)])
        .await
        .unwrap_err();

    match &err.kind {
        ErrorKind::RetryBudgetExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 4);
            assert!(
                matches!(
                    **last,
                    ErrorKind::Transport {
                        maybe_applied: false,
                        ..
                    }
                ),
                "{last:?}"
            );
        }
        other => panic!("unexpected kind {other:?}"),
    }
    assert!(!err.maybe_applied());
    assert_eq!(client.stats().method("add_results_for_cases").requests, 4);
}

#[tokio::test]
async fn breaker_trips_and_fails_fast() {
    let server = MockServer::start(|_, _| (500, Vec::new(), "down".to_owned())).await;
    let mut config = fast_config(&server.host);
    config.retry.max_retries = 20;
    config.breaker = CircuitBreakerPolicy {
        failure_threshold: 2,
        open_duration: Duration::from_millis(10),
        max_cycles: 2,
    };
    let client = Client::new(config).unwrap();

    let err = client.get_statuses().await.unwrap_err();

    assert!(matches!(err.kind, ErrorKind::CircuitOpen { .. }), "{err:?}");
    assert!(err.to_string().contains("trail resume"), "{err}");
    // Two failures open the breaker, then two probes fail.
    assert_eq!(server.count(), 4);
    assert!(client.is_circuit_open());

    let again = client.clone().get_projects().await.unwrap_err();
    assert!(matches!(again.kind, ErrorKind::CircuitOpen { .. }));
    assert_eq!(server.count(), 4, "an open breaker sends nothing");

    client.reset_circuit_breaker();
    assert!(client.get_statuses().await.is_err());
    assert!(server.count() > 4, "a reset breaker sends again");
}

#[tokio::test]
async fn stats_count_requests_and_bytes() {
    let server = MockServer::start(|seen, _| {
        if seen.query.starts_with("/api/v2/get_case/") {
            ok(case(8))
        } else {
            ok(json!([]))
        }
    })
    .await;
    let mut config = fast_config(&server.host);
    config.slow_ms = Some(0);
    let client = Client::new(config).unwrap();

    client.get_case(8).await.unwrap();
    client.get_case(8).await.unwrap();
    client.get_priorities().await.unwrap();

    let stats = client.stats();
    assert_eq!(stats.total_requests(), 3);
    let get_case = stats.method("get_case");
    assert_eq!(get_case.requests, 2);
    assert_eq!(get_case.failures, 0);
    assert_eq!(
        get_case.bytes_received,
        2 * case(8).to_string().len() as u64
    );
    assert!(get_case.latency_ms.max >= get_case.latency_ms.min);
    assert_eq!(stats.method("get_priorities").requests, 1);
    let json = serde_json::to_value(&stats).unwrap();
    assert_eq!(json["methods"]["get_case"]["requests"], 2);
}

#[tokio::test]
async fn user_by_email_is_encoded() {
    let server = MockServer::start(|_, _| {
        ok(json!({"id": 3, "name": "Ann", "email": "ann+qa@example.com", "is_active": true}))
    })
    .await;
    let client = client(&server);

    let user = client
        .get_user_by_email("ann+qa@example.com")
        .await
        .unwrap();

    assert_eq!(user.id, 3);
    assert_eq!(
        server.seen()[0].query,
        "/api/v2/get_user_by_email&email=ann%2Bqa%40example.com"
    );
}

#[tokio::test]
async fn attachment_is_multipart() {
    let server = MockServer::start(|_, _| ok(json!({"attachment_id": 443}))).await;
    let client = client(&server);

    let id = client
        .add_attachment_to_result(7001, "shot.png", bytes::Bytes::from_static(b"PNGDATA"))
        .await
        .unwrap();

    assert_eq!(id, 443);
    let seen = &server.seen()[0];
    assert!(
        seen.content_type
            .as_deref()
            .unwrap_or_default()
            .starts_with("multipart/form-data")
    );
    let body = String::from_utf8_lossy(&seen.body);
    assert!(body.contains("name=\"attachment\""), "{body}");
    assert!(body.contains("filename=\"shot.png\""), "{body}");
    assert!(body.contains("PNGDATA"), "{body}");
}

#[tokio::test]
async fn add_config_group_posts_name() {
    let server = MockServer::start(|_, _| {
        ok(json!({"id": 9, "name": "Browser", "project_id": 2, "configs": []}))
    })
    .await;
    let client = client(&server);

    let group = client.add_config_group(2, "Browser").await.unwrap();

    assert_eq!(group.id, 9);
    assert_eq!(group.name, "Browser");
    let seen = &server.seen()[0];
    assert_eq!(seen.query, "/api/v2/add_config_group/2");
    let body: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(body, json!({"name": "Browser"}));
}

#[tokio::test]
async fn add_config_posts_name() {
    let server =
        MockServer::start(|_, _| ok(json!({"id": 31, "name": "webkit", "group_id": 9}))).await;
    let client = client(&server);

    let config = client.add_config(9, "webkit").await.unwrap();

    assert_eq!(config.id, 31);
    assert_eq!(config.group_id, Some(9));
    let seen = &server.seen()[0];
    assert_eq!(seen.query, "/api/v2/add_config/9");
    let body: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(body, json!({"name": "webkit"}));
}

#[tokio::test]
async fn update_plan_entry_uses_entry_uuid() {
    let entry_id = "3a7f0c1e-9b2d-4e6f-8a1b-5c4d3e2f1a0b";
    let server = MockServer::start(move |_, _| {
        ok(
            json!({"id": entry_id, "suite_id": 1, "name": "Suite", "runs": [
                {"id": 81, "config_ids": [3]}, {"id": 82, "config_ids": [4]}
            ]}),
        )
    })
    .await;
    let client = client(&server);

    let body = json!({"include_all": false, "case_ids": [1, 2]});
    let entry = client.update_plan_entry(80, entry_id, &body).await.unwrap();

    assert_eq!(entry.id.as_deref(), Some(entry_id));
    assert_eq!(entry.runs.len(), 2);
    assert_eq!(entry.runs[1].config_ids, vec![4]);
    let seen = &server.seen()[0];
    assert_eq!(
        seen.query,
        format!("/api/v2/update_plan_entry/80/{entry_id}")
    );
    let sent: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(sent, body);
}

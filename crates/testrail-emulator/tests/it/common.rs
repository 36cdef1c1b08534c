//! HTTP helpers shared by the integration tests.

use serde_json::Value;
use testrail_emulator::{Emulator, EmulatorConfig};

/// Login the default configuration accepts.
pub const USER: &str = "admin@example.com";
pub const PASSWORD: &str = "secret";

/// An emulator plus a client logged in to it.
pub struct Api {
    pub emulator: Emulator,
    pub client: reqwest::Client,
}

impl Api {
    pub async fn start() -> Api {
        Api::start_with(EmulatorConfig::default()).await
    }

    pub async fn start_with(config: EmulatorConfig) -> Api {
        let emulator = Emulator::start(config).await.expect("emulator starts");
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("client builds");
        Api { emulator, client }
    }

    /// Returns the full URL of an API path such as `get_cases/1&suite_id=1`.
    pub fn api_url(&self, path: &str) -> String {
        format!("{}index.php?/api/v2/{path}", self.emulator.url())
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(self.api_url(path))
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .await
            .expect("GET gets a response");
        read(response).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.api_url(path))
            .basic_auth(USER, Some(PASSWORD))
            .json(&body)
            .send()
            .await
            .expect("POST gets a response");
        read(response).await
    }

    /// Posts and expects 200, returning the body.
    pub async fn ok(&self, path: &str, body: Value) -> Value {
        let (status, value) = self.post(path, body).await;
        assert_eq!(status, 200, "POST {path} failed: {value}");
        value
    }

    /// Adds a section to the default project and returns its id.
    pub async fn section(&self, name: &str) -> u64 {
        let section = self
            .ok("add_section/1", serde_json::json!({"name": name}))
            .await;
        section["id"].as_u64().expect("section id")
    }

    /// Adds a case to a section and returns its id.
    pub async fn case(&self, section_id: u64, title: &str) -> u64 {
        let case = self
            .ok(
                &format!("add_case/{section_id}"),
                serde_json::json!({"title": title}),
            )
            .await;
        case["id"].as_u64().expect("case id")
    }

    /// Returns the case ids of a run's tests.
    pub async fn run_case_ids(&self, run_id: u64) -> Vec<u64> {
        let (status, body) = self.get(&format!("get_tests/{run_id}")).await;
        assert_eq!(status, 200, "get_tests failed: {body}");
        body["tests"]
            .as_array()
            .expect("tests array")
            .iter()
            .map(|test| test["case_id"].as_u64().expect("case_id"))
            .collect()
    }

    /// Stops the emulator, failing the test if a handler panicked.
    pub async fn finish(self) {
        self.emulator.shutdown().await;
    }
}

pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body is readable");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// Returns the `error` text of a response body.
pub fn error_text(body: &Value) -> &str {
    body["error"].as_str().unwrap_or("")
}

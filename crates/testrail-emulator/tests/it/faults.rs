//! Fault injection: rate limits, 5xx, dropped connections, hangs.

use std::time::Duration;

use serde_json::json;
use testrail_emulator::{EmulatorConfig, FaultConfig};

use crate::common::{Api, PASSWORD, USER};

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let api = Api::start_with(EmulatorConfig {
        faults: FaultConfig {
            rate_limit_per_minute: Some(3),
            ..FaultConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    for _ in 0..3 {
        let (status, _) = api.get("get_statuses").await;
        assert_eq!(status, 200);
    }
    let response = api
        .client
        .get(api.api_url("get_statuses"))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    let (_, body) = crate::common::read(response).await;
    assert!(body["error"].as_str().is_some(), "{body}");

    let log = api.emulator.request_log();
    assert_eq!(log.last().map(|entry| entry.status), Some(429));
    api.finish().await;
}

/// Returns the statuses of 40 sequential requests under a 50% fail rate.
async fn fail_sequence(seed: u64) -> Vec<u16> {
    let api = Api::start_with(EmulatorConfig {
        faults: FaultConfig {
            random_seed: seed,
            fail_rate: 0.5,
            ..FaultConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(api.get("get_statuses").await.0);
    }
    api.finish().await;
    statuses
}

#[tokio::test]
async fn fail_rate_is_reproducible_from_seed() {
    let first = fail_sequence(11).await;
    let second = fail_sequence(11).await;
    let other = fail_sequence(12).await;
    assert_eq!(first, second);
    assert_ne!(first, other);
    assert!(first.contains(&200));
    assert!(first.iter().any(|status| [500, 502, 503].contains(status)));
    assert!(
        first
            .iter()
            .all(|status| [200, 500, 502, 503].contains(status))
    );
}

#[tokio::test]
async fn failed_request_is_not_applied() {
    let api = Api::start_with(EmulatorConfig {
        faults: FaultConfig {
            fail_rate: 1.0,
            ..FaultConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let (status, _) = api.post("add_run/1", json!({"name": "never"})).await;
    assert!([500, 502, 503].contains(&status), "status {status}");
    assert_eq!(
        api.emulator.state_json()["runs"].as_array().map(Vec::len),
        Some(0)
    );
    api.finish().await;
}

#[tokio::test]
async fn dropped_connections_before_and_after_apply() {
    let api = Api::start_with(EmulatorConfig {
        faults: FaultConfig {
            random_seed: 3,
            drop_rate: 1.0,
            ..FaultConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await;

    let mut points = Vec::new();
    for index in 0..12 {
        let runs_before = api.emulator.state_json()["runs"].as_array().unwrap().len();
        let outcome = api
            .client
            .post(api.api_url("add_run/1"))
            .basic_auth(USER, Some(PASSWORD))
            .json(&json!({"name": format!("run {index}")}))
            .send()
            .await;
        let error = outcome.expect_err("a dropped connection gives no response");
        assert!(error.status().is_none());

        let runs_after = api.emulator.state_json()["runs"].as_array().unwrap().len();
        let fault = api
            .emulator
            .request_log()
            .last()
            .and_then(|entry| entry.fault.clone())
            .expect("fault logged");
        match fault.as_str() {
            "dropped_before" => assert_eq!(runs_after, runs_before),
            "dropped_after" => assert_eq!(runs_after, runs_before + 1),
            other => panic!("unexpected fault {other}"),
        }
        points.push(fault);
    }
    assert!(points.iter().any(|point| point == "dropped_before"));
    assert!(points.iter().any(|point| point == "dropped_after"));

    let response = api
        .client
        .get(format!("{}emulator/requests", api.emulator.url()))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["faults"]["dropped"], 12);
    assert_eq!(body["counts"]["add_run"], 12);
    assert_eq!(body["requests"][0]["status"], 0);
    api.finish().await;
}

#[tokio::test]
async fn timeout_applies_then_hangs() {
    let api = Api::start_with(EmulatorConfig {
        faults: FaultConfig {
            timeout_rate: 1.0,
            timeout_ms: 600_000,
            ..FaultConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await;
    let outcome = api
        .client
        .post(api.api_url("add_run/1"))
        .basic_auth(USER, Some(PASSWORD))
        .json(&json!({"name": "slow"}))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    let error = outcome.expect_err("the response hangs");
    assert!(error.is_timeout(), "{error}");
    assert_eq!(
        api.emulator.state_json()["runs"].as_array().map(Vec::len),
        Some(1)
    );
    api.finish().await;
}

#[tokio::test]
async fn faults_change_at_run_time() {
    let api = Api::start().await;
    let faults_url = format!("{}emulator/faults", api.emulator.url());
    let response = api
        .client
        .post(&faults_url)
        .json(&json!({"fail_rate": 1.0, "random_seed": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let (status, _) = api.get("get_statuses").await;
    assert!(status >= 500, "status {status}");

    let response = api
        .client
        .post(&faults_url)
        .json(&json!({"rate_limit": 1}))
        .send()
        .await
        .unwrap();
    let config: serde_json::Value = response.json().await.unwrap();
    assert_eq!(config["rate_limit_per_minute"], 1);
    assert_eq!(config["fail_rate"], 0.0);
    assert_eq!(api.get("get_statuses").await.0, 200);
    assert_eq!(api.get("get_statuses").await.0, 429);

    let rejected = api
        .client
        .post(&faults_url)
        .json(&json!({"fail_rat": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status().as_u16(), 400);

    api.emulator.set_faults(FaultConfig::default());
    assert_eq!(api.get("get_statuses").await.0, 200);
    api.finish().await;
}

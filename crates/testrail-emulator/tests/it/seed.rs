//! Seed files and the command-line binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::json;
use testrail_emulator::{EmulatorConfig, Seed};

use crate::common::Api;

fn example_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/example.json")
}

#[tokio::test]
async fn example_seed_loads() {
    let seed = Seed::from_file(example_path()).expect("example seed parses");
    let api = Api::start_with(EmulatorConfig {
        seed: Some(seed),
        ..EmulatorConfig::default()
    })
    .await;

    let (_, projects) = api.get("get_projects").await;
    assert_eq!(projects["size"], 2);
    assert_eq!(projects["projects"][1]["suite_mode"], 3);

    let (_, statuses) = api.get("get_statuses").await;
    let flaky = statuses
        .as_array()
        .unwrap()
        .iter()
        .find(|status| status["id"] == 6)
        .expect("custom status 6");
    assert_eq!(flaky["label"], "Flaky");
    assert_eq!(flaky["is_system"], false);

    let (_, case) = api.get("get_case/1").await;
    assert_eq!(
        case["custom_automation_id"],
        "auth.LoginTest.valid_password"
    );
    assert_eq!(case["type_id"], 3);
    assert_eq!(case["priority_id"], 2);
    let (_, sections) = api.get("get_sections/1").await;
    assert_eq!(sections["sections"][1]["parent_id"], 1);
    assert_eq!(sections["sections"][1]["depth"], 1);

    // New ids continue after the seeded ones.
    let created = api.ok("add_case/1", json!({"title": "new"})).await;
    assert_eq!(created["id"], 4);

    // A custom status counts in its own run counter.
    let run = api.ok("add_run/1", json!({"name": "seeded"})).await;
    api.ok(
        &format!("add_results_for_cases/{}", run["id"]),
        json!({"results": [{"case_id": 1, "status_id": 6}]}),
    )
    .await;
    let (_, run) = api.get(&format!("get_run/{}", run["id"])).await;
    assert_eq!(run["custom_status1_count"], 1);
    api.finish().await;
}

#[test]
fn seed_rejects_unknown_keys() {
    let parsed: Result<Seed, _> = serde_json::from_value(json!({"projectz": []}));
    assert!(parsed.is_err());
    let missing = Seed::from_file("/nonexistent/seed.json").unwrap_err();
    assert!(missing.to_string().contains("/nonexistent/seed.json"));
}

#[tokio::test]
async fn reset_restores_seed_state() {
    let api = Api::start().await;
    let section = api.section("Temporary").await;
    api.case(section, "temporary").await;
    assert_eq!(api.emulator.request_log().len(), 2);

    let response = api
        .client
        .post(format!("{}emulator/reset", api.emulator.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let state = api.emulator.state_json();
    assert_eq!(state["sections"].as_array().map(Vec::len), Some(0));
    assert_eq!(state["cases"].as_array().map(Vec::len), Some(0));
    assert!(api.emulator.request_log().is_empty());

    let (_, section) = api.post("add_section/1", json!({"name": "again"})).await;
    assert_eq!(section["id"], 1);
    api.finish().await;
}

#[test]
fn binary_prints_listening_line_first() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_testrail-emulator"))
        .args(["--listen", "127.0.0.1:0", "--seed"])
        .arg(example_path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");

    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .map(str::to_string);
    let state = url.as_ref().map(|url| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            reqwest::get(format!("{url}/emulator/state"))
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        })
    });
    child.kill().expect("child is killed");
    let _ = child.wait();

    let url = url.unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let state = state.expect("state fetched");
    assert_eq!(state["projects"].as_array().map(Vec::len), Some(2));
}

#[test]
fn binary_rejects_bad_probability() {
    let output = Command::new(env!("CARGO_BIN_EXE_testrail-emulator"))
        .args(["--fail-rate", "1.5"])
        .output()
        .expect("binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--fail-rate"), "{stderr}");
}

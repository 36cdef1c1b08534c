//! Interoperability with trcli, the official TestRail command-line tool.
//!
//! These tests run trcli 1.15.3 unmodified against the in-process emulator
//! and check the resulting TestRail state through the API. That shows the
//! emulator responds the way trcli expects TestRail to, and it lets trail's
//! upload of the same report be compared with trcli's, state against state.
//!
//! trcli is installed with pip into a virtual environment under the Cargo
//! target directory the first time a test needs it. That step needs
//! `python3` with the `venv` module and access to the PyPI registry (or a
//! mirror set with `PIP_INDEX_URL`), and a test fails when it is missing.
//! trcli itself only ever talks to the emulator on 127.0.0.1: each run gets a
//! fresh version-check cache and a proxy that goes nowhere.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use assert_cmd::Command;
use serde_json::{Value, json};
use testrail_api::models::{CaseFilter, RunFilter};
use testrail_api::{Client, ClientConfig};
use testrail_emulator::seed::Seed;
use testrail_emulator::{Emulator, EmulatorConfig};

/// trcli release these tests pin, so that its requests stay the same.
const TRCLI_VERSION: &str = "1.15.3";

const USER: &str = "admin@example.com";
const PASSWORD: &str = "secret";

const WITH_IDS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/trcli/with-ids.xml"
);
const WITHOUT_IDS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/trcli/without-ids.xml"
);

/// TestRail system status ids.
const PASSED: u64 = 1;
const UNTESTED: u64 = 3;
const RETEST: u64 = 4;
const FAILED: u64 = 5;

/// Cases of `with-ids.xml`: case id, title, and the status trcli posts
/// (a failure or an error is Failed, a skipped test is Retest).
const WITH_IDS_CASES: &[(u64, &str, u64)] = &[
    (1, "adds an item to the cart", PASSED),
    (2, "applies a discount code", FAILED),
    (3, "pays with a saved card", FAILED),
    (4, "pays with a gift card", RETEST),
    (5, "shows the receipt", PASSED),
    (6, "emails the receipt", PASSED),
    (7, "logs out after payment", PASSED),
];

/// Tests of `without-ids.xml`: automation id (`classname.name`), the
/// top-level `<testsuite>` it sits in, and the status trcli posts.
const WITHOUT_IDS_TESTS: &[(&str, &str, u64)] = &[
    (
        "bank.AccountsTest.opens a savings account",
        "Accounts",
        PASSED,
    ),
    (
        "bank.AccountsTest.closes an empty account",
        "Accounts",
        PASSED,
    ),
    (
        "bank.AccountsTest.rejects a negative deposit",
        "Accounts",
        FAILED,
    ),
    (
        "bank.AccountsTest.freezes a dormant account",
        "Accounts",
        RETEST,
    ),
    (
        "bank.transfers.DomesticTest.sends money between own accounts",
        "Transfers",
        PASSED,
    ),
    (
        "bank.transfers.DomesticTest.applies the daily limit",
        "Transfers",
        FAILED,
    ),
    (
        "bank.transfers.DomesticTest.shows the fee before confirming",
        "Transfers",
        PASSED,
    ),
    (
        "bank.transfers.InternationalTest.converts the currency",
        "Transfers",
        FAILED,
    ),
    (
        "bank.transfers.InternationalTest.checks the IBAN",
        "Transfers",
        RETEST,
    ),
];

// ---------------------------------------------------------------------------
// Installing and running trcli
// ---------------------------------------------------------------------------

/// Returns the Cargo target directory: `CARGO_TARGET_DIR` when set (a
/// relative path counts from the workspace root), else `target` in the
/// workspace root.
fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}

/// Returns the path of the trcli executable, installing it on first use.
fn trcli_executable() -> &'static Path {
    static EXECUTABLE: OnceLock<PathBuf> = OnceLock::new();
    EXECUTABLE.get_or_init(install_trcli)
}

/// Creates `target/trcli-venv` with trcli unless an earlier process already
/// did, and returns the path of its `trcli` executable.
///
/// nextest runs every test in its own process, so an exclusive lock on
/// `target/trcli-venv.lock` makes one process install while the others wait.
/// A marker file, written only after a successful install, marks the
/// environment as complete for the waiting processes and later test runs.
fn install_trcli() -> PathBuf {
    let target = target_dir();
    fs::create_dir_all(&target)
        .unwrap_or_else(|error| panic!("failed to create {}: {error}", target.display()));
    let venv = target.join("trcli-venv");
    let bin = venv.join(if cfg!(windows) { "Scripts" } else { "bin" });
    let executable = bin.join("trcli");
    let marker = venv.join(format!("trcli-{TRCLI_VERSION}-installed"));

    let lock_path = target.join("trcli-venv.lock");
    let lock = File::create(&lock_path)
        .unwrap_or_else(|error| panic!("failed to create {}: {error}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|error| panic!("failed to lock {}: {error}", lock_path.display()));

    if marker.exists() {
        return executable;
    }
    if venv.exists() {
        // An install that was interrupted leaves a partial environment.
        fs::remove_dir_all(&venv)
            .unwrap_or_else(|error| panic!("failed to remove {}: {error}", venv.display()));
    }

    let started = Instant::now();
    run_setup_step(
        StdCommand::new("python3").arg("-m").arg("venv").arg(&venv),
        "python3 -m venv",
        "install Python 3 with the venv module (on Debian and Ubuntu: apt-get install python3-venv)",
    );
    run_setup_step(
        StdCommand::new(bin.join("python"))
            .args(["-m", "pip", "install", "--disable-pip-version-check"])
            .arg(format!("trcli=={TRCLI_VERSION}")),
        &format!("pip install trcli=={TRCLI_VERSION}"),
        "the trcli tests need the PyPI registry, or a mirror set with PIP_INDEX_URL",
    );
    assert!(
        executable.is_file(),
        "pip installed trcli=={TRCLI_VERSION} but {} does not exist",
        executable.display()
    );
    fs::write(&marker, "")
        .unwrap_or_else(|error| panic!("failed to write {}: {error}", marker.display()));
    eprintln!(
        "created {} with trcli {TRCLI_VERSION} in {:.1} s",
        venv.display(),
        started.elapsed().as_secs_f64()
    );
    executable
}

/// Runs one step of the trcli installation and fails the test with its
/// output and `hint` when it does not succeed.
fn run_setup_step(command: &mut StdCommand, name: &str, hint: &str) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("failed to start `{name}`: {error}\nhint: {hint}"));
    assert!(
        output.status.success(),
        "`{name}` failed with {}\nstdout:\n{}\nstderr:\n{}\nhint: {hint}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

/// Writes the version-check cache into a fresh home directory, so that
/// trcli does not ask PyPI for a newer release at start.
fn trcli_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let cache_dir = home.path().join(".trcli");
    fs::create_dir_all(&cache_dir).unwrap();

    // trcli compares `last_check` with its local clock, so Python writes it.
    let python = trcli_executable().with_file_name("python");
    let script = "import datetime, json, sys\n\
                  json.dump({'last_check': datetime.datetime.now().isoformat(), \
                  'latest_version': sys.argv[2]}, open(sys.argv[1], 'w'))";
    run_setup_step(
        StdCommand::new(python)
            .args(["-c", script])
            .arg(cache_dir.join("version_cache.json"))
            .arg(TRCLI_VERSION),
        "write the trcli version cache",
        "the virtual environment in target/trcli-venv may be broken; delete it",
    );
    home
}

/// Runs trcli against an emulator with the login of the default
/// configuration; `args` follow `--project Demo -u USER -p PASSWORD`.
async fn run_trcli(emulator: &Emulator, args: &[&str]) -> Output {
    let home = trcli_home();
    let host = emulator.url().trim_end_matches('/').to_string();
    let mut command = StdCommand::new(trcli_executable());
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("LANG", "C.UTF-8")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .args(["-h", &host, "--project", "Demo", "-u", USER, "-p", PASSWORD])
        .args(args)
        .current_dir(home.path())
        .stdin(Stdio::null());

    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("trcli starts");
    drop(home);
    output
}

/// Fails the test with trcli's output and the emulator's request log when
/// trcli did not exit with 0.
fn assert_trcli_succeeded(output: &Output, emulator: &Emulator) {
    if output.status.success() {
        return;
    }
    let requests: Vec<String> = emulator
        .request_log()
        .iter()
        .map(|request| format!("{} {} -> {}", request.method, request.path, request.status))
        .collect();
    panic!(
        "trcli failed with {}\nstdout:\n{}\nstderr:\n{}\nrequests:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        requests.join("\n"),
    );
}

/// Checks that the emulator accepted every request trcli sent.
fn assert_no_request_rejected(emulator: &Emulator) {
    for request in emulator.request_log() {
        assert_eq!(
            request.status, 200,
            "the emulator rejected {} {} with body {:?}",
            request.method, request.path, request.body
        );
    }
}

// ---------------------------------------------------------------------------
// Reading the resulting state
// ---------------------------------------------------------------------------

fn client_for(emulator: &Emulator) -> Client {
    Client::new(ClientConfig::new(&emulator.url(), USER, PASSWORD).unwrap()).unwrap()
}

/// Builds a seed with one section `Checkout` and the cases of `with-ids.xml`.
fn checkout_seed() -> Seed {
    let cases: Vec<Value> = WITH_IDS_CASES
        .iter()
        .map(|(id, title, _)| json!({"id": id, "section_id": 1, "title": title}))
        .collect();
    serde_json::from_value(json!({
        "sections": [{"id": 1, "suite_id": 1, "name": "Checkout"}],
        "cases": cases,
    }))
    .unwrap()
}

async fn start_emulator(seed: Option<Seed>) -> Emulator {
    Emulator::start(EmulatorConfig {
        seed,
        ..Default::default()
    })
    .await
    .expect("emulator starts")
}

/// One test of a run as TestRail shows it after an upload.
#[derive(Debug, Clone, PartialEq)]
struct TestState {
    case_id: u64,
    case_title: String,
    automation_id: Option<String>,
    /// Name of the top-level section above the case.
    root_section: String,
    test_status: u64,
    /// Statuses of the test's results, oldest first.
    result_statuses: Vec<u64>,
}

/// The state an upload leaves in project 1: its runs and the tests of its
/// only run, keyed by automation id when the case has one, else by title.
#[derive(Debug)]
struct UploadState {
    run_names: Vec<String>,
    case_count: usize,
    tests: BTreeMap<String, TestState>,
}

/// Reads the runs, cases, sections, tests and results of project 1, which
/// must contain exactly one run.
async fn read_upload_state(client: &Client) -> UploadState {
    let runs = client.get_runs(1, &RunFilter::default()).await.unwrap();
    let run_names: Vec<String> = runs.iter().map(|run| run.name.clone()).collect();
    assert_eq!(runs.len(), 1, "expected one run, found {run_names:?}");
    let run_id = runs[0].id;

    let sections = client.get_sections(1, None).await.unwrap();
    let parents: BTreeMap<u64, (Option<u64>, String)> = sections
        .iter()
        .map(|section| (section.id, (section.parent_id, section.name.clone())))
        .collect();
    let root_section = |mut section_id: u64| loop {
        let (parent, name) = &parents[&section_id];
        match parent {
            Some(parent) => section_id = *parent,
            None => return name.clone(),
        }
    };

    let cases = client.get_cases(1, &CaseFilter::default()).await.unwrap();
    let cases_by_id: BTreeMap<u64, _> = cases.iter().map(|case| (case.id, case)).collect();

    let mut results_by_test: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut results = client.get_results_for_run(run_id).await.unwrap();
    results.sort_by_key(|result| result.id);
    for result in results {
        results_by_test
            .entry(result.test_id)
            .or_default()
            .push(result.status_id.expect("every result has a status"));
    }

    let mut tests = BTreeMap::new();
    for test in client.get_tests(run_id, None).await.unwrap() {
        let case = cases_by_id[&test.case_id];
        let automation_id = case
            .custom("custom_automation_id")
            .and_then(Value::as_str)
            .map(str::to_string);
        let key = automation_id.clone().unwrap_or_else(|| case.title.clone());
        let state = TestState {
            case_id: case.id,
            case_title: case.title.clone(),
            automation_id,
            root_section: root_section(case.section_id.expect("case has a section")),
            test_status: test.status_id.expect("every test has a status"),
            result_statuses: results_by_test.remove(&test.id).unwrap_or_default(),
        };
        assert!(
            tests.insert(key.clone(), state).is_none(),
            "two tests of run {run_id} share the key `{key}`"
        );
    }
    assert!(
        results_by_test.is_empty(),
        "results for tests outside run {run_id}: {results_by_test:?}"
    );
    UploadState {
        run_names,
        case_count: cases.len(),
        tests,
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trcli_name_matcher_posts_results() {
    let emulator = start_emulator(Some(checkout_seed())).await;
    let output = run_trcli(
        &emulator,
        &[
            "-n",
            "parse_junit",
            "-f",
            WITH_IDS,
            "--title",
            "Nightly",
            "--case-matcher",
            "name",
        ],
    )
    .await;
    assert_trcli_succeeded(&output, &emulator);
    assert_no_request_rejected(&emulator);

    let state = read_upload_state(&client_for(&emulator)).await;
    assert_eq!(state.run_names, ["Nightly"]);
    assert_eq!(state.case_count, WITH_IDS_CASES.len(), "no case was added");
    assert_eq!(state.tests.len(), WITH_IDS_CASES.len(), "one test per case");
    for (case_id, title, status) in WITH_IDS_CASES {
        let test = &state.tests[*title];
        assert_eq!(test.case_id, *case_id, "case of `{title}`");
        assert_eq!(test.result_statuses, [*status], "results of `{title}`");
        assert_eq!(test.test_status, *status, "test status of `{title}`");
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trcli_adds_to_run_and_closes() {
    let emulator = start_emulator(Some(checkout_seed())).await;
    let client = client_for(&emulator);
    let first = run_trcli(
        &emulator,
        &[
            "-n",
            "parse_junit",
            "-f",
            WITH_IDS,
            "--title",
            "Nightly",
            "--case-matcher",
            "name",
        ],
    )
    .await;
    assert_trcli_succeeded(&first, &emulator);
    let runs = client.get_runs(1, &RunFilter::default()).await.unwrap();
    let run_id = runs[0].id.to_string();

    // The second upload reads the run and its tests, merges the case list,
    // posts the results and closes the run.
    let second = run_trcli(
        &emulator,
        &[
            "-n",
            "parse_junit",
            "-f",
            WITH_IDS,
            "--run-id",
            &run_id,
            "--case-matcher",
            "name",
            "--close-run",
        ],
    )
    .await;
    assert_trcli_succeeded(&second, &emulator);
    assert_no_request_rejected(&emulator);
    let methods: BTreeSet<String> = emulator
        .request_log()
        .iter()
        .filter_map(|request| request.path.strip_prefix("/index.php?/api/v2/"))
        .map(|path| path.split(['/', '&']).next().unwrap().to_string())
        .collect();
    for method in ["get_run", "get_tests", "update_run", "close_run"] {
        assert!(
            methods.contains(method),
            "trcli never sent {method}: {methods:?}"
        );
    }

    let run = client.get_run(runs[0].id).await.unwrap();
    assert!(run.is_completed, "run {run_id} is closed");
    let state = read_upload_state(&client).await;
    assert_eq!(state.run_names, ["Nightly"]);
    assert_eq!(state.tests.len(), WITH_IDS_CASES.len(), "no test was added");
    for (_, title, status) in WITH_IDS_CASES {
        assert_eq!(
            state.tests[*title].result_statuses,
            [*status, *status],
            "results of `{title}` after two uploads"
        );
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trcli_auto_creates_sections_and_cases() {
    let emulator = start_emulator(None).await;
    let output = run_trcli(
        &emulator,
        &["-y", "parse_junit", "-f", WITHOUT_IDS, "--title", "Nightly"],
    )
    .await;
    assert_trcli_succeeded(&output, &emulator);
    assert_no_request_rejected(&emulator);

    let log = emulator.request_log();
    let count = |method: &str| {
        let prefix = format!("/index.php?/api/v2/{method}/");
        log.iter()
            .filter(|request| request.path.starts_with(&prefix))
            .count()
    };
    assert_eq!(count("add_section"), 2, "one section per top-level suite");
    assert_eq!(
        count("add_case"),
        WITHOUT_IDS_TESTS.len(),
        "one case per test"
    );

    let state = read_upload_state(&client_for(&emulator)).await;
    assert_eq!(state.run_names, ["Nightly"]);
    assert_eq!(state.case_count, WITHOUT_IDS_TESTS.len());
    assert_eq!(
        state.tests.len(),
        WITHOUT_IDS_TESTS.len(),
        "one test per case"
    );
    for (automation_id, section, status) in WITHOUT_IDS_TESTS {
        let test = state
            .tests
            .get(*automation_id)
            .unwrap_or_else(|| panic!("no case with automation id `{automation_id}`"));
        let name = automation_id.rsplit_once('.').unwrap().1;
        assert_eq!(test.case_title, name, "title of `{automation_id}`");
        assert_eq!(test.root_section, *section, "section of `{automation_id}`");
        assert_eq!(
            test.result_statuses,
            [*status],
            "results of `{automation_id}`"
        );
        assert_eq!(
            test.test_status, *status,
            "test status of `{automation_id}`"
        );
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trail_matches_trcli_state() {
    let trcli_emulator = start_emulator(None).await;
    let output = run_trcli(
        &trcli_emulator,
        &["-y", "parse_junit", "-f", WITHOUT_IDS, "--title", "Nightly"],
    )
    .await;
    assert_trcli_succeeded(&output, &trcli_emulator);

    let trail_emulator = start_emulator(None).await;
    let spool = tempfile::tempdir().unwrap();
    let mut command = Command::cargo_bin("trail").unwrap();
    command
        .env_clear()
        .env("TESTRAIL_HOST", trail_emulator.url())
        .env("TESTRAIL_USER", USER)
        .env("TESTRAIL_API_KEY", PASSWORD)
        .env("TRAIL_SPOOL", spool.path())
        .current_dir(spool.path())
        .args([
            "report",
            WITHOUT_IDS,
            "--project",
            "Demo",
            "--run-name",
            "Nightly",
        ]);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "trail failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );

    let by_trcli = read_upload_state(&client_for(&trcli_emulator)).await;
    let by_trail = read_upload_state(&client_for(&trail_emulator)).await;

    assert_eq!(by_trcli.run_names, by_trail.run_names, "runs");
    assert_eq!(by_trcli.case_count, by_trail.case_count, "number of cases");
    let keys = |state: &UploadState| state.tests.keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(
        keys(&by_trcli),
        keys(&by_trail),
        "automation ids of the tests"
    );

    for (key, expected) in &by_trcli.tests {
        let actual = &by_trail.tests[key];
        assert_eq!(actual.case_title, expected.case_title, "title of `{key}`");
        assert_eq!(
            actual.automation_id, expected.automation_id,
            "automation id of `{key}`"
        );
        // NOTE: trcli makes one section per top-level <testsuite>, and trail
        // nests a section per inner <testsuite> below it, so only the
        // top-level section is compared.
        assert_eq!(
            actual.root_section, expected.root_section,
            "top-level section of `{key}`"
        );

        // trail leaves a skipped test Untested and posts no result for it,
        // where trcli posts Retest.
        if expected.result_statuses == [RETEST] {
            assert!(
                actual.result_statuses.is_empty(),
                "trail posted {:?} for the skipped test `{key}`",
                actual.result_statuses
            );
            assert_eq!(actual.test_status, UNTESTED, "status of skipped `{key}`");
        } else {
            assert_eq!(
                actual.result_statuses, expected.result_statuses,
                "results of `{key}`"
            );
            assert_eq!(
                actual.test_status, expected.test_status,
                "status of `{key}`"
            );
        }
    }
    trcli_emulator.shutdown().await;
    trail_emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trail_emulator_prints_url_first() {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("trail"))
        .args(["emulator", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("trail starts");
    let stdout = child.stdout.take().unwrap();
    let first_line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();

    let url = first_line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line is {first_line:?}"));
    assert!(url.starts_with("http://127.0.0.1:"), "url {url}");
    assert!(!url.ends_with(":0"), "url {url} names the bound port");

    let client = Client::new(ClientConfig::new(url, USER, PASSWORD).unwrap()).unwrap();
    let projects = client.get_projects().await;
    child.kill().unwrap();
    child.wait().unwrap();
    let names: Vec<String> = projects.unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["Demo"], "the emulator at {url} serves the API");
}
